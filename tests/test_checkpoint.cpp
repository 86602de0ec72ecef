// Checkpoints: a resumed run continues bit for bit like the uninterrupted one
// (parameters, optimizer state, dropout masks, shuffling engine); failed
// loads change nothing; saves are atomic.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "compare.hpp"
#include "temp_dir.hpp"
#include "util/file.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/error.hpp"
#include "xgrad/io/checkpoint.hpp"
#include "xgrad/io/model.hpp"
#include "xgrad/io/npy.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/random.hpp"

using namespace xg;
using Catch::Contains;
namespace fs = std::filesystem;

using xg_test::same_bits;

namespace {

using xg_test::TempDir;

bool same_arrays(const std::vector<Array>& a, const std::vector<Array>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!same_bits(a[i], b[i])) return false;
  return true;
}

std::vector<Array> values_of(const nn::Module& m) {
  std::vector<Array> out;
  for (const Tensor& p : m.parameters()) out.push_back(p.value());
  return out;
}

/// 6 -> 5 (tanh) -> dropout -> 3 (softmax): a network whose training uses a
/// dropout engine as well as the optimizer's state.
std::shared_ptr<nn::Sequential> net(std::uint64_t seed) {
  Rng rng(seed);
  auto n = std::make_shared<nn::Sequential>();
  n->add(std::make_shared<nn::Linear>(6, 5, rng))
      .add(std::make_shared<nn::Tanh>())
      .add(std::make_shared<nn::Dropout>(0.3, rng))
      .add(std::make_shared<nn::Linear>(5, 3, rng))
      .add(std::make_shared<nn::Softmax>());
  return n;
}

struct Data {
  Array x;
  std::vector<std::size_t> labels;
};

Data make_data() {
  Rng rng(99);
  Data d{rng.normal_array({20, 6}), {}};
  for (std::size_t i = 0; i < 20; ++i) d.labels.push_back(rng.below(3));
  return d;
}

