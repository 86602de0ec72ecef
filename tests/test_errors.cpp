// Robustness across the public API: bad input gets an xg::error subclass
// whose message names the operation, what it expected and what it got;
// numerics stay finite at ±1000; anomaly mode names the first op that made
// a NaN/Inf, forward and backward; a diverged run loses nothing. The per-topic
// test files check their own errors too: this file covers what they do not
// (every registry name, every optimizer, every cost, the I/O entry points)
// and holds the regression tests for what the fuzzers (fuzz/) found.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "xgrad/cost.hpp"
#include "xgrad/data/dataset.hpp"
#include "xgrad/data/idx.hpp"
#include "xgrad/data/mnist.hpp"
#include "xgrad/error.hpp"
#include "xgrad/io/checkpoint.hpp"
#include "xgrad/io/model.hpp"
#include "xgrad/io/npy.hpp"
#include "xgrad/limits.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/optim/sgd.hpp"
#include "xgrad/train/fit.hpp"

using namespace xg;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

/// Runs f, which must throw E (and not just any xg::error); returns the message.
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("threw the wrong type; message: " << e.what());
  }
  FAIL("did not throw");
  return "";
}

/// Every substring must appear in the message (reported one by one on failure).
void require_mentions(const std::string& message, const std::vector<std::string>& parts) {
  INFO("message: " << message);
  for (const auto& p : parts) CHECK_THAT(message, Contains(p));
}

bool all_finite(const Array& a) {
  for (Scalar v : a)
    if (!std::isfinite(v)) return false;
  return true;
}

/// A fresh directory under the system's temp dir, removed with its contents.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("xgrad-test-errors-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// Two classes in 2-D with labels, for the training-loop tests.
data::Dataset two_blobs(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  data::Dataset d;
  d.inputs = Array::from_shape({n, std::size_t(2)});
  for (std::size_t i = 0; i < n; ++i) {
    d.labels.push_back(i % 2);
    d.inputs(i, 0) = rng.normal(i % 2 ? 2.0 : -2.0, 1.0);
    d.inputs(i, 1) = rng.normal(0.0, 1.0);
  }
  d.targets = data::one_hot(d.labels, 2);
  return d;
}

std::vector<Array> values_of(const nn::Module& m) {
  std::vector<Array> out;
  for (const auto& p : m.parameters()) out.push_back(p.value());
  return out;
}

bool same_values(const std::vector<Array>& a, const std::vector<Array>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].shape() != b[i].shape() || !(a[i] == b[i])) return false;
  return true;
}

}  // namespace

// ================================================================ messages

TEST_CASE("every broadcasting op names itself and both shapes", "[errors]") {
  const Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  const std::vector<std::pair<std::string, std::function<Tensor()>>> ops = {
      {"add", [&] { return add(a, b); }},
      {"sub", [&] { return sub(a, b); }},
      {"mul", [&] { return mul(a, b); }},
      {"div", [&] { return div(a, b); }},
      {"pow", [&] { return pow(a, b); }},
      {"maximum", [&] { return maximum(a, b); }},
      {"minimum", [&] { return minimum(a, b); }},
      {"mask",
       [&] {
         return mask(a, Array::from_shape({4, 5}));
       }},
      {"where",
       [&] {
         return xg::where(xt::xarray<bool>::from_shape({4, 5}), a, a);
       }},
  };
  for (const auto& [name, op] : ops) {
    SECTION(name) {
      const std::string msg = message_of<shape_error>(op);
      require_mentions(msg, {name + ":", "(2, 3)", "(4, 5)", "broadcast"});
    }
  }
}

