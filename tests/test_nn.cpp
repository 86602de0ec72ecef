// Modules: parameter naming, Linear, Dropout, Sequential, mlp and initialisation.
#include <catch2/catch.hpp>
#include <cmath>
#include <type_traits>
#include <xtensor/xmath.hpp>

#include "precision.hpp"
#include "xgrad/gradcheck.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"

using namespace xg;
using Ins = const std::vector<Tensor>&;
using xg_test::tol;

namespace {

Rng nn_rng(99);

Tensor nn_param(const Shape& s) { return Tensor::rand(s, nn_rng, -1.5, 1.5, true); }

std::vector<std::string> names_of(const nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& p : m.named_parameters()) out.push_back(p.first);
  return out;
}

double mean_of(const Array& a) { return xt::mean(a)(); }
double sd_of(const Array& a) {
  const double mu = mean_of(a);
  return std::sqrt(xt::mean((a - mu) * (a - mu))());
}

// What a user writes: two Linear children, an own parameter, a custom forward
// with a skip connection.
class TwoLayer : public nn::Module {
 public:
  TwoLayer(std::size_t n, Rng& rng)
      : fc1(register_module("fc1", std::make_shared<nn::Linear>(n, 4, rng))),
        fc2(register_module("fc2", std::make_shared<nn::Linear>(4, n, rng))),
        scale(register_parameter("scale", Tensor::full({n}, 0.5))) {}
  Tensor forward(const Tensor& x) override {
    return x + scale * fc2->forward(xg::tanh(fc1->forward(x)));
  }
  std::string type_name() const override { return "TwoLayer"; }

  std::shared_ptr<nn::Linear> fc1, fc2;
  Tensor scale;
};

// Records how often its mode changed, to see train()/eval() reach it.
class ModeProbe : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "ModeProbe"; }
  int changes = 0;

 protected:
  void on_train_mode_change(bool) override { ++changes; }
};

}  // namespace

