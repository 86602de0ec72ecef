// Data transforms inside train::fit: which image gets which draws, that the
// shuffling order does not move, that checkpoints carry the transform and
// resume bit for bit, and that a wrong transform is refused.
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>
#include <xtensor/xview.hpp>

#include "temp_dir.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/data/transforms.hpp"
#include "xgrad/error.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/train/checkpointer.hpp"
#include "xgrad/train/fit.hpp"

using namespace xg;

namespace {

// 2×2 "images" whose first pixel is the sample's id, so a transform can tell
// which sample it was given.
data::Dataset numbered(std::size_t n) {
  data::Dataset d;
  d.inputs = Array::from_shape({n, std::size_t(4)});
  Rng rng(3);
  for (std::size_t i = 0; i < n; ++i) {
    d.inputs(i, 0) = static_cast<double>(i);
    for (std::size_t k = 1; k < 4; ++k) d.inputs(i, k) = rng.uniform();
    d.labels.push_back(i % 2);
  }
  d.targets = data::one_hot(d.labels, 2);
  return d;
}

// Records (sample id, first draw) per image and changes nothing else.
class Spy : public data::Transform {
 public:
  Spy() : Transform({2, 2}, "Spy") {}
  void apply_image(const Scalar* in, Scalar* out, Rng& rng) override {
    seen.push_back({static_cast<std::size_t>(in[0]), rng.uniform()});
    for (std::size_t k = 0; k < 4; ++k) out[k] = in[k];
  }
  std::string to_json() const override { return R"({"type":"spy"})"; }
  std::unique_ptr<Transform> clone() const override { return std::make_unique<Spy>(); }
  std::string name() const override { return "spy"; }

  struct Seen {
    std::size_t id;
    double draw;
  };
  std::vector<Seen> seen;
};

struct Run {
  std::vector<Spy::Seen> seen;
  std::vector<std::vector<std::size_t>> orders;  // per epoch
};

Run spy_run(std::size_t batch_size, bool with_transform, std::size_t epochs = 3) {
  const data::Dataset d = numbered(23);
  Rng init(1);
  auto model = nn::mlp({4, 3, 2}, "sigmoid", init);
  auto cost = make_cost("cross-entropy");
  optim::SGD sgd(model->parameters(), 0.1);
  Spy spy;
  Run run;
  train::FitOptions o;
  o.epochs = epochs;
  o.batch_size = batch_size;
  o.seed = 4;
  o.augment_seed = 77;
  if (with_transform) o.transform = &spy;
  o.on_epoch_end = [&](const train::EpochRecord&, const train::FitState& st) {
    run.orders.push_back(st.order);
    return true;
  };
  train::fit(*model, *cost, sgd, d, o);
  run.seen = spy.seen;
  return run;
}

}  // namespace

TEST_CASE("fit distorts each image with the draws of its epoch and position", "[fit][transforms]") {
  const Run run = spy_run(5, true);
  REQUIRE(run.orders.size() == 3);
  REQUIRE(run.seen.size() == 3 * 23);
  std::map<std::size_t, std::vector<double>> draws_of;  // per sample, one per epoch
  for (std::size_t e = 0; e < 3; ++e) {
    const std::uint64_t epoch_seed = derive_seed(77, e + 1);
    for (std::size_t p = 0; p < 23; ++p) {
      const Spy::Seen& s = run.seen[e * 23 + p];
      // Images arrive in the epoch's shuffled order...
      CHECK(s.id == run.orders[e][p]);
      // ...each drawing from the engine its position documents.
      Rng expected(derive_seed(epoch_seed, p));
      CHECK(s.draw == expected.uniform());
      draws_of[s.id].push_back(s.draw);
    }
  }
  // A fresh distortion of every image in every epoch.
  for (const auto& [id, d] : draws_of) {
    REQUIRE(d.size() == 3);
    CHECK(d[0] != d[1]);
    CHECK(d[1] != d[2]);
  }
}

TEST_CASE("a transform leaves the shuffling order and ignores the batch size",
          "[fit][transforms]") {
  const Run plain = spy_run(5, false);
  const Run a = spy_run(5, true), b = spy_run(7, true);
  CHECK(plain.orders == a.orders);  // augmentation draws from its own engines
  REQUIRE(a.seen.size() == b.seen.size());
  for (std::size_t i = 0; i < a.seen.size(); ++i) {
    CHECK(a.seen[i].id == b.seen[i].id);
    CHECK(a.seen[i].draw == b.seen[i].draw);
  }
}