TEST_CASE("shape, axis and value errors of the other ops say what they expected", "[errors]") {
  const Tensor a = Tensor::zeros({2, 3});
  require_mentions(message_of<shape_error>([&] { matmul(Tensor::zeros({3}), a); }),
                   {"matmul", "(3,)", "rank 1", "expected rank 2"});
  require_mentions(message_of<shape_error>([&] { transpose(Tensor::zeros({3})); }),
                   {"transpose", "(3,)", "expected rank 2"});
  require_mentions(message_of<shape_error>([&] { sum(a, 5); }), {"sum", "axis 5", "rank 2"});
  require_mentions(message_of<shape_error>([&] { max(a, -3); }), {"max", "axis -3", "rank 2"});
  require_mentions(message_of<shape_error>([&] { argmax(a, 4); }), {"argmax", "axis 4"});
  require_mentions(message_of<shape_error>([&] {
                     max(Tensor::zeros({0, 3}), 0);
                   }),
                   {"max", "(0, 3)", "empty"});
  require_mentions(message_of<shape_error>([&] {
                     concat({a, a}, 3);
                   }),
                   {"concat", "axis 3", "rank 2"});
  require_mentions(message_of<shape_error>([&] { reshape(a, {7}); }),
                   {"reshape", "(2, 3)", "6 elements", "(7,)", "7 elements"});
  require_mentions(message_of<shape_error>([&] { slice_rows(a, 1, 5); }),
                   {"slice_rows", "[1, 5)", "(2, 3)"});
  require_mentions(message_of<shape_error>([&] {
                     gather_rows(a, {0, 2});
                   }),
                   {"gather_rows", "index 2", "(2, 3)"});
  require_mentions(message_of<value_error>([&] { concat({}); }), {"concat", "at least one"});
  require_mentions(message_of<value_error>([&] { a / 0.0; }), {"div", "0"});
  require_mentions(message_of<shape_error>([&] { a.item(); }),
                   {"item", "(2, 3)", "6 elements", "exactly 1"});
  require_mentions(message_of<value_error>([&] { exp(Tensor()); }), {"undefined"});
}

TEST_CASE("layers: a Linear inside a network names itself, its width and the input", "[errors]") {
  Rng rng(1);
  auto net = nn::mlp({3, 4, 2}, "sigmoid", rng);
  require_mentions(message_of<shape_error>([&] {
                     (*net)(Tensor::zeros({5, 7}));
                   }),
                   {"Linear(3, 4)", "(5, 7)", "expected (m, 3)"});
  // A 3-D batch is not silently flattened.
  require_mentions(message_of<shape_error>([&] {
                     (*net)(Tensor::zeros({2, 2, 3}));
                   }),
                   {"Linear(3, 4)", "(2, 2, 3)"});
  require_mentions(message_of<value_error>([&] { nn::Linear(0, 0, rng); }),
                   {"Linear(0, 0)", "positive"});
  require_mentions(message_of<value_error>([&] {
                     nn::mlp({3, 4, 0}, "relu", rng);
                   }),
                   {"mlp", "size 2 is 0"});
  require_mentions(message_of<value_error>([&] { nn::Dropout(-0.5); }),
                   {"Dropout", "-0.5", "[0, 1)"});
}

TEST_CASE("unknown names list every known name", "[errors]") {
  auto require_lists = [](const std::string& msg, const std::string& bad,
                          const std::vector<std::string>& known) {
    INFO("message: " << msg);
    CHECK_THAT(msg, Contains("'" + bad + "'"));
    REQUIRE_FALSE(known.empty());
    for (const auto& k : known) CHECK_THAT(msg, Contains(k));
  };
  require_lists(message_of<value_error>([] { nn::make_activation("sigmod"); }), "sigmod",
                nn::activation_names());
  require_lists(message_of<value_error>([] { make_cost("hinge"); }), "hinge", cost_names());
  require_lists(message_of<value_error>([] { nn::parse_init("gaussian"); }), "gaussian",
                nn::init_names());
  Tensor w = Tensor::zeros({2}, true);
  require_lists(message_of<value_error>([&] { optim::make_optimizer("adamw", {w}, 0.1); }), "adamw",
                optim::optimizer_names());
  // Names in model files are exact: no case folding.
  CHECK_THROWS_AS(nn::make_activation("Sigmoid"), value_error);
  CHECK_THROWS_AS(make_cost("Quadratic"), value_error);
  CHECK_THROWS_AS(nn::parse_init(""), value_error);
}

