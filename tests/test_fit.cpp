// The training loop: history, monitors, early stopping, the schedule,
// divergence, and a short real-MNIST regression run.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>

#include "precision.hpp"
#include "require_data.hpp"
#include "temp_dir.hpp"
#include "xgrad/data/mnist.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/train/checkpointer.hpp"
#include "xgrad/train/fit.hpp"
#include "xgrad/train/progress.hpp"
#include "xgrad/train/report.hpp"

using namespace xg;

namespace {

// Two Gaussian blobs in 2-D, one-hot over 2 classes.
data::Dataset blobs(std::size_t n, std::uint64_t seed, double separation = 3.0) {
  Rng rng(seed);
  data::Dataset d;
  d.inputs = Array::from_shape({n, std::size_t(2)});
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t label = i % 2;
    d.labels.push_back(label);
    d.inputs(i, 0) = rng.normal(label ? separation : -separation, 1.0);
    d.inputs(i, 1) = rng.normal(0.0, 1.0);
  }
  d.targets = data::one_hot(d.labels, 2);
  return d;
}

// Labels that ignore the inputs: nothing can be learned, accuracy stalls.
data::Dataset noise(std::size_t n, std::uint64_t seed) {
  data::Dataset d = blobs(n, seed, 0.0);
  Rng rng(seed + 100);
  for (auto& l : d.labels) l = rng.below(2);
  d.targets = data::one_hot(d.labels, 2);
  return d;
}

struct Setup {
  Rng rng{5};
  std::shared_ptr<nn::Sequential> model = nn::mlp({2, 4, 2}, "sigmoid", rng);
  std::unique_ptr<Cost> cost = make_cost("cross-entropy");
};

}  // namespace

TEST_CASE("fit learns a separable problem and records every epoch", "[fit]") {
  Setup s;
  auto train = blobs(200, 1), eval = blobs(100, 2);
  optim::SGD sgd(s.model->parameters(), 0.5);
  train::FitOptions o;
  o.epochs = 5;
  o.batch_size = 10;
  o.evaluation = &eval;
  o.monitor_training_cost = o.monitor_training_accuracy = o.monitor_evaluation_cost = true;
  auto h = train::fit(*s.model, *s.cost, sgd, train, o);
  REQUIRE(h.epochs.size() == 5);
  CHECK(h.stop_reason == "completed");
  CHECK(*h.epochs.back().evaluation_correct >= 95);
  CHECK(*h.epochs.back().training_cost < *h.epochs.front().training_cost);
  CHECK(h.epochs.back().evaluation_size == 100);
  CHECK(h.best_epoch >= 1);
  CHECK_FALSE(s.model->is_training());
  const std::string csv = train::history_csv(h);
  CHECK_THAT(csv, Catch::StartsWith("epoch,learning_rate,seconds,training_cost"));
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 6);
}

TEST_CASE("fit with the same seed gives the same numbers", "[fit]") {
  auto train = blobs(100, 1);
  std::vector<Array> finals;
  for (int run = 0; run < 2; ++run) {
    Setup s;
    optim::SGD sgd(s.model->parameters(), 0.5);
    train::FitOptions o;
    o.epochs = 3;
    o.seed = 9;
    train::fit(*s.model, *s.cost, sgd, train, o);
    finals.push_back(s.model->parameters()[0].value());
  }
  CHECK((finals[0] == finals[1]));
}

TEST_CASE("early stopping ends a run with no improvement", "[fit]") {
  Setup s;
  auto train = noise(100, 1), eval = noise(50, 2);
  optim::SGD sgd(s.model->parameters(), 0.0);  // η = 0: the accuracy never changes
  train::FitOptions o;
  o.epochs = 50;
  o.evaluation = &eval;
  o.early_stop = 3;
  auto h = train::fit(*s.model, *s.cost, sgd, train, o);
  CHECK(h.epochs.size() == 4);  // epoch 1 sets the best, 3 more without improvement
  CHECK_THAT(h.stop_reason, Catch::Contains("no improvement in 3"));
}

