// Elementwise primitives. Binary ops broadcast like numpy; c.add sums each
// input's gradient back to that input's shape. Each rule is one generic
// lambda: on the fast path c.gy(), c.x(i), c.y() are Arrays (xtensor maths by
// argument-dependent lookup), with create_graph they are Tensors (xg ops).
#include <cmath>
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "ops/backward.hpp"
#include "ops/broadcast.hpp"
#include "xgrad/ops.hpp"

namespace xg {

namespace {
void check_binary(const char* op, const Tensor& a, const Tensor& b) {
  detail::broadcast_shape(op, a.value().shape(), b.value().shape());
}
}  // namespace

// y = a + b;  dy/da = 1, dy/db = 1
Tensor add(const Tensor& a, const Tensor& b) {
  check_binary("add", a, b);
  return record("add", a.value() + b.value(), {a, b}, [](auto& c) {
    c.add(0, c.gy());
    c.add(1, c.take_gy());
  });
}

// y = a − b;  dy/da = 1, dy/db = −1
Tensor sub(const Tensor& a, const Tensor& b) {
  check_binary("sub", a, b);
  return record("sub", a.value() - b.value(), {a, b}, [](auto& c) {
    c.add(0, c.gy());
    if (c.needs(1)) c.add(1, bw::negate(c.take_gy()));
  });
}

// y = a·b;  dy/da = b, dy/db = a
Tensor mul(const Tensor& a, const Tensor& b) {
  check_binary("mul", a, b);
  return record("mul", a.value() * b.value(), {a, b}, [](auto& c) {
    if (c.needs(0)) c.add(0, c.gy() * c.x(1));
    if (c.needs(1)) c.add(1, c.gy() * c.x(0));
  });
}

// y = a/b;  dy/da = 1/b, dy/db = −a/b² = −y/b
Tensor div(const Tensor& a, const Tensor& b) {
  check_binary("div", a, b);
  return record("div", a.value() / b.value(), {a, b}, [](auto& c) {
    if (c.needs(0)) c.add(0, c.gy() / c.x(1));
    if (c.needs(1)) c.add(1, -c.gy() * c.y() / c.x(1));
  });
}

// y = −x;  dy/dx = −1
Tensor neg(const Tensor& x) {
  return record("neg", -x.value(), {x}, [](auto& c) { c.add(0, bw::negate(c.take_gy())); });
}

// y = a^b;  dy/da = b·a^(b−1), dy/db = y·ln a
Tensor pow(const Tensor& a, const Tensor& b) {
  check_binary("pow", a, b);
  return record("pow", xt::pow(a.value(), b.value()), {a, b}, [](auto& c) {
    if (c.needs(0)) c.add(0, c.gy() * c.x(1) * pow(c.x(0), c.x(1) - Scalar(1)));
    if (c.needs(1)) c.add(1, c.gy() * c.y() * log(c.x(0)));
  });
}

// y = x^p;  dy/dx = p·x^(p−1)
Tensor pow(const Tensor& x, Scalar p) {
  return record("pow", xt::pow(x.value(), p), {x},
                [p](auto& c) { c.add(0, c.gy() * (p * pow(c.x(0), p - Scalar(1)))); });
}

// y = e^x;  dy/dx = y
Tensor exp(const Tensor& x) {
  return record("exp", xt::exp(x.value()), {x}, [](auto& c) { c.add(0, c.gy() * c.y()); });
}

// y = ln x;  dy/dx = 1/x
Tensor log(const Tensor& x) {
  return record("log", xt::log(x.value()), {x}, [](auto& c) { c.add(0, c.gy() / c.x(0)); });
}

// y = √x;  dy/dx = 1/(2y)
Tensor sqrt(const Tensor& x) {
  return record("sqrt", xt::sqrt(x.value()), {x},
                [](auto& c) { c.add(0, c.gy() / (Scalar(2) * c.y())); });
}

// sign(x): piecewise constant, recorded as a constant.
Tensor sign(const Tensor& x) { return Tensor(Array(xt::sign(x.value()))); }

// y = |x|;  dy/dx = sign(x), 0 at 0   (so d²y/dx² = 0 away from the kink)
Tensor abs(const Tensor& x) {
  return record("abs", xt::abs(x.value()), {x},
                [](auto& c) { c.add(0, c.gy() * bw::sign(c.x(0))); });
}

// y = max(a, b);  dy/da = [a ≥ b], dy/db = [a < b]
Tensor maximum(const Tensor& a, const Tensor& b) {
  check_binary("maximum", a, b);
  return record("maximum", xt::maximum(a.value(), b.value()), {a, b}, [](auto& c) {
    auto pick_a = bw::value(c.x(0)) >= bw::value(c.x(1));
    if (c.needs(0)) c.add(0, bw::select(pick_a, c.gy()));
    if (c.needs(1)) c.add(1, bw::select(!pick_a, c.gy()));
  });
}

// y = min(a, b);  dy/da = [a ≤ b], dy/db = [a > b]
Tensor minimum(const Tensor& a, const Tensor& b) {
  check_binary("minimum", a, b);
  return record("minimum", xt::minimum(a.value(), b.value()), {a, b}, [](auto& c) {
    auto pick_a = bw::value(c.x(0)) <= bw::value(c.x(1));
    if (c.needs(0)) c.add(0, bw::select(pick_a, c.gy()));
    if (c.needs(1)) c.add(1, bw::select(!pick_a, c.gy()));
  });
}

// y = min(max(x, lo), hi);  dy/dx = [lo ≤ x ≤ hi]
Tensor clamp(const Tensor& x, Scalar lo, Scalar hi) {
  if (!(lo <= hi))
    throw value_error("clamp: lower bound " + std::to_string(lo) + " exceeds upper bound " +
                      std::to_string(hi));
  return record("clamp", xt::clip(x.value(), lo, hi), {x}, [lo, hi](auto& c) {
    const Array& v = bw::value(c.x(0));
    c.add(0, bw::select(v >= lo && v <= hi, c.gy()));
  });
}

// y = cond ? a : b;  dy/da = [cond], dy/db = [!cond]
Tensor where(const xt::xarray<bool>& cond, const Tensor& a, const Tensor& b) {
  const Shape ab = detail::broadcast_shape("where", a.value().shape(), b.value().shape());
  detail::broadcast_shape("where", cond.shape(), ab);
  return record("where", xt::where(cond, a.value(), b.value()), {a, b}, [cond](auto& c) {
    if (c.needs(0)) c.add(0, bw::select(cond, c.gy()));
    if (c.needs(1)) c.add(1, bw::select(!cond, c.gy()));
  });
}

// y = x·m for a constant m;  dy/dx = m
Tensor mask(const Tensor& x, const Array& m) {
  detail::broadcast_shape("mask", x.value().shape(), m.shape());
  return record("mask", x.value() * m, {x}, [m](auto& c) { c.add(0, bw::times(c.gy(), m)); });
}

// ---------------------------------------------------------------- operators

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }

