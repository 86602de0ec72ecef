// The book's network trained by hand (see handwritten.hpp): OpenBLAS for the
// products, xsimd for the sigmoids, plain loops for the rest.
#include "handwritten.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
#include <xsimd/xsimd.hpp>

#include "cblas.hpp"
#include "xgrad/error.hpp"

namespace xg::bench {

namespace {

using Batch = xsimd::batch<Scalar>;
constexpr std::size_t lanes = Batch::size;

// σ(z) = 1/(1+e^{−z}) for z ≥ 0, e^{z}/(1+e^{z}) below: one exp of −|z|,
// as the library's sigmoid, so nothing overflows.
void sigmoid_in_place(Scalar* z, std::size_t n) {
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const Batch v = Batch::load_unaligned(z + i);
    const Batch e = xsimd::exp(-xsimd::abs(v));
    const Batch r = Batch(Scalar(1)) / (Batch(Scalar(1)) + e);
    xsimd::select(v >= Batch(Scalar(0)), r, e * r).store_unaligned(z + i);
  }
  for (; i < n; ++i) {
    const Scalar e = std::exp(-std::abs(z[i]));
    z[i] = z[i] >= 0 ? Scalar(1) / (Scalar(1) + e) : e / (Scalar(1) + e);
  }
}

// Each of the m rows of `out` (m × n) set to `bias`: the forward gemm then
// adds onto it with beta = 1, as the library's linear does.
void bias_rows(const std::vector<Scalar>& bias, std::size_t m, Scalar* out) {
  for (std::size_t i = 0; i < m; ++i) std::copy(bias.begin(), bias.end(), out + i * bias.size());
}

// b ← b − η·Σ_rows g
void bias_step(std::vector<Scalar>& b, const Scalar* g, std::size_t m, Scalar eta) {
  const std::size_t n = b.size();
  for (std::size_t j = 0; j < n; ++j) {
    Scalar sum = 0;
    for (std::size_t i = 0; i < m; ++i) sum += g[i * n + j];
    b[j] -= eta * sum;
  }
}

std::vector<Scalar> values(const Tensor& t) { return {t.value().begin(), t.value().end()}; }

int as_int(std::size_t v) { return static_cast<int>(v); }

}  // namespace

HandwrittenMlp::HandwrittenMlp(const nn::Module& model, Scalar eta, std::size_t batch)
    : batch_(batch), eta_(eta) {
  const auto p = model.parameters();
  const bool two_layers = p.size() == 4 && p[0].value().dimension() == 2 &&
                          p[2].value().dimension() == 2 &&
                          p[1].value().size() == p[0].value().shape()[0] &&
                          p[2].value().shape()[1] == p[0].value().shape()[0] &&
                          p[3].value().size() == p[2].value().shape()[0];
  if (!two_layers)
    throw value_error(
        "HandwrittenMlp: expected the parameters W1, b1, W2, b2 of a two-layer "
        "network, got " +
        std::to_string(p.size()) + " parameters of " + model.describe());
  hidden_ = p[0].value().shape()[0];
  n_in_ = p[0].value().shape()[1];
  n_out_ = p[2].value().shape()[0];
  w1_ = values(p[0]);
  b1_ = values(p[1]);
  w2_ = values(p[2]);
  b2_ = values(p[3]);
  h_.resize(batch * hidden_);
  g1_.resize(batch * hidden_);
  out_.resize(batch * n_out_);
  g2_.resize(batch * n_out_);
}

void HandwrittenMlp::forward(const Scalar* x, std::size_t m, Scalar* h, Scalar* out) const {
  const int rows = as_int(m), in = as_int(n_in_), hid = as_int(hidden_), nout = as_int(n_out_);
  bias_rows(b1_, m, h);
  cblas_gemm(false, true, rows, hid, in, 1, x, in, w1_.data(), in, 1, h, hid);  // h = b1 + X·W1ᵀ
  sigmoid_in_place(h, m * hidden_);
  bias_rows(b2_, m, out);
  cblas_gemm(false, true, rows, nout, hid, 1, h, hid, w2_.data(), hid, 1, out, nout);
  sigmoid_in_place(out, m * n_out_);
}