TEST_CASE("mlp({784,30,10}) names its parameters 0.weight, 0.bias, 2.weight, 2.bias", "[nn]") {
  Rng rng(1);
  auto net = nn::mlp({784, 30, 10}, "sigmoid", rng);
  const auto named = net->named_parameters();
  REQUIRE(names_of(*net) == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  CHECK(named[0].second.shape() == Shape{30, 784});
  CHECK(named[1].second.shape() == Shape{30});
  CHECK(named[2].second.shape() == Shape{10, 30});
  CHECK(named[3].second.shape() == Shape{10});
  // parameters() is the same handles in the same order; weights() the decayed ones.
  const auto params = net->parameters();
  REQUIRE(params.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(params[i].node() == named[i].second.node());
  const auto w = net->weights();
  REQUIRE(w.size() == 2);
  CHECK(w[0].node() == named[0].second.node());
  CHECK(w[1].node() == named[2].second.node());
  for (const auto& p : params) CHECK(p.requires_grad());
  CHECK(net->num_parameters() == 30 * 784 + 30 + 10 * 30 + 10);
  CHECK(net->size() == 4);
  CHECK(net->describe() == "Sequential(Linear(784, 30), sigmoid, Linear(30, 10), sigmoid)");
}

TEST_CASE("mlp builds Linear + activation pairs and validates its arguments", "[nn]") {
  Rng rng(2);
  auto net = nn::mlp({3, 5, 4, 2}, "relu", rng, nn::Init::he, "softmax");
  REQUIRE(net->size() == 6);
  const char* types[] = {"Linear", "relu", "Linear", "relu", "Linear", "softmax"};
  for (std::size_t i = 0; i < 6; ++i) CHECK((*net)[i]->type_name() == types[i]);
  CHECK(std::dynamic_pointer_cast<nn::Linear>((*net)[2])->in_features() == 5);
  CHECK(std::dynamic_pointer_cast<nn::Linear>((*net)[2])->out_features() == 4);
  CHECK(nn::mlp({3, 2}, "tanh", rng)->describe() == "Sequential(Linear(3, 2), tanh)");

  Rng before(5), after(5);
  CHECK_THROWS_AS(nn::mlp({5}, "sigmoid", after), value_error);
  CHECK_THROWS_AS(nn::mlp({}, "sigmoid", after), value_error);
  CHECK_THROWS_WITH(nn::mlp({3, 0, 2}, "sigmoid", after), Catch::Contains("size 1 is 0"));
  CHECK_THROWS_WITH(nn::mlp({3, 4, 2}, "sigmod", after),
                    Catch::Contains("'sigmod'") && Catch::Contains("sigmoid"));
  CHECK_THROWS_WITH(nn::mlp({3, 4, 2}, "sigmoid", after, nn::Init::default_, "softmx"),
                    Catch::Contains("'softmx'") && Catch::Contains("softmax"));
  // Rejected before anything was drawn.
  CHECK(after.state() == before.state());
}

TEST_CASE("an mlp passes gradcheck through every parameter and its input", "[nn]") {
  Rng rng(3);
  for (const char* out : {"sigmoid", "softmax", "identity", "log_softmax"}) {
    INFO(out);
    auto net = nn::mlp({3, 4, 2}, "tanh", rng, nn::Init::default_, out);
    std::vector<Tensor> inputs = {nn_param({5, 3})};
    for (auto& p : net->parameters()) inputs.push_back(p);
    CHECK(gradcheck([&](Ins in) { return net->forward(in[0]); }, inputs));
  }
}

TEST_CASE("a user-written module with two Linear children works like a built-in", "[nn]") {
  Rng rng(4);
  TwoLayer m(3, rng);
  CHECK(names_of(m) ==
        std::vector<std::string>{"scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"});
  CHECK(m.weights().size() == 2);
  CHECK(m.children().size() == 2);
  CHECK(m.children()[1].first == "fc2");
  CHECK(m.children()[1].second == m.fc2);

  std::vector<Tensor> inputs = {nn_param({6, 3})};
  for (auto& p : m.parameters()) inputs.push_back(p);
  CHECK(gradcheck([&](Ins in) { return m(in[0]); }, inputs));

  // Nested inside a Sequential inside another module: dotted names all the way.
  auto seq = std::make_shared<nn::Sequential>();
  seq->add(std::make_shared<TwoLayer>(3, rng)).add(std::make_shared<nn::Sigmoid>());
  CHECK(names_of(*seq)[2] == "0.fc1.bias");

  // zero_grad reaches every parameter.
  sum(m(nn_param({2, 3}))).backward();
  for (auto& p : m.parameters()) CHECK(p.has_grad());
  m.zero_grad();
  for (auto& p : m.parameters()) CHECK_FALSE(p.has_grad());
}

TEST_CASE("registration rejects clashing or malformed names", "[nn]") {
  struct Bad : nn::Module {
    Tensor forward(const Tensor& x) override { return x; }
    std::string type_name() const override { return "Bad"; }
    void reg(const std::string& name) { register_parameter(name, Tensor::zeros({2})); }
    void sub(const std::string& name) { register_module(name, std::make_shared<nn::Identity>()); }
  };
  Bad b;
  b.reg("w");
  CHECK_THROWS_WITH(b.reg("w"), Catch::Contains("'w'") && Catch::Contains("already"));
  CHECK_THROWS_AS(b.sub("w"), value_error);
  CHECK_THROWS_AS(b.reg("a.b"), value_error);
  CHECK_THROWS_AS(b.reg(""), value_error);
  b.sub("child");
  CHECK_THROWS_AS(b.reg("child"), value_error);
  CHECK(names_of(b) == std::vector<std::string>{"w"});
  // Copying a module would share its parameters: not allowed.
  STATIC_REQUIRE_FALSE(std::is_copy_constructible<nn::Linear>::value);
}

TEST_CASE("train() and eval() reach every descendant", "[nn]") {
  auto probe = std::make_shared<ModeProbe>();
  auto inner = std::make_shared<nn::Sequential>(
      std::vector<std::shared_ptr<nn::Module>>{std::make_shared<nn::Dropout>(0.5), probe});
  nn::Sequential outer({std::make_shared<nn::ReLU>(), inner});
  CHECK(outer.is_training());
  outer.eval();
  CHECK_FALSE(outer.is_training());
  CHECK_FALSE(inner->is_training());
  CHECK_FALSE((*inner)[0]->is_training());
  CHECK_FALSE(probe->is_training());
  CHECK(probe->changes == 1);
  outer.train();
  CHECK((*inner)[0]->is_training());
  CHECK(probe->changes == 2);
  // Eval mode turns dropout off deep inside.
  outer.eval();
  Tensor x = Tensor::ones({4, 5});
  CHECK(outer(x).value() == x.value());
}

TEST_CASE("Linear computes x·Wᵀ + b and passes gradcheck", "[nn]") {
  Rng rng(6);
  nn::Linear layer(4, 3, rng);
  CHECK(layer.describe() == "Linear(4, 3)");
  CHECK(layer.type_name() == "Linear");
  CHECK(layer.weight().shape() == Shape{3, 4});
  CHECK(layer.bias().shape() == Shape{3});
  Tensor x = nn_param({5, 4});
  const Array y = layer(x).value();
  const Array& W = layer.weight().value();
  const Array& b = layer.bias().value();
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      double s = b(j);
      for (std::size_t k = 0; k < 4; ++k) s += x.value()(i, k) * W(j, k);
      CHECK(y(i, j) == Approx(s).epsilon(tol(1e-12)));
    }
  CHECK(gradcheck([&](Ins in) { return layer(in[0]); }, {x, layer.weight(), layer.bias()}));
  // Writing through the handle changes the layer (optimizers rely on it).
  layer.weight().mutable_value().fill(0.0);
  CHECK(layer.parameters()[0].value() == xt::zeros<Scalar>({3, 4}));
}

TEST_CASE("Linear rejects bad sizes and says which shape it expected", "[nn]") {
  Rng rng(7);
  nn::Linear layer(784, 30, rng);
  CHECK_THROWS_AS(layer(Tensor::zeros({10, 783})), shape_error);
  CHECK_THROWS_WITH(layer(Tensor::zeros({10, 783})),
                    "Linear(784, 30): input of shape (10, 783): expected (m, 784)");
  CHECK_THROWS_WITH(layer(Tensor::zeros({784})),
                    "Linear(784, 30): input of shape (784,): expected (m, 784)");
  CHECK_THROWS_AS(nn::Linear(0, 3, rng), value_error);
  CHECK_THROWS_WITH(nn::Linear(3, 0, rng), Catch::Contains("Linear(3, 0)"));
}

TEST_CASE("initialisation has the documented statistics and is seeded", "[nn]") {
  const std::size_t n_in = 400, n_out = 300;  // 120,000 weights: sd within ~0.5%
  auto make = [&](nn::Init init, std::uint64_t seed) {
    Rng rng(seed);
    return std::make_shared<nn::Linear>(n_in, n_out, rng, init);
  };
  struct Case {
    nn::Init init;
    double weight_sd;
    bool bias_normal;
  };
  const Case cases[] = {{nn::Init::large, 1.0, true},
                        {nn::Init::default_, 1.0 / std::sqrt(400.0), true},
                        {nn::Init::xavier, std::sqrt(2.0 / 700.0), false},
                        {nn::Init::he, std::sqrt(2.0 / 400.0), false}};
  for (const auto& c : cases) {
    INFO(nn::to_string(c.init));
    auto l = make(c.init, 11);
    CHECK(mean_of(l->weight().value()) == Approx(0.0).margin(0.02 * c.weight_sd));
    CHECK(sd_of(l->weight().value()) == Approx(c.weight_sd).epsilon(0.02));
    if (c.bias_normal) {
      CHECK(sd_of(l->bias().value()) == Approx(1.0).epsilon(0.15));
    } else {
      CHECK(l->bias().value() == xt::zeros<Scalar>({n_out}));
    }
  }
  // Same seed, same numbers; another seed, others.
  CHECK(make(nn::Init::default_, 11)->weight().value() ==
        make(nn::Init::default_, 11)->weight().value());
  CHECK(make(nn::Init::default_, 11)->weight().value() !=
        make(nn::Init::default_, 12)->weight().value());
  // Weights first (row-major), then biases: the same as a plain loop.
  Rng a(21), b(21);
  nn::Linear l(3, 2, a, nn::Init::large);
  const Array w = b.normal_array({2, 3}), bias = b.normal_array({2});
  CHECK(l.weight().value() == w);
  CHECK(l.bias().value() == bias);
}

TEST_CASE("Init names parse and print", "[nn]") {
  for (const auto& name : nn::init_names()) CHECK(nn::to_string(nn::parse_init(name)) == name);
  CHECK(nn::parse_init("default") == nn::Init::default_);
  CHECK_THROWS_AS(nn::parse_init("gaussian"), value_error);
  CHECK_THROWS_WITH(nn::parse_init("gaussian"), Catch::Contains("'gaussian'") &&
                                                    Catch::Contains("large") &&
                                                    Catch::Contains("xavier"));
  Tensor w = Tensor::zeros({3, 2}), b = Tensor::zeros({2});
  Rng rng(1);
  CHECK_THROWS_AS(nn::init_linear(w, b, nn::Init::large, rng), shape_error);
}

TEST_CASE("Dropout: identity in eval, mean-preserving inverted mask in train", "[nn]") {
  nn::Dropout drop(0.3, 5);
  CHECK(drop.describe() == "Dropout(p=0.3)");
  Tensor x = Tensor::ones({200, 500});
  const Array y = drop(x).value();
  // Survivors are scaled by 1/(1−p); about 30% are dropped; the mean stays ≈ 1.
  std::size_t zeros = 0, scaled = 0;
  for (Scalar v : y) {
    if (v == 0.0) ++zeros;
    if (v == Approx(1.0 / 0.7)) ++scaled;
  }
  CHECK(zeros + scaled == y.size());
  CHECK(static_cast<double>(zeros) / y.size() == Approx(0.3).margin(0.01));
  CHECK(mean_of(y) == Approx(1.0).margin(0.015));

  drop.eval();
  CHECK(drop(x).value() == x.value());
  drop.train();
  CHECK(drop(x).value() != x.value());
  // p = 0 is the identity even in training.
  CHECK(nn::Dropout(0.0)(x).value() == x.value());
}

TEST_CASE("Dropout is seeded, reseedable and validates p", "[nn]") {
  Tensor x = Tensor::ones({20, 30});
  nn::Dropout a(0.5, 42), b(0.5, 42), c(0.5, 43);
  const Array first = a(x).value();
  CHECK(first == b(x).value());
  CHECK(first != c(x).value());
  CHECK(a(x).value() != first);  // the stream moves on
  a.reseed(42);
  CHECK(a(x).value() == first);
  // Seeded from a run-wide engine: same engine state, same masks.
  Rng r1(8), r2(8);
  nn::Dropout d1(0.5, r1), d2(0.5, r2);
  CHECK(d1(x).value() == d2(x).value());

  CHECK_THROWS_AS(nn::Dropout(1.0), value_error);
  CHECK_THROWS_AS(nn::Dropout(-0.1), value_error);
  CHECK_THROWS_AS(nn::Dropout(std::nan("")), value_error);
  CHECK_THROWS_WITH(nn::Dropout(1.5), Catch::Contains("p = 1.5") && Catch::Contains("[0, 1)"));
}

TEST_CASE("Dropout's gradient is its mask", "[nn]") {
  nn::Dropout drop(0.4, 3);
  // Reseeding inside f gives every finite-difference evaluation the same mask.
  CHECK(gradcheck(
      [&](Ins in) {
        drop.reseed(9);
        return drop(in[0]);
      },
      {nn_param({6, 7})}));
  drop.reseed(9);
  Tensor x = nn_param({6, 7});
  Tensor y = drop(x);
  sum(y).backward();
  const Array mask = y.value() / x.value();
  CHECK(xt::allclose(x.grad(), mask));
}

TEST_CASE("Sequential chains its children and reports misuse", "[nn]") {
  nn::Sequential empty;
  CHECK(empty.empty());
  CHECK_THROWS_AS(empty(Tensor::zeros({2, 2})), value_error);
  CHECK_THROWS_WITH(empty(Tensor::zeros({2, 2})), Catch::Contains("empty"));
  CHECK_THROWS_AS(empty[0], value_error);
  CHECK_THROWS_AS(empty.add(nullptr), value_error);

  Rng rng(10);
  auto l0 = std::make_shared<nn::Linear>(3, 2, rng);
  nn::Sequential seq({l0, std::make_shared<nn::Sigmoid>()});
  Tensor x = nn_param({4, 3});
  CHECK(xt::allclose(seq(x).value(), sigmoid(l0->forward(x)).value()));
  CHECK(seq.children()[0].first == "0");
  CHECK(seq.children()[1].first == "1");
  CHECK_THROWS_WITH(seq[2], Catch::Contains("index 2") && Catch::Contains("size 2"));
}

TEST_CASE("a few steps of plain SGD on an mlp reduce the quadratic cost", "[nn]") {
  Rng rng(12);
  auto net = nn::mlp({2, 8, 1}, "tanh", rng, nn::Init::default_, "sigmoid");
  const Tensor x = Tensor{{0.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {1.0, 1.0}};
  const Tensor y = reshape(Tensor{0.0, 1.0, 1.0, 0.0}, {4, 1});
  auto cost = [&] {
    Tensor d = net->forward(x) - y;
    return mean(sum(d * d, 1)) * 0.5;
  };
  const double first = cost().item();
  for (int step = 0; step < 50; ++step) {
    net->zero_grad();
    cost().backward();
    for (auto& p : net->parameters()) p.mutable_value() -= 0.5 * p.grad();
  }
  CHECK(cost().item() < first);
}