// y = x + s;  dy/dx = 1
Tensor operator+(const Tensor& a, Scalar s) {
  return record("add_scalar", a.value() + s, {a}, [](auto& c) { c.add(0, c.take_gy()); });
}
Tensor operator+(Scalar s, const Tensor& a) { return a + s; }
Tensor operator-(const Tensor& a, Scalar s) { return a + (-s); }

// y = s − x;  dy/dx = −1
Tensor operator-(Scalar s, const Tensor& a) {
  return record("rsub_scalar", s - a.value(), {a},
                [](auto& c) { c.add(0, bw::negate(c.take_gy())); });
}

// y = x·s;  dy/dx = s
Tensor operator*(const Tensor& a, Scalar s) {
  return record("mul_scalar", a.value() * s, {a},
                [s](auto& c) { c.add(0, bw::scale(c.take_gy(), s)); });
}
Tensor operator*(Scalar s, const Tensor& a) { return a * s; }
Tensor operator/(const Tensor& a, Scalar s) {
  if (s == Scalar(0)) throw value_error("div: division of a tensor by the scalar 0");
  return a * (Scalar(1) / s);
}

// y = s/x;  dy/dx = −s/x² = −y/x
Tensor operator/(Scalar s, const Tensor& a) {
  return record("rdiv_scalar", s / a.value(), {a},
                [](auto& c) { c.add(0, -c.gy() * c.y() / c.x(0)); });
}

}  // namespace xg