TEST_CASE("apply_indexed gives each row the same image however the rows are split",
          "[transforms]") {
  data::Elastic elastic({6, 6}, 2.0, 3.0);
  Rng rng(9);
  const Array images = rng.uniform_array({10, 36});
  Array whole = images;
  elastic.apply_indexed(whole, 42, 100);
  Array head = xt::view(images, xt::range(0, 3), xt::all());
  Array tail = xt::view(images, xt::range(3, 10), xt::all());
  elastic.apply_indexed(tail, 42, 103);  // the later rows first: no hidden state
  elastic.apply_indexed(head, 42, 100);
  const Array whole_head = xt::view(whole, xt::range(0, 3), xt::all());
  const Array whole_tail = xt::view(whole, xt::range(3, 10), xt::all());
  CHECK((whole_head == head));
  CHECK((whole_tail == tail));
  CHECK_FALSE((whole == images));
  Array wrong = Array::from_shape({2, 35});
  CHECK_THROWS_AS(elastic.apply_indexed(wrong, 1, 0), shape_error);
}

TEST_CASE("fit refuses a transform for other images", "[fit][transforms][errors]") {
  const data::Dataset d = numbered(10);
  Rng init(1);
  auto model = nn::mlp({4, 3, 2}, "sigmoid", init);
  auto cost = make_cost("cross-entropy");
  optim::SGD sgd(model->parameters(), 0.1);
  data::Elastic mnist_sized({28, 28});
  train::FitOptions o;
  o.transform = &mnist_sized;
  try {
    train::fit(*model, *cost, sgd, d, o);
    FAIL("fit accepted a 28×28 transform for 4 features");
  } catch (const shape_error& e) {
    const std::string what = e.what();
    CHECK(what.find("28×28") != std::string::npos);
    CHECK(what.find("4 features") != std::string::npos);
  }
}

TEST_CASE("a run with elastic distortions resumes bit for bit, and only as itself",
          "[fit][transforms][checkpoint]") {
  // 6×6 images of two blob classes.
  data::Dataset d;
  const std::size_t n = 40;
  Rng rng(2);
  d.inputs = Array::from_shape({n, std::size_t(36)});
  for (std::size_t i = 0; i < n; ++i) {
    d.labels.push_back(i % 2);
    for (std::size_t k = 0; k < 36; ++k)
      d.inputs(i, k) = rng.uniform() * 0.3 + ((k % 6 < 3) == (i % 2 == 0) ? 0.7 : 0.0);
  }
  d.targets = data::one_hot(d.labels, 2);
  auto fresh = [] {
    Rng r(5);
    return nn::mlp({36, 8, 2}, "sigmoid", r);
  };
  auto cost = make_cost("cross-entropy");
  auto options = [](data::Transform* t) {
    train::FitOptions o;
    o.epochs = 4;
    o.batch_size = 6;
    o.seed = 11;
    o.augment_seed = 12;
    o.transform = t;
    return o;
  };
  data::Elastic elastic({6, 6}, 1.5, 2.0);

  auto whole = fresh();
  optim::SGD sgd(whole->parameters(), 0.5);
  train::fit(*whole, *cost, sgd, d, options(&elastic));

  xg_test::TempDir tmp;
  const std::string dir = tmp / "ckpt";
  {
    auto first = fresh();
    optim::SGD sgd1(first->parameters(), 0.5);
    train::FitOptions o1 = options(&elastic);
    train::Checkpointer ck(*first, sgd1, dir);
    o1.on_epoch_end = [](const train::EpochRecord& r, const train::FitState&) {
      return r.epoch < 2;
    };
    ck.attach(o1);
    REQUIRE(train::fit(*first, *cost, sgd1, d, o1).stop_reason == "interrupted");
  }
  auto second = fresh();
  optim::SGD sgd2(second->parameters(), 0.5);
  train::FitOptions o2 = options(&elastic);
  train::Checkpointer ck2(*second, sgd2);
  REQUIRE(ck2.resume(dir, o2).epoch == 2);
  o2.epochs = 2;
  train::fit(*second, *cost, sgd2, d, o2);
  const auto a = whole->parameters(), b = second->parameters();
  for (std::size_t k = 0; k < a.size(); ++k) CHECK((a[k].value() == b[k].value()));

  // Another σ, another seed, or no transform at all would be another run.
  auto refused = [&](data::Transform* t, std::uint64_t augment_seed) {
    auto m = fresh();
    optim::SGD s(m->parameters(), 0.5);
    train::FitOptions o = options(t);
    o.augment_seed = augment_seed;
    train::Checkpointer ck(*m, s);
    try {
      ck.resume(dir, o);
      return std::string();
    } catch (const value_error& e) {
      return std::string(e.what());
    }
  };
  data::Elastic other_sigma({6, 6}, 2.5, 2.0);
  const std::string why = refused(&other_sigma, 12);
  CHECK(why.find("elastic") != std::string::npos);
  CHECK(why.find("before resume()") != std::string::npos);
  CHECK_FALSE(refused(&elastic, 13).empty());
  CHECK(refused(nullptr, 12).find("and this run asks for none") != std::string::npos);
  CHECK(refused(&elastic, 12).empty());  // the same settings still resume

  auto m = fresh();
  optim::SGD s(m->parameters(), 0.5);
  train::Checkpointer ck(*m, s);
  CHECK_THROWS_AS(
      ck.add_state("augment", {[] { return std::string(); }, [](const std::string&) {}}),
      value_error);
}
