// xgrad-bench sets xgrad's epoch against a network trained with no framework
// (bench/handwritten.cpp). That comparison means something only if the
// hand-written program trains the same network the same way: the checks
// here run both over the same data and order and compare every parameter.
#include <catch2/catch.hpp>
#include <string>

#include "compare.hpp"
#include "handwritten.hpp"
#include "precision.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/data/dataset.hpp"
#include "xgrad/error.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/train/fit.hpp"

using namespace xg;
using xg_test::relative_gap;

namespace {

// 205 samples (the last mini-batch of 10 is short) of 64 uniform inputs;
// labels i mod 10 and their one-hot targets.
data::Dataset uniform_data() {
  Rng rng(3);
  data::Dataset d;
  d.inputs = Tensor::rand({205, 64}, rng).value();
  for (std::size_t i = 0; i < 205; ++i) d.labels.push_back(i % 10);
  d.targets = data::one_hot(d.labels, 10);
  return d;
}

}  // namespace

TEST_CASE("bench: the hand-written network follows xgrad's fused SGD training", "[bench][fused]") {
  const data::Dataset d = uniform_data();
  Rng init(11);
  auto model = nn::mlp({64, 40, 10}, "sigmoid", init, nn::Init::large);
  bench::HandwrittenMlp hand(*model, 3.0, 10);  // the same starting point

  optim::SGD sgd(model->parameters(), 3.0);
  sgd.set_fused(true);
  const auto cost = make_cost("quadratic");
  Rng shuffle(5), hand_shuffle(5);
  train::FitOptions o;
  o.epochs = 2;
  o.batch_size = 10;
  o.rng = &shuffle;
  o.evaluation = nullptr;
  o.monitor_training_cost = false;
  train::fit(*model, *cost, sgd, d, o);

  data::Batches batches(d, 10, &hand_shuffle);
  hand.epoch(batches);
  hand.epoch(batches);

  const auto xgrad_values = xg_test::parameter_values(*model);
  const auto hand_values = hand.parameters();
  REQUIRE(hand_values.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    INFO("parameter " << i);
    // Apart only by rounding: 42 steps, the same products, sums in other orders.
    CHECK(relative_gap(xgrad_values[i], hand_values[i]) <= xg_test::tol(1e-12, 1e-5));
  }
  // ...and the weights did move: 42 steps of η = 3 are far from the start.
  Rng init_again(11);
  const auto start =
      xg_test::parameter_values(*nn::mlp({64, 40, 10}, "sigmoid", init_again, nn::Init::large));
  CHECK(relative_gap(start[0], hand_values[0]) > 1e-3);
  CHECK(hand.correct(d) == data::count_correct(train::predict(*model, d), d.labels));
}

TEST_CASE("bench: the hand-written network refuses other models and data", "[bench][errors]") {
  Rng init(1);
  auto three_layers = nn::mlp({8, 6, 5, 3}, "sigmoid", init, nn::Init::large);
  CHECK_THROWS_AS(bench::HandwrittenMlp(*three_layers, 1.0, 10), value_error);
  CHECK_THROWS_WITH(bench::HandwrittenMlp(*three_layers, 1.0, 10),
                    Catch::Contains("W1, b1, W2, b2") && Catch::Contains("6 parameters"));

  auto model = nn::mlp({64, 40, 10}, "sigmoid", init, nn::Init::large);
  bench::HandwrittenMlp hand(*model, 3.0, 10);
  data::Dataset d = uniform_data();
  d.labels.clear();
  CHECK_THROWS_WITH(hand.correct(d), Catch::Contains("0 labels for 205 samples"));
  data::Dataset wide = uniform_data();
  Rng rng(4);
  wide.inputs = Tensor::rand({205, 65}, rng).value();
  Rng shuffle(5);
  data::Batches batches(wide, 10, &shuffle);
  CHECK_THROWS_AS(hand.epoch(batches), shape_error);
}