TEST_CASE("every cost, by name, rejects mismatched shapes and an empty batch", "[errors]") {
  for (const auto& name : cost_names()) {
    SECTION(name) {
      const auto cost = make_cost(name);
      // "<function>: ..." then both shapes.
      const std::string mismatch = message_of<shape_error>([&] {
        (*cost)(Tensor::zeros({2, 3}), Tensor::zeros({2, 4}));
      });
      CHECK_THAT(mismatch, Catch::Matches("[a-z_]+: .*"));
      require_mentions(mismatch, {"(2, 3)", "(2, 4)", "must be equal"});
      const std::string empty = message_of<value_error>([&] {
        (*cost)(Tensor::zeros({0, 3}), Tensor::zeros({0, 3}));
      });
      CHECK_THAT(empty, Catch::Matches("[a-z_]+: .*"));
      require_mentions(empty, {"empty batch", "(0, 3)"});
    }
  }
  require_mentions(message_of<value_error>([] {
                     nll_from_logits(Tensor::zeros({2, 3}), std::vector<std::size_t>{0, 7});
                   }),
                   {"nll_from_logits", "index 1", "7", "3 classes"});
  require_mentions(message_of<shape_error>([] {
                     nll_from_logits(Tensor::zeros({2, 3}), std::vector<std::size_t>{0});
                   }),
                   {"nll_from_logits", "1 labels", "(2, 3)"});
}

TEST_CASE("every optimizer rejects a negative, NaN or infinite learning rate", "[errors]") {
  for (const auto& name : optim::optimizer_names()) {
    SECTION(name) {
      const double mu = (name == "momentum" || name == "nesterov") ? 0.5 : 0.0;
      for (double lr : {-0.1, kNaN, kInf}) {
        Tensor w = Tensor::zeros({2}, true);
        const std::string msg =
            message_of<value_error>([&] { optim::make_optimizer(name, {w}, lr, mu); });
        require_mentions(msg, {"learning rate", "finite and >= 0"});
      }
      Tensor w = Tensor::zeros({2}, true);
      auto opt = optim::make_optimizer(name, {w}, 0.1, mu);
      require_mentions(message_of<value_error>([&] { opt->set_learning_rate(kNaN); }),
                       {name, "set_learning_rate", "nan"});
      CHECK(opt->learning_rate() == 0.1);  // a refused rate changes nothing
    }
  }
}

TEST_CASE("momentum must be at least 0 and below 1: 1, above 1 and NaN are refused", "[errors]") {
  for (const std::string name : {"momentum", "nesterov"}) {
    for (double mu : {1.0, 1.5, kNaN, -kInf}) {
      Tensor w = Tensor::zeros({2}, true);
      const std::string msg =
          message_of<value_error>([&] { optim::make_optimizer(name, {w}, 0.1, mu); });
      require_mentions(msg, {"momentum", "[0, 1)"});
    }
  }
}

TEST_CASE("data: batch sizes, labels and slices are checked with their numbers", "[errors]") {
  data::Dataset d;
  d.inputs = xt::zeros<Scalar>({std::size_t(10), std::size_t(3)});
  d.targets = xt::zeros<Scalar>({std::size_t(10), std::size_t(2)});
  require_mentions(message_of<value_error>([&] { data::Batches(d, 0); }),
                   {"Batches", "batch size 0", "10"});
  require_mentions(message_of<value_error>([&] { data::Batches(d, 11); }),
                   {"Batches", "batch size 11", "10"});
  require_mentions(message_of<value_error>([] {
                     data::one_hot({0, 1, 10}, 10);
                   }),
                   {"one_hot", "index 2", "10"});
  require_mentions(message_of<value_error>([&] { d.slice(4, 12); }), {"slice", "12", "10"});
  data::Dataset ragged = d;
  ragged.labels = {0, 1};
  require_mentions(message_of<shape_error>([&] { ragged.check(); }), {"2 labels", "10"});
}

