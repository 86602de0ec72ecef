// HealthCheck: a run that goes bad without a NaN (cost up by orders of
// magnitude, accuracy at chance) is warned about, once per kind; a healthy
// run is not (issue 17, kind 5).
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>

#include "xgrad/cost.hpp"
#include "xgrad/data/dataset.hpp"
#include "xgrad/error.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/optim/sgd.hpp"
#include "xgrad/train/health.hpp"

using namespace xg;
using train::EpochRecord;
using train::HealthCheck;

namespace {

EpochRecord epoch(std::size_t n, std::optional<std::size_t> eval_correct, std::size_t eval_size,
                  double eta = 0.5) {
  EpochRecord r;
  r.epoch = n;
  r.learning_rate = eta;
  r.evaluation_correct = eval_correct;
  r.evaluation_size = eval_size;
  return r;
}

// Four Gaussian blobs in 2-D, one per class, far apart: easy to learn.
data::Dataset blobs4(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  data::Dataset d;
  d.inputs = Array::from_shape({n, std::size_t(2)});
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t label = i % 4;
    d.labels.push_back(label);
    d.inputs(i, 0) = rng.normal(label % 2 ? 3.0 : -3.0, 0.7);
    d.inputs(i, 1) = rng.normal(label / 2 ? 3.0 : -3.0, 0.7);
  }
  d.targets = data::one_hot(d.labels, 4);
  return d;
}

}  // namespace

TEST_CASE("HealthCheck: a learning run raises nothing", "[health]") {
  HealthCheck h(10);
  for (std::size_t e = 1; e <= 5; ++e) {
    for (int b = 0; b < 100; ++b) h.on_batch(2.5 / static_cast<double>(e + b / 50));
    CHECK(h.on_epoch_end(epoch(e, 9000 + e, 10000)).empty());
  }
  CHECK(h.warnings().empty());
}

TEST_CASE("HealthCheck: a cost up by orders of magnitude is warned about once", "[health]") {
  HealthCheck h(10);
  h.on_batch(2.3);
  for (int b = 0; b < 99; ++b) h.on_batch(50.0);
  CHECK(h.on_epoch_end(epoch(1, 9000, 10000)).empty());  // 22x: not yet
  for (int b = 0; b < 100; ++b) h.on_batch(400.0);
  const auto w = h.on_epoch_end(epoch(2, 9000, 10000, 300.0));
  REQUIRE(w.size() == 1);
  CHECK_THAT(w[0], Catch::Contains("epoch 2") && Catch::Contains("174 times") &&
                       Catch::Contains("learning rate 300"));
  for (int b = 0; b < 100; ++b) h.on_batch(1e6);
  CHECK(h.on_epoch_end(epoch(3, 9000, 10000)).empty());  // said once
  CHECK(h.warnings().size() == 1);
}

TEST_CASE("HealthCheck: accuracy at chance is warned about, evaluation first", "[health]") {
  HealthCheck h(10);
  h.on_batch(0.5);
  CHECK(h.on_epoch_end(epoch(1, 1451, 10000)).empty());  // just above 14.5%
  const auto w = h.on_epoch_end(epoch(2, 1135, 10000, 100000.0));
  REQUIRE(w.size() == 1);
  CHECK_THAT(w[0], Catch::Contains("evaluation accuracy 11.3%") &&
                       Catch::Contains("(1135/10000)") && Catch::Contains("10 classes (10%)") &&
                       Catch::Contains("learning rate 100000 "));
  CHECK(h.on_epoch_end(epoch(3, 1000, 10000)).empty());

  HealthCheck t(2);  // no evaluation: the training accuracy
  EpochRecord r = epoch(1, std::nullopt, 0);
  r.training_correct = 52;
  r.training_size = 100;
  const auto wt = t.on_epoch_end(r);
  REQUIRE(wt.size() == 1);
  CHECK_THAT(wt[0], Catch::Contains("training accuracy 52%"));
  HealthCheck none(10);  // nothing monitored: nothing to say
  CHECK(none.on_epoch_end(epoch(1, std::nullopt, 0)).empty());
}

TEST_CASE("HealthCheck refuses settings that cannot work", "[health][errors]") {
  CHECK_THROWS_AS(HealthCheck(1), value_error);
  CHECK_THROWS_AS(HealthCheck(10, {1.0, 0.05}), value_error);
  CHECK_THROWS_AS(HealthCheck(10, {NAN, 0.05}), value_error);
  CHECK_THROWS_AS(HealthCheck(10, {100.0, 1.0}), value_error);
}

TEST_CASE("HealthMonitor in fit: an absurd learning rate is warned about, a good one not",
          "[health][fit]") {
  const data::Dataset training = blobs4(400, 1), evaluation = blobs4(200, 2);
  auto run = [&](double eta, std::ostream& out) {
    Rng rng(3);
    auto model = nn::mlp({2, 8, 4}, "sigmoid", rng);
    auto cost = make_cost("cross-entropy");
    optim::SGD sgd(model->parameters(), eta);
    train::HealthMonitor health(4, out);
    train::FitOptions opt;
    opt.epochs = 5;
    opt.batch_size = 10;
    opt.evaluation = &evaluation;
    opt.monitor = &health;
    auto h = train::fit(*model, *cost, sgd, training, opt);
    return std::make_pair(health.warnings(), h);
  };
  std::ostringstream good_out, bad_out;
  const auto [good, good_history] = run(0.5, good_out);
  CHECK(good.empty());
  CHECK(good_out.str().empty());
  CHECK(*good_history.epochs.back().evaluation_correct > 190);
  const auto [bad, bad_history] = run(1e5, bad_out);
  CHECK_FALSE(bad.empty());
  CHECK_THAT(bad_out.str(), Catch::StartsWith("warning: epoch "));
}
