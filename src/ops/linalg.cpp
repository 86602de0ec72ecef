// Matrix products by BLAS gemm. Transposes are gemm flags, never copies, and
// gradients accumulate straight into the inputs' buffers (beta = 1).
#include <algorithm>
#include <vector>

#include "ops/backward.hpp"
#include "ops/blas.hpp"
#include "ops/broadcast.hpp"
#include "ops/short_product.hpp"
#include "ops/weight_gradient.hpp"
#include "xgrad/gemm.hpp"
#include "xgrad/ops.hpp"

namespace xg {

namespace bw {

void add_matmul(BackwardContext& c, std::size_t i, const Array& a, const Array& b, bool ta,
                bool tb) {
  bool fresh = false;
  Array& g = c.grad_buffer(i, fresh);
  detail::gemm(ta, tb, Scalar(1), a, b, fresh ? Scalar(0) : Scalar(1), g);
}

void add_matmul(GraphContext& c, std::size_t i, const Tensor& a, const Tensor& b, bool ta,
                bool tb) {
  c.add(i, matmul(a, b, ta, tb));
}

namespace {
// out[j] += Σ_r G[r][j], row after row: the one summation order of a bias
// gradient, fused or not.
void add_rows_into(const Array& G, Scalar* __restrict out) {
  const std::size_t rows = G.shape()[0], cols = G.shape()[1];
  const Scalar* __restrict g = G.data();
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < cols; ++j) out[j] += g[r * cols + j];
}
}  // namespace

void add_row_sum(BackwardContext& c, std::size_t i, const Array& G) {
  bool fresh = false;
  Array& gb = c.grad_buffer(i, fresh);
  if (fresh) std::fill(gb.begin(), gb.end(), Scalar(0));
  add_rows_into(G, gb.data());
}

void add_row_sum(GraphContext& c, std::size_t i, const Tensor& g) {
  c.add(i, reshape(sum(g, 0), c.x(i).shape()));
}

// The two helpers below serve a rule's last read of input i's value: when an
// optimizer armed input i for a step inside backward (optim::SGD::set_fused),
// the step goes straight into it, w ← w + α·(its gradient), α = −η, and no
// gradient buffer is written or read again. Otherwise they add the gradient.

void step_or_add_matmul(BackwardContext& c, std::size_t i, const Array& a, const Array& b, bool ta,
                        bool tb) {
  Scalar alpha = 0;
  // BLAS rounds alpha·sum and the addition apart: not step()'s bits.
  if (Array* w = c.step_target(i, alpha, /*exact=*/false)) {
    detail::gemm(ta, tb, alpha, a, b, Scalar(1), *w);  // one gemm with beta = 1
    return;
  }
  add_matmul(c, i, a, b, ta, tb);
}

void step_or_add_matmul(GraphContext& c, std::size_t i, const Tensor& a, const Tensor& b, bool ta,
                        bool tb) {
  add_matmul(c, i, a, b, ta, tb);
}

// Gᵀ·X through xgrad's weight-gradient kernel when it takes the shape and
// OpenBLAS runs the products (set_gemm_kernels): stored, or applied as an
// exact step (train::fit's), with the same sums either way
// (ops/weight_gradient.hpp). A fused step (SGD::set_fused) stays one BLAS
// gemm with beta = 1, as documented: on OpenBLAS's own AVX-512 kernels that
// is still the fastest at batch 10. Otherwise as step_or_add_matmul.
void step_or_add_weight_gradient(BackwardContext& c, std::size_t i, const Array& G,
                                 const Array& X) {
  const bool own = gemm_kernels() == GemmKernels::openblas &&
                   detail::weight_gradient_fits(G.shape()[1], X.shape()[1], G.shape()[0]);
  Scalar alpha = 0;
  if (Array* w = c.step_target(i, alpha, /*exact=*/own)) {
    if (own && c.exact_steps_only(i))
      detail::weight_gradient_step(G, X, -alpha, *w);
    else
      detail::gemm(true, false, alpha, G, X, Scalar(1), *w);
    return;
  }
  bool fresh = false;
  Array& g = c.grad_buffer(i, fresh);
  if (fresh && own)
    detail::weight_gradient(G, X, g);
  else
    detail::gemm(true, false, Scalar(1), G, X, fresh ? Scalar(0) : Scalar(1), g);
}

void step_or_add_weight_gradient(GraphContext& c, std::size_t i, const Tensor& G, const Tensor& X) {
  add_matmul(c, i, G, X, true, false);
}

void step_or_add_row_sum(BackwardContext& c, std::size_t i, const Array& G) {
  Scalar alpha = 0;
  Array* w = c.step_target(i, alpha, /*exact=*/true);
  if (!w) return add_row_sum(c, i, G);
  // The column sums in add_row_sum's order, then w − η·s as SGD::step writes
  // it (η = −α exactly): the same bits as the unfused step.
  const std::size_t cols = G.shape()[1];
  // On the stack for a layer of up to 1024 outputs (no thread_local lookup,
  // no vector bookkeeping on every step), else a per-thread buffer.
  constexpr std::size_t on_stack = 1024;
  Scalar stack_sums[on_stack];
  thread_local std::vector<Scalar> heap_sums;
  if (cols > on_stack) heap_sums.resize(cols);
  Scalar* sums = cols > on_stack ? heap_sums.data() : stack_sums;
  std::fill(sums, sums + cols, Scalar(0));
  add_rows_into(G, sums);
  const Scalar eta = -alpha;
  Scalar* __restrict out = w->data();
  for (std::size_t j = 0; j < cols; ++j) out[j] = detail::sgd_update(out[j], eta, sums[j]);
}

void step_or_add_row_sum(GraphContext& c, std::size_t i, const Tensor& g) { add_row_sum(c, i, g); }

}  // namespace bw