TEST_CASE("fit refuses bad options before training anything", "[errors]") {
  Rng rng(3);
  auto model = nn::mlp({2, 3, 2}, "sigmoid", rng);
  const auto cost = make_cost("cross-entropy");
  optim::SGD sgd(model->parameters(), 0.5);
  const auto train = two_blobs(20, 1), eval = two_blobs(10, 2);
  const auto before = values_of(*model);

  train::FitOptions o;
  o.epochs = 2;
  o.batch_size = 5;
  o.evaluation = &eval;
  SECTION("evaluation batch size 0") {
    o.eval_batch_size = 0;
    require_mentions(message_of<value_error>([&] { train::fit(*model, *cost, sgd, train, o); }),
                     {"fit", "eval_batch_size", "0"});
  }
  SECTION("a schedule floor outside (0, 1)") {
    o.schedule = true;
    for (double floor : {0.0, 1.0, 2.0, kNaN}) {
      o.schedule_floor = floor;
      require_mentions(message_of<value_error>([&] { train::fit(*model, *cost, sgd, train, o); }),
                       {"fit", "schedule", "(0, 1)"});
    }
  }
  SECTION("a NaN or infinity in the data") {
    auto bad_train = train;
    bad_train.inputs(7, 1) = kNaN;
    require_mentions(
        message_of<numeric_error>([&] { train::fit(*model, *cost, sgd, bad_train, o); }),
        {"fit: training set", "input of sample 7, column 1", "nan"});
    auto bad_eval = eval;
    bad_eval.targets(3, 0) = kInf;
    o.evaluation = &bad_eval;
    require_mentions(message_of<numeric_error>([&] { train::fit(*model, *cost, sgd, train, o); }),
                     {"fit: evaluation set", "target of sample 3, column 0", "inf"});
  }
  SECTION("schedule patience 0") {
    o.schedule = true;
    o.schedule_patience = 0;
    require_mentions(message_of<value_error>([&] { train::fit(*model, *cost, sgd, train, o); }),
                     {"fit", "patience"});
  }
  SECTION("evaluation cost without an evaluation set") {
    o.evaluation = nullptr;
    o.monitor_evaluation_cost = true;
    require_mentions(message_of<value_error>([&] { train::fit(*model, *cost, sgd, train, o); }),
                     {"fit", "evaluation set"});
  }
  SECTION("a training set the model cannot read") {
    data::Dataset wide = train;
    wide.inputs = xt::zeros<Scalar>({std::size_t(20), std::size_t(5)});
    o.evaluation = nullptr;
    require_mentions(message_of<shape_error>([&] { train::fit(*model, *cost, sgd, wide, o); }),
                     {"Linear(2, 3)", "expected (m, 2)"});
  }
  // Whatever was refused, the model is as it was.
  CHECK(same_values(before, values_of(*model)));
}

TEST_CASE("io: every reader names the missing file or directory", "[errors]") {
  TempDir tmp;
  const std::string nowhere = tmp / "does-not-exist";
  require_mentions(message_of<io_error>([&] { data::read_idx(nowhere); }),
                   {"idx", nowhere, "cannot open"});
  require_mentions(message_of<io_error>([&] { data::read_idx(tmp.path.string()); }),
                   {"is a directory"});
  require_mentions(message_of<io_error>([&] { data::load_mnist(nowhere); }),
                   {nowhere, "scripts/fetch-mnist"});
  require_mentions(message_of<io_error>([&] { io::load_npy(nowhere + ".npy"); }),
                   {nowhere + ".npy", "no such file"});
  require_mentions(message_of<io_error>([&] { io::load_model(nowhere); }),
                   {nowhere, "does not exist"});
  // An existing directory that is not a model says what is missing in it.
  require_mentions(message_of<io_error>([&] { io::load_model(tmp.path.string()); }),
                   {"model.json", "missing"});

  Rng rng(2);
  auto model = nn::mlp({2, 3, 2}, "sigmoid", rng);
  optim::SGD sgd(model->parameters(), 0.1);
  require_mentions(message_of<io_error>([&] { io::load_parameters(*model, nowhere); }), {nowhere});
  require_mentions(message_of<io_error>([&] { io::load_checkpoint(nowhere, *model, sgd); }),
                   {"checkpoint", nowhere});

  // A saved model missing one parameter file: the message names that file.
  const std::string dir = tmp / "model";
  io::save_model(dir, *model);
  fs::remove(fs::path(dir) / "2.bias.npy");
  require_mentions(message_of<io_error>([&] { io::load_model(dir); }),
                   {"2.bias.npy", "missing", "'2.bias'"});
  // An empty .npy file and an empty manifest are io_errors, not crashes.
  write_bytes(tmp / "empty.npy", "");
  require_mentions(message_of<io_error>([&] { io::load_npy(tmp / "empty.npy"); }),
                   {"empty.npy", "too short"});
  io::save_model(dir, *model);
  write_bytes((fs::path(dir) / "model.json").string(), "");
  require_mentions(message_of<io_error>([&] { io::load_model(dir); }),
                   {"model.json", "malformed JSON"});
}