TEST_CASE("the schedule halves η after N flat epochs and stops at η/128", "[fit]") {
  Setup s;
  auto train = noise(100, 1), eval = noise(50, 2);
  optim::SGD sgd(s.model->parameters(), 0.0);
  // η = 0 cannot be halved into a stop; use a tiny η whose effect on accuracy is nil.
  sgd.set_learning_rate(1e-12);
  train::FitOptions o;
  o.epochs = 100;
  o.evaluation = &eval;
  o.schedule = true;
  o.schedule_patience = 2;
  auto h = train::fit(*s.model, *s.cost, sgd, train, o);
  // Best at epoch 1, then halvings at epochs 3, 5, ..., 15 (7 halvings = 1/128).
  CHECK(h.epochs.size() == 15);
  CHECK(sgd.learning_rate() == Approx(1e-12 / 128));
  CHECK(h.epochs[2].learning_rate == Approx(1e-12));
  CHECK(h.epochs[3].learning_rate == Approx(0.5e-12));
  CHECK_THAT(h.stop_reason, Catch::Contains("schedule"));
}

TEST_CASE("a run resumed from a checkpoint stops and halves η where the uninterrupted one does",
          "[fit]") {
  auto train = noise(100, 1), eval = noise(50, 2);
  auto options = [&] {
    train::FitOptions o;
    o.epochs = 100;
    o.evaluation = &eval;
    o.schedule = true;
    o.schedule_patience = 2;
    o.early_stop = 50;
    o.seed = 8;
    return o;
  };
  auto fresh = [] {
    Rng rng(5);
    return nn::mlp({2, 4, 2}, "sigmoid", rng);
  };
  auto cost = make_cost("cross-entropy");

  // Uninterrupted: best at epoch 1, halvings at 3, 5, ..., stop at η/128 (epoch 15).
  auto whole = fresh();
  optim::SGD sgd(whole->parameters(), 1e-12);
  const auto h = train::fit(*whole, *cost, sgd, train, options());
  REQUIRE(h.epochs.size() == 15);

  // Interrupted after epoch 6 (two halvings done, one flat epoch counted),
  // then resumed in a "new process" from the checkpoint.
  xg_test::TempDir tmp;
  const std::string dir = tmp / "ckpt";
  auto first = fresh();
  optim::SGD sgd1(first->parameters(), 1e-12);
  train::FitOptions o1 = options();
  train::Checkpointer ck1(*first, sgd1, dir);
  o1.on_epoch_end = [&](const train::EpochRecord& r, const train::FitState&) {
    return r.epoch < 6;
  };
  ck1.attach(o1);
  const auto h1 = train::fit(*first, *cost, sgd1, train, o1);
  REQUIRE(h1.stop_reason == "interrupted");

  auto second = fresh();
  optim::SGD sgd2(second->parameters(), 1e-12);
  train::FitOptions o2 = options();
  train::Checkpointer ck2(*second, sgd2);
  const train::Resumed resumed = ck2.resume(dir, o2);
  REQUIRE(resumed.epoch == 6);
  REQUIRE(o2.resume_progress != nullptr);
  CHECK(o2.resume_progress->epochs_since_schedule == 1);
  CHECK(o2.resume_progress->best_epoch == 1);
  CHECK(o2.resume_progress->initial_learning_rate == 1e-12);
  CHECK(sgd2.learning_rate() == Approx(0.25e-12));
  CHECK(o2.first_epoch == 6);
  o2.epochs = 100 - resumed.epoch;
  const auto h2 = train::fit(*second, *cost, sgd2, train, o2);

  CHECK(h2.stop_reason == h.stop_reason);
  REQUIRE(h2.epochs.back().epoch == h.epochs.back().epoch);
  for (const auto& r : h2.epochs) CHECK(r.learning_rate == h.epochs[r.epoch - 1].learning_rate);
  CHECK(h2.best_epoch == h.best_epoch);
  CHECK(sgd2.learning_rate() == sgd.learning_rate());
  const auto a = whole->parameters(), b = second->parameters();
  for (std::size_t k = 0; k < a.size(); ++k) CHECK((a[k].value() == b[k].value()));
}