// C = op(A)·op(B);  dop(A) = G·op(B)ᵀ,  dop(B) = op(A)ᵀ·G
Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  detail::require_rank("matmul", a.value(), 2, "left operand");
  detail::require_rank("matmul", b.value(), 2, "right operand");
  const auto& as = a.value().shape();
  const auto& bs = b.value().shape();
  const std::size_t m = ta ? as[1] : as[0], k = ta ? as[0] : as[1];
  const std::size_t kb = tb ? bs[1] : bs[0], n = tb ? bs[0] : bs[1];
  if (k != kb)
    throw shape_error(std::string("matmul: ") + shape_str(as) + (ta ? "ᵀ" : "") + " x " +
                      shape_str(bs) + (tb ? "ᵀ" : "") + ": inner dimensions differ (" +
                      std::to_string(k) + " vs " + std::to_string(kb) + ")");
  Array y = Array::from_shape({m, n});
  detail::gemm(ta, tb, Scalar(1), a.value(), b.value(), Scalar(0), y);
  return record("matmul", std::move(y), {a, b}, [ta, tb](auto& c) {
    const auto& G = c.gy();
    if (c.needs(0)) {
      if (!ta)
        bw::add_matmul(c, 0, G, c.x(1), false, !tb);  // dA = G·op(B)ᵀ
      else
        bw::add_matmul(c, 0, c.x(1), G, tb, true);  // dA = op(B)·Gᵀ
    }
    if (c.needs(1)) {
      if (!tb)
        bw::step_or_add_matmul(c, 1, c.x(0), G, !ta, false);  // dB = op(A)ᵀ·G
      else
        bw::step_or_add_matmul(c, 1, G, c.x(0), true, ta);  // dB = Gᵀ·op(A)
    }
  });
}

// Y = X·Wᵀ + b;  dX = G·W,  dW = Gᵀ·X,  db = Σ_rows G
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  detail::require_rank("linear", x.value(), 2, "input");
  detail::require_rank("linear", w.value(), 2, "weight");
  const auto& xs = x.value().shape();
  const auto& ws = w.value().shape();
  const auto& bs = b.value().shape();
  if (xs[1] != ws[1])
    throw shape_error("linear: input " + shape_str(xs) + " x weight " + shape_str(ws) +
                      "ᵀ: inner dimensions differ (" + std::to_string(xs[1]) + " vs " +
                      std::to_string(ws[1]) + ")");
  if (b.size() != ws[0] || b.dim() > 2 || (b.dim() == 2 && bs[0] != 1))
    throw shape_error("linear: bias of shape " + shape_str(bs) + " does not fit weight " +
                      shape_str(ws) + ": expected (" + std::to_string(ws[0]) + ",)");
  const std::size_t m = xs[0], n_out = ws[0];
  // In place: a training step's node takes back the last step's (record_into).
  auto compute = [&](Array& y) {
    // Every row starts as the bias, then gemm adds X·Wᵀ on top (beta = 1).
    const Scalar* bias = b.value().data();
    Scalar* yp = y.data();
    for (std::size_t r = 0; r < m; ++r) std::copy(bias, bias + n_out, yp + r * n_out);
    // A short inner size (a small hidden layer) through xgrad's kernel where it
    // has the BLAS's bits: OpenBLAS's packed path costs more than the sums.
    if (detail::short_product_fits(m, n_out, xs[1]))
      detail::add_short_product(x.value(), w.value(), y);
    else
      detail::gemm(false, true, Scalar(1), x.value(), w.value(), Scalar(1), y);
  };
  return record_into("linear", {m, n_out}, {x, w, b}, compute, [](auto& c) {
    const auto& G = c.gy();
    if (c.needs(0)) bw::add_matmul(c, 0, G, c.x(1), false, false);
    // W's and b's last reads: either may take its optimizer step here.
    if (c.needs(1)) bw::step_or_add_weight_gradient(c, 1, G, c.x(0));  // dW = Gᵀ·X
    if (c.needs(2)) bw::step_or_add_row_sum(c, 2, G);
  });
}

}  // namespace xg