// ================================================================ numerics

TEST_CASE("every built-in activation is finite at ±1000, value and gradient", "[errors]") {
  const Array z = {{-1000.0, -1.0, 0.0, 1000.0}, {1000.0, 1000.0, -1000.0, 999.0}};
  // By registry name, as a model file or the CLI builds them. (Other tests
  // register their own toy activations, which promise nothing at ±1000.)
  for (const std::string name :
       {"identity", "log_softmax", "relu", "sigmoid", "softmax", "softplus", "tanh"}) {
    SECTION(name) {
      auto act = nn::make_activation(name);
      Tensor x(z, true);
      Tensor y = (*act)(x);
      CHECK(all_finite(y.value()));
      // Weights that do not sum to zero per row, so softmax's gradient is not trivially 0.
      sum(y * Tensor(Array{{1.0, -2.0, 3.0, 0.5}, {0.25, 2.0, -1.0, 1.0}})).backward();
      CHECK(all_finite(x.grad()));
    }
  }
}

TEST_CASE("every cost is finite at logits ±1000 and at saturated outputs", "[errors]") {
  // The targets disagree with the logits, the worst case for every cost.
  const Array z = {{1000.0, -1000.0, 0.0}, {-1000.0, 1000.0, 999.0}};
  const Array y = {{0.0, 1.0, 0.0}, {1.0, 0.0, 0.0}};
  // Through the output layers that give each cost valid inputs (probabilities
  // for all; any real number for quadratic and mae), then on a plain leaf
  // saturated at exactly 0 and 1 (no graph, so no logits path).
  for (const auto& name : cost_names()) {
    std::vector<std::string> outputs = {"sigmoid", "softmax"};
    if (name == "quadratic" || name == "mae") outputs.push_back("identity");
    for (const auto& out : outputs) {
      SECTION(name + " after " + out) {
        const auto cost = make_cost(name);
        Tensor x(z, true);
        Tensor c = (*cost)((*nn::make_activation(out))(x), Tensor(y));
        INFO(name << " after " << out << " = " << c.item());
        CHECK(std::isfinite(c.item()));
        c.backward();
        CHECK(all_finite(x.grad()));
      }
    }
    SECTION(name + " on outputs exactly 0 and 1") {
      const auto cost = make_cost(name);
      Tensor a(Array{{1.0, 0.0, 0.0}, {0.0, 1.0, 1.0}}, true);
      Tensor c = (*cost)(a, Tensor(y));
      CHECK(std::isfinite(c.item()));
      c.backward();
      CHECK(all_finite(a.grad()));
    }
  }
  SECTION("the logits forms and integer labels") {
    for (int which = 0; which < 3; ++which) {
      Tensor x(z, true);
      Tensor c = which == 0   ? binary_cross_entropy_with_logits(x, Tensor(y))
                 : which == 1 ? nll_from_logits(x, Tensor(y))
                              : nll_from_logits(x, std::vector<std::size_t>{0, 2});
      CHECK(std::isfinite(c.item()));
      c.backward();
      CHECK(all_finite(x.grad()));
    }
  }
}

// ================================================================ anomaly mode

TEST_CASE("anomaly mode names the FIRST op whose value is NaN or Inf", "[errors]") {
  Tensor x(Array{1.0, 2.0}, true);
  SECTION("log of a negative number, later ops not blamed") {
    xg::detect_anomaly guard;
    const std::string msg = message_of<numeric_error>([&] { exp(log(x - 3.0) * 2.0); });
    require_mentions(msg, {"anomaly", "'log'", "value", "shape (2,)"});
    CHECK_THAT(msg, !Contains("'exp'") && !Contains("'mul"));
  }
  SECTION("division by zero is an infinity") {
    AnomalyGuard guard;
    require_mentions(message_of<numeric_error>([&] { log(x / (x - 1.0)); }),
                     {"'div'", "inf", "flat index 0"});
  }
  SECTION("overflow of exp") {
    AnomalyGuard guard;
    require_mentions(message_of<numeric_error>([&] { exp(x * 1000.0); }), {"'exp'", "inf"});
  }
  SECTION("off outside the guard, and a nested guard can switch it off") {
    {
      AnomalyGuard on;
      CHECK(anomaly_enabled());
      AnomalyGuard off(false);
      CHECK_FALSE(anomaly_enabled());
      CHECK_NOTHROW(log(x - 3.0));
    }
    CHECK_FALSE(anomaly_enabled());
    CHECK(std::isnan(log(x - 3.0).value()(0)));  // NaN propagates silently without the guard
  }
}