/// One epoch of mini-batch training in the order drawn from `shuffle`.
std::vector<std::size_t> train_epoch(nn::Module& model, optim::Optimizer& opt, Rng& shuffle,
                                     const Data& d) {
  model.train();
  std::vector<std::size_t> order(d.labels.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  shuffle.shuffle(order.begin(), order.end());
  for (std::size_t start = 0; start < order.size(); start += 5) {
    Array xb = Array::from_shape({5, 6});
    std::vector<std::size_t> yb;
    for (std::size_t r = 0; r < 5; ++r) {
      for (std::size_t c = 0; c < 6; ++c) xb(r, c) = d.x(order[start + r], c);
      yb.push_back(d.labels[order[start + r]]);
    }
    opt.zero_grad();
    log_likelihood_cost(model(Tensor(xb)), yb).backward();
    opt.step();
  }
  return order;
}

std::unique_ptr<optim::Optimizer> make(const std::string& kind, nn::Module& m) {
  if (kind == "momentum") return std::make_unique<optim::Momentum>(m.parameters(), 0.5, 0.9);
  if (kind == "adam") return std::make_unique<optim::Adam>(m.parameters(), 0.01);
  return std::make_unique<optim::SGD>(m.parameters(), 0.5);
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

}  // namespace

TEST_CASE("checkpoint: a resumed run continues exactly like the uninterrupted one", "[io]") {
  for (const std::string kind : {"momentum", "adam", "sgd"}) {
    INFO("optimizer " << kind);
    TempDir tmp;
    const Data d = make_data();
    auto model = net(1);
    auto opt = make(kind, *model);
    Rng shuffle(42);
    std::vector<std::size_t> order;
    for (int e = 0; e < 2; ++e) order = train_epoch(*model, *opt, shuffle, d);
    opt->set_learning_rate(0.25);  // as a schedule would

    io::Checkpoint meta;
    meta.epoch = 2;
    meta.rng_state = shuffle.state();
    meta.order = order;
    meta.learning_rate = opt->learning_rate();
    meta.history_csv = "epoch,correct\n1,7\n2,9\n";
    meta.settings_json = R"({"optimizer": "momentum", "eta": 0.5, "sizes": [6, 5, 3]})";
    const std::string dir = tmp / "ckpt";
    io::save_checkpoint(dir, *model, *opt, meta);
    const auto saved_state = opt->state();

    // The uninterrupted run goes on for two more epochs.
    for (int e = 0; e < 2; ++e) train_epoch(*model, *opt, shuffle, d);

    // A fresh process: different initial values, a fresh optimizer and engine.
    auto resumed = net(777);
    auto opt2 = make(kind, *resumed);
    const io::Checkpoint back = io::load_checkpoint(dir, *resumed, *opt2);
    CHECK(back.epoch == 2);
    CHECK(back.order == order);
    CHECK(back.learning_rate == 0.25);
    CHECK(opt2->learning_rate() == 0.25);
    CHECK(back.history_csv == meta.history_csv);
    CHECK(nlohmann::json::parse(back.settings_json) == nlohmann::json::parse(meta.settings_json));
    CHECK(same_arrays(opt2->state(), saved_state));
    if (kind != "sgd") CHECK_FALSE(saved_state.empty());
    Rng shuffle2;
    shuffle2.restore(back.rng_state);
    for (int e = 0; e < 2; ++e) train_epoch(*resumed, *opt2, shuffle2, d);

    CHECK(same_arrays(values_of(*resumed), values_of(*model)));
    CHECK(same_arrays(opt2->state(), opt->state()));
    for (int k = 0; k < 5; ++k) CHECK(shuffle2.uniform() == shuffle.uniform());

    // The model inside is an ordinary model directory.
    auto inner = io::load_model(dir + "/model");
    CHECK(inner.model->describe() == net(0)->describe());
  }
}

TEST_CASE("checkpoint: failed loads change neither model nor optimizer", "[io]") {
  TempDir tmp;
  const Data d = make_data();
  auto model = net(1);
  optim::Momentum opt(model->parameters(), 0.5, 0.9);
  Rng shuffle(1);
  train_epoch(*model, opt, shuffle, d);
  io::Checkpoint meta;
  meta.epoch = 1;
  meta.learning_rate = 0.5;
  const std::string dir = tmp / "ckpt";
  io::save_checkpoint(dir, *model, opt, meta);

  auto victim = net(5);
  optim::Momentum vopt(victim->parameters(), 0.1, 0.9);
  Rng vshuffle(2);
  train_epoch(*victim, vopt, vshuffle, d);  // non-zero velocities to compare
  const auto params_before = values_of(*victim);
  const auto state_before = vopt.state();
  auto expect_untouched = [&](nn::Module& m, optim::Optimizer& o,
                              std::initializer_list<std::string> pieces) {
    try {
      io::load_checkpoint(dir, m, o);
      FAIL("expected an io_error");
    } catch (const io_error& e) {
      INFO("message: " << e.what());
      for (const auto& p : pieces) CHECK_THAT(std::string(e.what()), Contains(p));
    }
  };

  SECTION("a different optimizer") {
    optim::Adam adam(victim->parameters(), 0.01);
    const auto adam_state = adam.state();
    expect_untouched(*victim, adam, {"checkpoint.json", "momentum", "adam"});
    CHECK(same_arrays(adam.state(), adam_state));
  }
  SECTION("a corrupt optimizer state file") {
    write_bytes(dir + "/optimizer/3.npy", "garbage");
    expect_untouched(*victim, vopt, {"3.npy", "too short"});
  }
  SECTION("a wrongly shaped optimizer state file") {
    io::save_npy(dir + "/optimizer/3.npy", xt::zeros<Scalar>({4}));
    expect_untouched(*victim, vopt, {"3.npy", "(4,)"});
  }
  SECTION("a corrupt parameter file") {
    write_bytes(dir + "/model/3.bias.npy", "garbage");
    expect_untouched(*victim, vopt, {"3.bias.npy"});
  }
  SECTION("a malformed checkpoint.json") {
    write_bytes(dir + "/checkpoint.json", "{\"format\": ");
    expect_untouched(*victim, vopt, {"checkpoint.json", "malformed JSON"});
  }
  SECTION("a wrong version") {
    auto j = nlohmann::json::parse(std::ifstream(dir + "/checkpoint.json"));
    j["version"] = 7;
    write_bytes(dir + "/checkpoint.json", j.dump());
    expect_untouched(*victim, vopt, {"checkpoint.json", "unsupported version 7"});
  }
  SECTION("a model without the dropout layer") {
    Rng rng(3);
    auto plain = std::make_shared<nn::Sequential>();
    plain->add(std::make_shared<nn::Linear>(6, 5, rng))
        .add(std::make_shared<nn::Tanh>())
        .add(std::make_shared<nn::Identity>())
        .add(std::make_shared<nn::Linear>(5, 3, rng))
        .add(std::make_shared<nn::Softmax>());
    optim::Momentum popt(plain->parameters(), 0.1, 0.9);
    const auto plain_before = values_of(*plain);
    expect_untouched(*plain, popt, {"checkpoint.json", "module '2'"});
    CHECK(same_arrays(values_of(*plain), plain_before));
  }
  CHECK(same_arrays(values_of(*victim), params_before));
  CHECK(same_arrays(vopt.state(), state_before));
  CHECK(vopt.learning_rate() == 0.1);
}

TEST_CASE("checkpoint: saves are atomic and validate their input", "[io]") {
  TempDir tmp;
  auto a = net(1);
  auto b = net(2);
  optim::Momentum opt_a(a->parameters(), 0.5, 0.9);
  optim::Momentum opt_b(b->parameters(), 0.5, 0.9);
  io::Checkpoint meta;
  meta.epoch = 1;
  meta.learning_rate = 0.5;
  const std::string dir = tmp / "ckpt";
  io::save_checkpoint(dir, *a, opt_a, meta);

  meta.epoch = 2;
  int written = 0;
  xg::file::set_write_hook([&](const std::string& path) {
    if (++written == 6) throw io_error("simulated failure writing " + path);
  });
  CHECK_THROWS_WITH(io::save_checkpoint(dir, *b, opt_b, meta), Contains("simulated failure"));
  xg::file::set_write_hook(nullptr);
  auto probe = net(3);
  optim::Momentum popt(probe->parameters(), 0.5, 0.9);
  CHECK(io::load_checkpoint(dir, *probe, popt).epoch == 1);
  CHECK(same_arrays(values_of(*probe), values_of(*a)));

  io::save_checkpoint(dir, *b, opt_b, meta);
  CHECK(io::load_checkpoint(dir, *probe, popt).epoch == 2);
  CHECK(same_arrays(values_of(*probe), values_of(*b)));
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(tmp.path)) names.push_back(e.path().filename());
  CHECK(names == std::vector<std::string>{"ckpt"});

  io::Checkpoint bad = meta;
  bad.learning_rate = -1;
  CHECK_THROWS_AS(io::save_checkpoint(tmp / "x", *a, opt_a, bad), value_error);
  bad = meta;
  bad.settings_json = "{oops";
  CHECK_THROWS_AS(io::save_checkpoint(tmp / "x", *a, opt_a, bad), value_error);
  bad = meta;
  bad.rng_state = "not an engine";
  CHECK_THROWS_AS(io::save_checkpoint(tmp / "x", *a, opt_a, bad), value_error);
  CHECK_FALSE(fs::exists(tmp / "x"));
}