TEST_CASE("divergence stops with a clear error and restores the epoch's parameters", "[fit]") {
  Setup s;
  auto train = blobs(100, 1);
  s.model = nn::mlp({2, 4, 2}, "relu", s.rng, nn::Init::large, "identity");
  auto quadratic = make_cost("quadratic");
  optim::SGD sgd(s.model->parameters(), 1e6);
  const Array before = s.model->parameters()[0].value();
  train::FitOptions o;
  o.epochs = 3;
  CHECK_THROWS_AS(train::fit(*s.model, *quadratic, sgd, train, o), numeric_error);
  CHECK_THROWS_WITH(train::fit(*s.model, *quadratic, sgd, train, o),
                    Catch::Contains("diverged") && Catch::Contains("epoch 1"));
  CHECK((s.model->parameters()[0].value() == before));
}

TEST_CASE("fit validates its arguments", "[fit]") {
  Setup s;
  auto train = blobs(20, 1);
  optim::SGD sgd(s.model->parameters(), 0.1);
  train::FitOptions o;
  o.batch_size = 21;
  CHECK_THROWS_WITH(train::fit(*s.model, *s.cost, sgd, train, o), Catch::Contains("21"));
  o.batch_size = 0;
  CHECK_THROWS_AS(train::fit(*s.model, *s.cost, sgd, train, o), value_error);
  o.batch_size = 5;
  o.early_stop = 2;
  CHECK_THROWS_WITH(train::fit(*s.model, *s.cost, sgd, train, o),
                    Catch::Contains("evaluation set"));
  o.early_stop = 0;
  o.epochs = 0;
  CHECK_THROWS_AS(train::fit(*s.model, *s.cost, sgd, train, o), value_error);
  data::Dataset wrong = blobs(10, 3);
  wrong.inputs = xt::zeros<Scalar>({std::size_t(10), std::size_t(3)});
  o.epochs = 1;
  o.evaluation = &wrong;
  CHECK_THROWS_AS(train::fit(*s.model, *s.cost, sgd, train, o), shape_error);
}

TEST_CASE("progress prints one plain line per epoch off a terminal", "[fit]") {
  Setup s;
  auto train = blobs(40, 1), eval = blobs(20, 2);
  optim::SGD sgd(s.model->parameters(), 0.5);
  std::ostringstream out;
  train::Progress progress(out, /*live=*/false, "validation", 10);
  train::FitOptions o;
  o.epochs = 2;
  o.evaluation = &eval;
  o.monitor = &progress;
  train::fit(*s.model, *s.cost, sgd, train, o);
  const std::string text = out.str();
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
  CHECK(text.find('\r') == std::string::npos);
  CHECK_THAT(text, Catch::Contains("epoch 2/2  validation accuracy"));
}

