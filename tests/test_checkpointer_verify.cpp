// StateProvider::verify: a state the resuming run must share with the saved
// one, checked before anything is restored and never assigned; "" saves
// nothing and is what verify sees for a checkpoint without the state.
#include <catch2/catch.hpp>
#include <string>

#include "temp_dir.hpp"
#include "xgrad/io/checkpoint.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/train/checkpointer.hpp"

using namespace xg;

namespace {

// Saves one checkpoint after "epoch 1" with a verifying state "mode" = `mode`.
void save_with_mode(const std::string& dir, const std::string& mode) {
  Rng init(3);
  auto model = nn::mlp({2, 3, 2}, "sigmoid", init);
  optim::SGD sgd(model->parameters(), 0.1);
  train::Checkpointer ck(*model, sgd);
  ck.add_state("mode", {[mode] { return mode; }, nullptr, [](const std::string&) {}});
  Rng rng(1);
  const std::vector<std::size_t> order{0, 1};
  const train::FitProgress progress;
  train::EpochRecord record;
  record.epoch = 1;
  ck.save(dir, record, train::FitState{rng, order, progress});
}

}  // namespace

TEST_CASE("a verifying state is checked before anything is restored", "[fit][checkpoint]") {
  xg_test::TempDir tmp;
  const std::string with = tmp / "with", without = tmp / "without";
  save_with_mode(with, "fast");
  save_with_mode(without, "");  // "" saves no state at all
  CHECK(io::peek_checkpoint(with).states.at("mode") == "fast");
  CHECK(io::peek_checkpoint(without).states.count("mode") == 0);

  Rng init(8);
  auto model = nn::mlp({2, 3, 2}, "sigmoid", init);
  const auto before = model->parameters()[0].value();
  optim::SGD sgd(model->parameters(), 0.1);
  std::string seen = "untouched", mine = "slow";
  train::Checkpointer ck(*model, sgd);
  ck.add_state("mode", {[&] { return mine; }, nullptr,
                        [&](const std::string& saved) {
                          seen = saved;
                          if (saved != mine) throw value_error("saved " + saved + ", not " + mine);
                        }});
  train::FitOptions o;
  try {
    ck.resume(with, o);
    FAIL("resume accepted a state its provider refused");
  } catch (const value_error& e) {
    const std::string what = e.what();
    CHECK(what.find(io::kCheckpointManifest) != std::string::npos);
    CHECK(what.find("saved fast, not slow") != std::string::npos);
  }
  CHECK(seen == "fast");
  CHECK((model->parameters()[0].value() == before));  // refused before loading
  CHECK(o.first_epoch == 0);

  mine = "fast";  // verify compares, it never assigns: the run's own value stays
  CHECK(ck.resume(with, o).epoch == 1);
  CHECK(mine == "fast");
  CHECK(o.first_epoch == 1);

  seen = "untouched";  // a checkpoint without the state: verify sees ""
  CHECK_THROWS_AS(ck.resume(without, o), value_error);
  CHECK(seen.empty());
  mine = "";
  CHECK(ck.resume(without, o).epoch == 1);
}

TEST_CASE("add_state takes restore or verify, not both or neither", "[fit][checkpoint][errors]") {
  Rng init(3);
  auto model = nn::mlp({2, 3, 2}, "sigmoid", init);
  optim::SGD sgd(model->parameters(), 0.1);
  train::Checkpointer ck(*model, sgd);
  auto save = [] { return std::string("x"); };
  auto take = [](const std::string&) {};
  CHECK_THROWS_AS(ck.add_state("both", {save, take, take}), value_error);
  CHECK_THROWS_AS(ck.add_state("neither", {save, nullptr, nullptr}), value_error);
  CHECK_THROWS_AS(ck.add_state("augment", {save, nullptr, take}), value_error);  // reserved
  CHECK_NOTHROW(ck.add_state("checked", {save, nullptr, take}));
  CHECK_THROWS_AS(ck.add_state("checked", {save, take}), value_error);  // taken
}
