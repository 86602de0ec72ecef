#include "xgrad/book/check.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include "xgrad/cost.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/nn/sequential.hpp"
#include "xgrad/ops.hpp"

namespace xg::book {

std::string to_string(OutputKind kind) {
  switch (kind) {
    case OutputKind::sigmoid_quadratic:
      return "sigmoid+quadratic";
    case OutputKind::sigmoid_cross_entropy:
      return "sigmoid+cross-entropy";
    case OutputKind::softmax_log_likelihood:
      return "softmax+log-likelihood";
  }
  return "?";
}

namespace {

struct Diff {
  double abs = 0, rel = 0, scale = 0;
};

Diff compare(const Array& a, const Array& b) {
  if (a.shape() != b.shape())
    throw shape_error("closed-form check: gradient shapes differ: " + shape_str(a.shape()) +
                      " vs " + shape_str(b.shape()));
  double scale = 0;
  Diff d;
  for (std::size_t k = 0; k < a.size(); ++k) {
    const double x = a.data()[k], y = b.data()[k];
    d.abs = std::max(d.abs, std::abs(x - y));
    scale = std::max({scale, std::abs(x), std::abs(y)});
  }
  d.rel = scale > 0 ? d.abs / scale : 0.0;
  d.scale = scale;
  return d;
}

}  // namespace

CheckResult compare_with_closed_form(const CheckCase& c, const Array& X, const Array& Y, Rng& rng) {
  const bool softmax = c.kind == OutputKind::softmax_log_likelihood;
  auto model =
      nn::mlp(c.sizes, "sigmoid", rng, nn::Init::default_, softmax ? "softmax" : "sigmoid");

  Network net;
  std::vector<std::shared_ptr<nn::Linear>> linears;
  for (std::size_t i = 0; i < model->size(); ++i)
    if (auto lin = std::dynamic_pointer_cast<nn::Linear>((*model)[i])) {
      linears.push_back(lin);
      net.weights.push_back(lin->weight().value());
      net.biases.push_back(lin->bias().value());
    }

  Tensor y(Y);
  Tensor cost;
  // The fused costs take the logits, so δ^L = a − y exactly (BP1).
  switch (c.kind) {
    case OutputKind::sigmoid_quadratic:
      cost = quadratic_cost((*model)(Tensor(X)), y);
      break;
    case OutputKind::sigmoid_cross_entropy:
      cost = sigmoid_cross_entropy(model->forward_logits(Tensor(X), "sigmoid"), y);
      break;
    case OutputKind::softmax_log_likelihood:
      cost = softmax_log_likelihood(model->forward_logits(Tensor(X), "softmax"), y);
      break;
  }
  if (c.lambda > 0) cost = cost + l2_penalty(model->weights(), c.lambda, c.n);
  model->zero_grad();
  cost.backward();

  const Gradients closed = backprop(net, X, Y, c.kind, c.lambda, c.n);

  CheckResult r;
  r.config = c;
  r.batch = X.shape()[0];
  r.cost_autograd = cost.item();
  r.cost_closed_form = closed.cost;
  for (std::size_t l = 0; l < linears.size(); ++l) {
    const Diff w = compare(linears[l]->weight().grad(), closed.weights[l]);
    const Diff b = compare(linears[l]->bias().grad(), closed.biases[l]);
    r.layers.push_back({l + 1, w.abs, w.rel, b.abs, b.rel});
    r.max_abs = std::max({r.max_abs, w.abs, b.abs});
    r.max_rel = std::max({r.max_rel, w.rel, b.rel});
    r.grad_scale = std::max({r.grad_scale, w.scale, b.scale});
  }
  return r;
}

}  // namespace xg::book
