// Composing a model from layers, a user-written module with sub-modules,
// a hand-written training loop, and a gradient check of the whole model.
// Data: two interleaved half-moons in 2-D, two classes.
#include <cmath>
#include <iostream>
#include <xgrad/xgrad.hpp>

// A residual block: x + W2·tanh(W1·x). Sub-modules register under stable names.
class Residual : public xg::nn::Module {
 public:
  Residual(std::size_t width, xg::Rng& rng)
      : inner_(register_module("inner", std::make_shared<xg::nn::Linear>(width, width, rng))),
        outer_(register_module("outer", std::make_shared<xg::nn::Linear>(width, width, rng))) {}
  xg::Tensor forward(const xg::Tensor& x) override { return x + (*outer_)(xg::tanh((*inner_)(x))); }
  std::string type_name() const override { return "Residual"; }

 private:
  std::shared_ptr<xg::nn::Linear> inner_, outer_;
};

xg::data::Dataset moons(std::size_t n, xg::Rng& rng) {
  xg::data::Dataset d;
  d.inputs = xg::Array::from_shape({n, std::size_t(2)});
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t label = i % 2;
    const double t = M_PI * rng.uniform();
    d.inputs(i, 0) = label ? 1.0 - std::cos(t) : std::cos(t);
    d.inputs(i, 1) = (label ? 0.5 - std::sin(t) : std::sin(t)) + rng.normal(0.0, 0.05);
    d.labels.push_back(label);
  }
  d.targets = xg::data::one_hot(d.labels, 2);
  return d;
}

int main() {
  xg::Rng rng(7);
  auto model = std::make_shared<xg::nn::Sequential>(std::vector<std::shared_ptr<xg::nn::Module>>{
      std::make_shared<xg::nn::Linear>(2, 16, rng), std::make_shared<xg::nn::Tanh>(),
      std::make_shared<Residual>(16, rng), std::make_shared<xg::nn::Linear>(16, 2, rng),
      std::make_shared<xg::nn::Softmax>()});
  for (const auto& [name, p] : model->named_parameters())
    std::cout << name << " " << xg::shape_str(p.shape()) << "\n";

  // The whole model's gradients against finite differences, on a few samples.
  xg::data::Dataset data = moons(200, rng);
  const xg::data::Dataset few = data.take(5);
  xg::Tensor xs(few.inputs), ys(few.targets);
  auto check = xg::gradcheck(
      [&](const std::vector<xg::Tensor>&) { return xg::log_likelihood_cost((*model)(xs), ys); },
      model->parameters());
  std::cout << check << "\n";

  // A hand-written training loop: full-batch Adam.
  xg::optim::Adam adam(model->parameters(), 0.02);
  xg::Tensor x(data.inputs), y(data.targets);
  double loss = 0;
  for (int step = 0; step < 500; ++step) {
    adam.zero_grad();
    xg::Tensor cost = xg::log_likelihood_cost((*model)(x), y);
    cost.backward();
    adam.step();
    loss = cost.item();
  }
  model->eval();
  xg::NoGradGuard no_grad;
  const std::size_t correct = xg::data::count_correct((*model)(x).value(), data.labels);
  std::cout << "final cost " << loss << ", training accuracy " << correct << "/200\n";
  return check && correct == 200 ? 0 : 1;
}
