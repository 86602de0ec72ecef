// Adds two activations to xgrad, checks their gradients, and trains a small
// network with them on XOR-shaped data. The walkthrough: docs/extending.md.
//
//   custom_activation            exit status 0 when both gradchecks pass and
//                                the network classifies every point correctly
#include <fmt/core.h>

#include <cstdlib>
#include <xtensor/xmath.hpp>

#include "xgrad/gradcheck.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"

using xg::Array;
using xg::Scalar;
using xg::Tensor;

// ---- Way 1: a value f and its derivative df, in one struct. ----------------
// The registration line makes xg::activate<Softsign> (the op),
// xg::nn::Activation<Softsign> (the Module) and the name "softsign"
// (nn::make_activation, mlp, the CLI and model files).

/// softsign(z) = z / (1 + |z|);  softsign'(z) = 1 / (1 + |z|)²
struct Softsign {
  static constexpr const char* name = "softsign";
  static Array f(const Array& z) { return z / (Scalar(1) + xt::abs(z)); }
  // Written once for T = Array (training) and T = Tensor (second order).
  template <class T>
  static T df(const T& z, const T& /*a = f(z)*/) {
    T d = Scalar(1) + abs(z);  // xt::abs on an Array, xg::abs on a Tensor
    return Scalar(1) / (d * d);
  }
};
XG_REGISTER_ACTIVATION(Softsign)

// ---- Way 2: composed from differentiable primitives; autograd derives it. ---

/// swish(x) = x·σ(x)
Tensor swish(const Tensor& x) { return x * xg::sigmoid(x); }
XG_REGISTER_ACTIVATION_FN("swish", swish)

// ---- The check and the use. -------------------------------------------------

namespace {

bool check(const char* what, const xg::GradcheckFn& f, Tensor input) {
  xg::GradcheckResult r = xg::gradcheck(f, {input});
  fmt::print("gradcheck {:<22} {}: {}\n", what, r.ok ? "ok" : "FAILED", r.message);
  // Second order too: the derivative of the derivative, against finite differences.
  xg::GradcheckResult r2 = xg::gradgradcheck(f, {input});
  fmt::print("gradgradcheck {:<18} {}: {}\n", what, r2.ok ? "ok" : "FAILED", r2.message);
  return r.ok && r2.ok;
}

// Four Gaussian clusters at (±1, ±1); the label is 1 where the signs differ (XOR).
void xor_data(std::size_t per_cluster, xg::Rng& rng, Tensor& x, Tensor& y) {
  const std::size_t m = 4 * per_cluster;
  Array xs = Array::from_shape({m, 2}), ys = Array::from_shape({m, 1});
  for (std::size_t i = 0; i < m; ++i) {
    const double cx = (i % 4) & 1 ? 1.0 : -1.0, cy = (i % 4) & 2 ? 1.0 : -1.0;
    xs(i, 0) = static_cast<Scalar>(rng.normal(cx, 0.25));
    xs(i, 1) = static_cast<Scalar>(rng.normal(cy, 0.25));
    ys(i, 0) = cx * cy < 0 ? 1 : 0;
  }
  x = Tensor(xs);
  y = Tensor(ys);
}

}  // namespace

int main() {
  xg::Rng rng(2024);

  bool ok = true;
  using Ins = const std::vector<Tensor>&;
  auto z = [&] { return Tensor::randn({4, 5}, rng, 0.0, 2.0, /*requires_grad=*/true); };
  ok &= check(
      "softsign (op)", [](Ins in) { return xg::activate<Softsign>(in[0]); }, z());
  ok &= check(
      "swish (function)", [](Ins in) { return swish(in[0]); }, z());
  // By name, through the registry, as the CLI would build them.
  for (const char* name : {"softsign", "swish"}) {
    auto act = xg::nn::make_activation(name);
    ok &= check(
        fmt::format("{} (by name)", name).c_str(), [&](Ins in) { return act->forward(in[0]); },
        z());
  }

  // 2 → 8 softsign → 8 swish → 1 logit.
  xg::nn::Sequential net(
      {std::make_shared<xg::nn::Linear>(2, 8, rng), xg::nn::make_activation("softsign"),
       std::make_shared<xg::nn::Linear>(8, 8, rng), xg::nn::make_activation("swish"),
       std::make_shared<xg::nn::Linear>(8, 1, rng)});
  fmt::print("\n{}\n", net.describe());

  Tensor x, y;
  xor_data(50, rng, x, y);
  // Binary cross-entropy from the logit z: softplus(z) − y·z, mean over samples.
  auto cost = [&](const Tensor& logits) { return xg::mean(xg::softplus(logits) - y * logits); };

  const double lr = 0.5;
  for (int epoch = 0; epoch <= 1000; ++epoch) {
    net.zero_grad();
    Tensor loss = cost(net(x));
    loss.backward();
    // Plain gradient descent, written out: w ← w − η ∂C/∂w.
    for (Tensor& p : net.parameters())
      if (p.has_grad()) p.mutable_value() -= lr * p.grad();
    if (epoch % 200 == 0) fmt::print("epoch {:4d}  cost {:.6f}\n", epoch, loss.item());
  }

  xg::NoGradGuard no_grad;
  const Array logits = net(x).value();
  std::size_t correct = 0;
  for (std::size_t i = 0; i < logits.shape()[0]; ++i)
    correct += (logits(i, 0) > 0) == (y.value()(i, 0) > 0.5);
  const double accuracy = 100.0 * correct / logits.shape()[0];
  fmt::print("accuracy {}/{} = {:.1f}%\n", correct, logits.shape()[0], accuracy);

  if (!ok) fmt::print("a gradient check failed\n");
  if (correct != logits.shape()[0]) fmt::print("the network did not learn XOR\n");
  return ok && correct == logits.shape()[0] ? EXIT_SUCCESS : EXIT_FAILURE;
}