void HandwrittenMlp::step(const Scalar* x, const Scalar* y, std::size_t m) {
  const int rows = as_int(m), in = as_int(n_in_), hid = as_int(hidden_), nout = as_int(n_out_);
  forward(x, m, h_.data(), out_.data());
  // Output error of C = (1/2m)·Σ‖a − y‖²: δ2 = (a − y)/m ⊙ a(1 − a).
  const Scalar inv_m = Scalar(1) / static_cast<Scalar>(m);
  for (std::size_t i = 0, n = m * n_out_; i < n; ++i) {
    const Scalar a = out_[i];
    g2_[i] = (inv_m * (a - y[i])) * (a * (Scalar(1) - a));
  }
  // δ1 = (δ2·W2) ⊙ h(1 − h), with W2 before its step.
  cblas_gemm(false, false, rows, hid, nout, 1, g2_.data(), nout, w2_.data(), hid, 0, g1_.data(),
             hid);
  for (std::size_t i = 0, n = m * hidden_; i < n; ++i) g1_[i] *= h_[i] * (Scalar(1) - h_[i]);
  // W ← W − η·δᵀ·input inside the gemm (alpha = −η, beta = 1), then the biases.
  cblas_gemm(true, false, nout, hid, rows, -eta_, g2_.data(), nout, h_.data(), hid, 1, w2_.data(),
             hid);
  bias_step(b2_, g2_.data(), m, eta_);
  cblas_gemm(true, false, hid, in, rows, -eta_, g1_.data(), hid, x, in, 1, w1_.data(), in);
  bias_step(b1_, g1_.data(), m, eta_);
}

void HandwrittenMlp::epoch(data::Batches& batches) {
  while (batches.next_into(x_, y_)) {
    if (x_.shape()[1] != n_in_ || y_.shape()[1] != n_out_ || x_.shape()[0] > batch_)
      throw shape_error("HandwrittenMlp::epoch: a mini-batch of " + std::to_string(x_.shape()[0]) +
                        " × " + std::to_string(x_.shape()[1]) + " inputs for a " +
                        std::to_string(n_in_) + "-" + std::to_string(hidden_) + "-" +
                        std::to_string(n_out_) + " network with batches of at most " +
                        std::to_string(batch_));
    step(x_.data(), y_.data(), x_.shape()[0]);
  }
}

std::size_t HandwrittenMlp::correct(const data::Dataset& data) const {
  if (data.labels.size() != data.size())
    throw value_error("HandwrittenMlp::correct: the data set has " +
                      std::to_string(data.labels.size()) + " labels for " +
                      std::to_string(data.size()) + " samples");
  constexpr std::size_t chunk = 1000;
  std::vector<Scalar> h(chunk * hidden_), out(chunk * n_out_);
  std::size_t right = 0;
  for (std::size_t start = 0; start < data.size(); start += chunk) {
    const std::size_t stop = std::min(data.size(), start + chunk), m = stop - start;
    const Array x = data.input_rows(start, stop);
    forward(x.data(), m, h.data(), out.data());
    for (std::size_t i = 0; i < m; ++i) {
      const Scalar* row = out.data() + i * n_out_;
      const auto guess = static_cast<std::size_t>(std::max_element(row, row + n_out_) - row);
      if (guess == data.labels[start + i]) ++right;
    }
  }
  return right;
}

std::vector<Array> HandwrittenMlp::parameters() const {
  auto array = [](const std::vector<Scalar>& v, std::vector<std::size_t> shape) {
    Array a = Array::from_shape(shape);
    std::copy(v.begin(), v.end(), a.begin());
    return a;
  };
  return {array(w1_, {hidden_, n_in_}), array(b1_, {hidden_}), array(w2_, {n_out_, hidden_}),
          array(b2_, {n_out_})};
}

}  // namespace xg::bench