TEST_CASE("anomaly mode names the op whose BACKWARD makes a NaN or Inf", "[errors]") {
  SECTION("sqrt at 0: a finite value, an infinite gradient") {
    Tensor x(Array{0.0, 4.0}, true);
    AnomalyGuard guard;
    Tensor loss = sum(sqrt(x) * 3.0);  // every forward value is finite
    require_mentions(message_of<numeric_error>([&] { loss.backward(); }),
                     {"anomaly", "'sqrt'", "gradient", "inf"});
  }
  SECTION("a user op with a broken backward") {
    Tensor x(Array{1.0, 2.0}, true);
    auto broken = [](const Tensor& t) {
      return record("broken_backward", Array(t.value() * 2.0), {t}, [](BackwardContext& c) {
        c.add(0, Array(c.gy() * std::numeric_limits<Scalar>::quiet_NaN()));
      });
    };
    AnomalyGuard guard;
    Tensor loss = sum(broken(x) + 1.0);
    require_mentions(message_of<numeric_error>([&] { loss.backward(); }),
                     {"'broken_backward'", "gradient", "nan"});
  }
  SECTION("without the guard the same backward just yields the Inf") {
    Tensor x(Array{0.0, 4.0}, true);
    sum(sqrt(x)).backward();
    CHECK(std::isinf(x.grad()(0)));
  }
}

// ================================================================ divergence

TEST_CASE("a run diverging in epoch 2 keeps epoch 1's parameters and checkpoint", "[errors][fit]") {
  Rng rng(4);
  auto model = nn::mlp({2, 4, 2}, "relu", rng, nn::Init::large, "identity");
  const auto cost = make_cost("quadratic");
  optim::SGD sgd(model->parameters(), 0.01);
  const auto train = two_blobs(100, 3);
  TempDir tmp;
  const std::string ck_dir = tmp / "checkpoint";

  std::vector<Array> after_epoch1;
  train::FitOptions o;
  o.epochs = 3;
  o.batch_size = 10;
  o.on_epoch_end = [&](const train::EpochRecord& r, const train::FitState& st) {
    io::Checkpoint ck;
    ck.epoch = r.epoch;
    ck.rng_state = st.rng.state();
    ck.order = st.order;
    ck.learning_rate = sgd.learning_rate();
    io::save_checkpoint(ck_dir, *model, sgd, ck);
    after_epoch1 = values_of(*model);
    sgd.set_learning_rate(1e6);  // epoch 2 blows up
    return true;
  };
  const std::string msg =
      message_of<numeric_error>([&] { train::fit(*model, *cost, sgd, train, o); });
  require_mentions(msg, {"diverged", "epoch 2", "quadratic", "learning rate 1e+06", "restored"});
  REQUIRE(all_finite(model->parameters()[0].value()));
  CHECK(same_values(after_epoch1, values_of(*model)));

  // The checkpoint written after epoch 1 is intact and holds the same numbers.
  Rng other(99);
  auto fresh = nn::mlp({2, 4, 2}, "relu", other, nn::Init::large, "identity");
  optim::SGD fresh_sgd(fresh->parameters(), 0.5);
  const io::Checkpoint ck = io::load_checkpoint(ck_dir, *fresh, fresh_sgd);
  CHECK(ck.epoch == 1);
  CHECK(fresh_sgd.learning_rate() == 0.01);
  CHECK(same_values(after_epoch1, values_of(*fresh)));
}

// ================================================================ fuzzer findings
// Inputs found by fuzz/ (scripts/fuzz) that once crashed, kept as regressions.