TEST_CASE("checkpoint: links inside the directory are refused", "[io]") {
  xg_test::TempDir tmp;
  Rng rng(1);
  auto model = nn::mlp({2, 3, 2}, "sigmoid", rng);
  optim::Momentum opt(model->parameters(), 0.1, 0.9);
  const std::string dir = tmp / "ck";
  io::Checkpoint meta;
  meta.learning_rate = 0.1;
  io::save_checkpoint(dir, *model, opt, meta);
  SECTION("the model subdirectory") {
    fs::rename(fs::path(dir) / "model", tmp / "real-model");
    fs::create_symlink(tmp / "real-model", fs::path(dir) / "model");
    CHECK_THROWS_WITH(io::load_checkpoint(dir, *model, opt),
                      Contains("model") && Contains("symbolic link"));
  }
  SECTION("an optimizer state file") {
    fs::rename(fs::path(dir) / "optimizer/0.npy", tmp / "0.npy");
    fs::create_symlink(tmp / "0.npy", fs::path(dir) / "optimizer/0.npy");
    CHECK_THROWS_WITH(io::load_checkpoint(dir, *model, opt),
                      Contains("0.npy") && Contains("symbolic link"));
  }
  SECTION("checkpoint.json") {
    fs::rename(fs::path(dir) / "checkpoint.json", tmp / "checkpoint.json");
    fs::create_symlink(tmp / "checkpoint.json", fs::path(dir) / "checkpoint.json");
    CHECK_THROWS_AS(io::load_checkpoint(dir, *model, opt), io_error);
    CHECK_THROWS_WITH(io::load_checkpoint(dir, *model, opt), Contains("symbolic link"));
  }
}

TEST_CASE("checkpoint: version 1 files (dropout_rng_states) still load", "[io]") {
  xg_test::TempDir tmp;
  Rng rng(4);
  auto model = std::make_shared<nn::Sequential>();
  model->add(std::make_shared<nn::Linear>(2, 3, rng))
      .add(std::make_shared<nn::Dropout>(0.5, rng))
      .add(std::make_shared<nn::Linear>(3, 2, rng));
  optim::SGD opt(model->parameters(), 0.1);
  const std::string dir = tmp / "ck";
  io::Checkpoint meta;
  meta.learning_rate = 0.1;
  io::save_checkpoint(dir, *model, opt, meta);
  auto& dropout = static_cast<nn::Dropout&>(*(*model)[1]);
  const std::string engine = dropout.rng().state();

  nlohmann::json j;
  std::ifstream(dir + "/checkpoint.json") >> j;
  REQUIRE(j["module_states"]["1"]["rng"] == engine);
  j["version"] = 1;
  j["dropout_rng_states"] = {{"1", engine}};
  j.erase("module_states");
  j.erase("states");
  std::ofstream(dir + "/checkpoint.json") << j.dump();
  dropout.reseed(99);
  io::load_checkpoint(dir, *model, opt);
  CHECK(dropout.rng().state() == engine);
}