TEST_CASE("write_history writes the csv and both plots", "[fit]") {
  Setup s;
  auto train = blobs(40, 1), eval = blobs(20, 2);
  optim::SGD sgd(s.model->parameters(), 0.5);
  train::FitOptions o;
  o.epochs = 3;
  o.evaluation = &eval;
  o.monitor_training_cost = o.monitor_training_accuracy = o.monitor_evaluation_cost = true;
  auto h = train::fit(*s.model, *s.cost, sgd, train, o);
  const auto dir = std::filesystem::temp_directory_path() / "xgrad-test-history";
  std::filesystem::remove_all(dir);
  train::write_history(dir.string(), h, "test");
  for (const char* f : {"history.csv", "cost.svg", "accuracy.svg"})
    CHECK(std::filesystem::file_size(dir / f) > 100);
  std::ifstream svg(dir / "accuracy.svg");
  std::string text((std::istreambuf_iterator<char>(svg)), {});
  CHECK_THAT(text, Catch::Contains("training") && Catch::Contains("test"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("byte-stored inputs train exactly like the same inputs in Scalars", "[fit]") {
  // 300 "images" of 16 bytes; the label is whether the first half is brighter.
  Rng data_rng(17);
  data::Dataset bytes;
  bytes.byte_inputs = {std::vector<std::uint8_t>(300 * 16), 300, 16, Scalar(255)};
  for (std::size_t i = 0; i < 300; ++i) {
    int first = 0, second = 0;
    for (std::size_t j = 0; j < 16; ++j) {
      const auto v = static_cast<std::uint8_t>(data_rng.below(256));
      bytes.byte_inputs.codes[i * 16 + j] = v;
      (j < 8 ? first : second) += v;
    }
    bytes.labels.push_back(first > second ? 1 : 0);
  }
  bytes.targets = data::one_hot(bytes.labels, 2);
  data::Dataset scalars = bytes;
  scalars.byte_inputs = {};
  scalars.inputs = bytes.input_rows(0, 300);

  auto run = [](const data::Dataset& d) {
    Rng init(3);
    auto model = nn::mlp({16, 8, 2}, "sigmoid", init);
    auto cost = make_cost("cross-entropy");
    optim::SGD sgd(model->parameters(), 0.5);
    train::FitOptions o;
    o.epochs = 3;
    o.batch_size = 10;
    o.seed = 4;
    o.evaluation = &d;
    o.monitor_training_accuracy = true;
    auto h = train::fit(*model, *cost, sgd, d, o);
    return std::make_tuple(h, model, train::predict(*model, d));
  };
  const auto [h_bytes, m_bytes, out_bytes] = run(bytes);
  const auto [h_scalars, m_scalars, out_scalars] = run(scalars);
  const auto p_bytes = m_bytes->parameters();
  const auto p_scalars = m_scalars->parameters();
  for (std::size_t k = 0; k < p_bytes.size(); ++k)
    CHECK((p_bytes[k].value() == p_scalars[k].value()));
  for (std::size_t e = 0; e < 3; ++e) {
    CHECK(*h_bytes.epochs[e].evaluation_correct == *h_scalars.epochs[e].evaluation_correct);
    CHECK(*h_bytes.epochs[e].training_correct == *h_scalars.epochs[e].training_correct);
  }
  CHECK((out_bytes == out_scalars));
  CHECK((out_scalars == train::predict(*m_scalars, scalars.inputs)));
  data::Dataset unlabelled = bytes;  // prediction needs no targets
  unlabelled.targets = Array();
  unlabelled.labels.clear();
  CHECK((train::predict(*m_bytes, unlabelled) == out_bytes));
  CHECK(*h_bytes.epochs.back().evaluation_correct > 200);  // it learned something
}

TEST_CASE("real MNIST: two epochs of the book's network reach 93%", "[fit][mnist]") {
  const std::string dir = xg_test::require_mnist();  // skipped, never passed, without it
  auto mnist = data::load_mnist(dir);
  Rng rng(0);
  auto model = nn::mlp({784, 30, 10}, "sigmoid", rng, nn::Init::default_);
  auto cost = make_cost("cross-entropy");
  optim::SGD sgd(model->parameters(), 0.5);
  train::FitOptions o;
  o.epochs = 2;
  o.evaluation = &mnist.validation;
  o.seed = 1;
  auto h = train::fit(*model, *cost, sgd, mnist.training, o);
  INFO("validation accuracy " << *h.epochs.back().evaluation_correct << "/10000");
  CHECK(*h.epochs.back().evaluation_correct >= 9300);
  CHECK(*h.epochs.back().evaluation_correct > *h.epochs.front().evaluation_correct - 100);
}

TEST_CASE("anomaly mode stopping fit also restores the epoch's parameters", "[fit]") {
  Setup s;
  auto train = blobs(100, 1);
  s.model = nn::mlp({2, 4, 2}, "relu", s.rng, nn::Init::large, "identity");
  auto quadratic = make_cost("quadratic");
  optim::SGD sgd(s.model->parameters(), 1e6);
  const Array before = s.model->parameters()[0].value();
  train::FitOptions o;
  o.epochs = 3;
  AnomalyGuard anomaly;
  CHECK_THROWS_WITH(train::fit(*s.model, *quadratic, sgd, train, o), Catch::Contains("anomaly"));
  CHECK((s.model->parameters()[0].value() == before));
}

TEST_CASE("accuracy monitors and early stopping need class labels", "[fit]") {
  Setup s;
  auto train = blobs(20, 1), eval = blobs(10, 2);
  train.labels.clear();
  optim::SGD sgd(s.model->parameters(), 0.1);
  train::FitOptions o;
  o.epochs = 1;
  o.monitor_training_accuracy = true;
  CHECK_THROWS_WITH(train::fit(*s.model, *s.cost, sgd, train, o), Catch::Contains("labels"));
  // Without labels on the evaluation set: its cost is monitored, its accuracy left empty.
  o.monitor_training_accuracy = false;
  eval.labels.clear();
  o.evaluation = &eval;
  o.monitor_evaluation_cost = true;
  auto h = train::fit(*s.model, *s.cost, sgd, train, o);
  CHECK(h.epochs[0].evaluation_cost.has_value());
  CHECK_FALSE(h.epochs[0].evaluation_correct.has_value());
  o.early_stop = 2;
  CHECK_THROWS_WITH(train::fit(*s.model, *s.cost, sgd, train, o), Catch::Contains("labels"));
}

TEST_CASE("Checkpointer saves and restores registered states, and refuses bad files",
          "[fit][checkpoint]") {
  auto train = noise(40, 1);
  xg_test::TempDir tmp;
  const std::string dir = tmp / "ck";
  Rng init(2);
  auto model = nn::mlp({2, 3, 2}, "sigmoid", init);
  optim::SGD sgd(model->parameters(), 0.1);
  std::string transform_state = "engine-A";
  train::Checkpointer ck(*model, sgd, dir);
  ck.add_state("transform", {[&] { return transform_state; },
                             [&](const std::string& t) { transform_state = t; }});
  CHECK_THROWS_AS(
      ck.add_state("transform", {[] { return std::string(); }, [](const std::string&) {}}),
      value_error);
  train::FitOptions o;
  o.epochs = 2;
  o.monitor_evaluation_accuracy = false;
  ck.attach(o);
  train::fit(*model, *make_cost("quadratic"), sgd, train, o);

  Rng init2(9);
  auto other = nn::mlp({2, 3, 2}, "sigmoid", init2);
  optim::SGD sgd2(other->parameters(), 0.1);
  std::string restored;
  train::Checkpointer ck2(*other, sgd2);
  ck2.add_state("transform",
                {[&] { return restored; }, [&](const std::string& t) { restored = t; }});
  train::FitOptions o2;
  CHECK(ck2.resume(dir, o2).epoch == 2);
  CHECK(restored == "engine-A");
  const auto a = model->parameters(), b = other->parameters();
  for (std::size_t k = 0; k < a.size(); ++k) CHECK((a[k].value() == b[k].value()));

  SECTION("a run that registers no such state refuses the checkpoint") {
    Rng r(1);
    auto m = nn::mlp({2, 3, 2}, "sigmoid", r);
    optim::SGD s3(m->parameters(), 0.1);
    train::Checkpointer plain(*m, s3);
    train::FitOptions o3;
    CHECK_THROWS_WITH(plain.resume(dir, o3), Catch::Contains("'transform' is not registered"));
  }
  SECTION("a wrong-typed field is an io_error naming the file and the field") {
    nlohmann::json j;
    std::ifstream(dir + "/checkpoint.json") >> j;
    j["progress"]["best_epoch"] = nlohmann::json::array();
    std::ofstream(dir + "/checkpoint.json") << j.dump();
    train::FitOptions o3;
    CHECK_THROWS_AS(ck2.resume(dir, o3), io_error);
    CHECK_THROWS_WITH(ck2.resume(dir, o3),
                      Catch::Contains("checkpoint.json") && Catch::Contains("best_epoch"));
    j["progress"]["best_epoch"] = 1;
    j["optimizer"] = nlohmann::json::array();
    std::ofstream(dir + "/checkpoint.json") << j.dump();
    CHECK_THROWS_WITH(ck2.resume(dir, o3),
                      Catch::Contains("checkpoint.json") && Catch::Contains("\"optimizer\""));
  }
}

TEST_CASE("the reported cost and the applied update share one Regularization", "[optim][fit]") {
  // A full-batch epoch of plain SGD moves w by −η·∇(the cost fit reports);
  // a listed tensor the optimizer does not update is in neither.
  Rng rng(3);
  auto model = nn::mlp({3, 4, 2}, "sigmoid", rng);
  const Tensor stranger = Tensor::ones({2, 2}).requires_grad_();
  std::vector<Tensor> listed = model->weights();
  listed.push_back(stranger);
  const double eta = 0.5;
  optim::SGD sgd(model->parameters(), eta, optim::Regularization{0.3, 0.2, 7, listed});
  CHECK(sgd.regularized_tensors().size() == model->weights().size());

  data::Dataset set;
  set.inputs = xt::linspace<Scalar>(-1, 1, 15).reshape({5, 3});
  set.targets = Array{{1, 0}, {0, 1}, {1, 0}, {0, 1}, {1, 0}};
  auto cost = make_cost("quadratic");

  // The reported cost, differentiated: data cost + the optimizer's term.
  const auto params = model->parameters();
  std::vector<Array> before;
  for (const auto& p : params) before.push_back(p.value());
  model->zero_grad();
  Tensor total = (*cost)((*model)(Tensor(set.inputs)), Tensor(set.targets)) +
                 l2_penalty(sgd.regularized_tensors(), 0.3, 7) +
                 l1_penalty(sgd.regularized_tensors(), 0.2, 7);
  const double data_cost = (*cost)((*model)(Tensor(set.inputs)), Tensor(set.targets)).item();
  total.backward();
  std::vector<Array> expected;
  for (const auto& p : params) expected.push_back(p.value() - eta * p.grad());
  CHECK(total.item() ==
        Approx(data_cost + sgd.regularization_penalty()).epsilon(xg_test::tol(1e-12)));
  const auto e = train::evaluate(*model, *cost, set, &sgd.regularization());
  CHECK(e.cost > data_cost + sgd.regularization_penalty());  // evaluate alone counts the stranger

  train::FitOptions o;
  o.epochs = 1;
  o.batch_size = 5;
  o.monitor_training_cost = true;
  o.monitor_evaluation_accuracy = false;
  model->zero_grad();
  const auto h = train::fit(*model, *cost, sgd, set, o);
  for (std::size_t k = 0; k < params.size(); ++k)
    CHECK(xt::allclose(params[k].value(), expected[k], xg_test::tol(1e-12), xg_test::tol(1e-12)));
  // After the step, fit's reported cost is the data cost plus the same term.
  const auto after = train::evaluate(*model, *cost, set);
  REQUIRE(h.epochs[0].training_cost);
  CHECK(*h.epochs[0].training_cost ==
        Approx(after.cost + sgd.regularization_penalty()).epsilon(xg_test::tol(1e-12)));
  CHECK(stranger.value() == Array(xt::ones<Scalar>({2, 2})));
}