TEST_CASE("a deeply nested manifest is an io_error, not a stack overflow", "[errors][fuzz]") {
  // nlohmann::json parses iteratively but serialises recursively, and the
  // loaders quote bad values back (dump()): 100,000 levels blew the stack.
  TempDir tmp;
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  Rng rng(5);
  auto model = nn::mlp({2, 2}, "sigmoid", rng);
  optim::SGD sgd(model->parameters(), 0.1);

  const std::string model_dir = tmp / "model";
  io::save_model(model_dir, *model);
  write_bytes((fs::path(model_dir) / "model.json").string(), "{\"format\": " + deep + "}");
  require_mentions(message_of<io_error>([&] { io::load_model(model_dir); }),
                   {"model.json", "nested deeper than"});

  const std::string ck_dir = tmp / "checkpoint";
  io::Checkpoint ck;
  ck.learning_rate = 0.1;
  io::save_checkpoint(ck_dir, *model, sgd, ck);
  write_bytes((fs::path(ck_dir) / io::kCheckpointManifest).string(),
              "{\"format\": \"xgrad-checkpoint\", \"version\": " + deep + "}");
  require_mentions(message_of<io_error>([&] { io::load_checkpoint(ck_dir, *model, sgd); }),
                   {"checkpoint.json", "nested deeper than"});

  // Real manifests are far shallower than the limit: 32 nested Sequentials load.
  auto inner = std::make_shared<nn::Sequential>();
  inner->add(std::make_shared<nn::Linear>(2, 2, rng));
  for (int i = 0; i < 31; ++i) {
    auto outer = std::make_shared<nn::Sequential>();
    outer->add(inner);
    inner = outer;
  }
  io::save_model(tmp / "nested", *inner);
  CHECK(io::load_model(tmp / "nested").model->num_parameters() == 6);
}

TEST_CASE("an empty .npy array whose other dimensions overflow is refused", "[errors][fuzz]") {
  // fuzz_npy: shape (0, 2^62, ...) has no elements, yet xtensor computed its
  // strides in signed 64-bit arithmetic and overflowed (undefined behaviour).
  auto npy = [](const std::string& shape) {
    std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY\x01";
    out += '\0';
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    return out + header;
  };
  for (const std::string shape : {"(0, 4611686018427387904, 4611686018402738, 19420)",
                                  "(4611686018427387904, 0, 4)", "(2, 4611686018427387904, 0)"}) {
    INFO("shape " << shape);
    require_mentions(message_of<io_error>([&] { io::decode_npy(npy(shape), "fuzz"); }),
                     {"fuzz", "empty", "2^63"});
  }
  // Large but representable empty arrays are still fine.
  CHECK(io::decode_npy(npy("(0, 4611686018427387904)"), "ok").size() == 0);
  CHECK(io::decode_npy(npy("(3, 0, 1000000)"), "ok").shape() == Array::shape_type{3, 0, 1000000});
}

TEST_CASE("sizes beyond the machine's memory are refused with the bytes they need",
          "[errors][limits]") {
  CHECK(xg::physical_memory_bytes() > 0);
  CHECK_NOTHROW(xg::check_allocation("small", 1000));
  CHECK_THROWS_WITH(xg::check_allocation("big", 1000, 8, 4096), Catch::Contains("big") &&
                                                                    Catch::Contains("7.8 KiB") &&
                                                                    Catch::Contains("4.0 KiB"));
  CHECK_THROWS_AS(xg::check_allocation("wraps", SIZE_MAX / 2, 8), xg::resource_error);
  CHECK_THROWS_WITH(xg::checked_elements("Tensor::zeros", {SIZE_MAX / 2, 3}),
                    Catch::Contains("more elements than a size_t can count"));
  CHECK(xg::checked_elements("empty", {SIZE_MAX, 0}) == 0);
  CHECK(xg::format_bytes(1536.0 * 1024 * 1024) == "1.5 GiB");
  // Where layers and tensors are made: an error, not std::bad_alloc.
  xg::Rng rng(1);
  CHECK_THROWS_WITH(xg::nn::Linear(784, 4000000000, rng),
                    Catch::Contains("Linear(784, 4000000000)") && Catch::Contains("would need"));
  CHECK_THROWS_AS(xg::nn::mlp({784, 4000000000, 10}, "sigmoid", rng), xg::resource_error);
  CHECK_THROWS_AS(xg::Tensor::zeros({SIZE_MAX / 4, 4, 4}), xg::resource_error);
  CHECK_THROWS_AS(xg::Tensor::ones({1u << 31, 1u << 31}), xg::resource_error);
  CHECK_THROWS_AS(xg::Tensor::full({1u << 31, 1u << 31}, 1.0), xg::resource_error);
}
