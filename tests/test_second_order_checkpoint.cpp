// Newton and HessianFree in checkpoints: a run saved by train::Checkpointer
// after k steps and resumed into fresh objects continues bit for bit like the
// uninterrupted run; a checkpoint of another rule is refused by name.
#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <memory>
#include <xtensor/xview.hpp>

#include "temp_dir.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/error.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/optim/hessian_free.hpp"
#include "xgrad/optim/newton.hpp"
#include "xgrad/random.hpp"
#include "xgrad/train/checkpointer.hpp"

using namespace xg;
using Catch::Contains;

namespace {

using xg_test::TempDir;

bool same_bits(const Array& a, const Array& b) {
  return a.shape() == b.shape() &&
         (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(Scalar)) == 0);
}

bool same_values(const nn::Module& a, const nn::Module& b) {
  const auto pa = a.parameters(), pb = b.parameters();
  if (pa.size() != pb.size()) return false;
  for (std::size_t i = 0; i < pa.size(); ++i)
    if (!same_bits(pa[i].value(), pb[i].value())) return false;
  return true;
}

/// A small classification set: 24 points of 4 features, 3 classes as one-hot rows.
struct Data {
  Array x, y;
};

Data make_data() {
  Rng rng(5);
  Data d{rng.uniform_array({24, 4}, -1.0, 1.0), Array(xt::zeros<Scalar>({24, 3}))};
  for (std::size_t i = 0; i < 24; ++i) d.y(i, rng.below(3)) = 1;
  return d;
}

/// One training run: a model, the mini-batch its closure reads, an optimizer.
/// The batch (8 rows) is drawn from `rng` before each step, so resuming must
/// also restore the engine, as it would with fit's shuffling.
struct Run {
  std::shared_ptr<nn::Sequential> model;
  Array xb, yb;
  std::unique_ptr<optim::Optimizer> opt;

  Run(const std::string& kind, const std::vector<std::size_t>& sizes, std::uint64_t init_seed) {
    Rng init(init_seed);
    model = nn::mlp(sizes, "sigmoid", init);
    auto cost = [this] {
      return sigmoid_cross_entropy(model->forward_logits(Tensor(xb), "sigmoid"), Tensor(yb));
    };
    if (kind == "newton") {
      optim::NewtonOptions o;
      o.damping = 0.1;
      opt = std::make_unique<optim::Newton>(model->parameters(), cost, o);
    } else {
      optim::HessianFreeOptions o;
      o.cg_iterations = 6;  // inexact steps: λ moves both ways
      opt = std::make_unique<optim::HessianFree>(model->parameters(), cost, o);
    }
  }

  void steps(std::size_t k, Rng& rng, const Data& d) {
    for (std::size_t s = 0; s < k; ++s) {
      xb = Array::from_shape({8, d.x.shape(1)});
      yb = Array::from_shape({8, d.y.shape(1)});
      for (std::size_t r = 0; r < 8; ++r) {
        const std::size_t i = rng.below(d.x.shape(0));
        xt::view(xb, r, xt::all()) = xt::view(d.x, i, xt::all());
        xt::view(yb, r, xt::all()) = xt::view(d.y, i, xt::all());
      }
      opt->step();
    }
  }

  double damping() const {
    if (auto* n = dynamic_cast<const optim::Newton*>(opt.get())) return n->damping();
    return dynamic_cast<const optim::HessianFree&>(*opt).damping();
  }
};

}  // namespace

TEST_CASE("Newton and HessianFree resume from a Checkpointer bit for bit",
          "[second-order][checkpoint]") {
  struct Case {
    std::string kind;
    std::vector<std::size_t> sizes;
  };
  // Newton forms H: a tiny model (4-3-3: 27 parameters); HF a larger one.
  for (const Case& c : {Case{"newton", {4, 3, 3}}, Case{"hessian-free", {4, 8, 3}}}) {
    INFO("optimizer " << c.kind);
    TempDir tmp;
    const Data d = make_data();
    Run full(c.kind, c.sizes, 1);
    Rng rng(42);
    full.steps(6, rng, d);
    const double damping_at_save = full.damping();

    train::Checkpointer ck(*full.model, *full.opt);
    train::EpochRecord record;
    record.epoch = 6;
    const std::vector<std::size_t> order;
    const train::FitProgress progress;
    const std::string dir = tmp / "ck";
    ck.save(dir, record, train::FitState{rng, order, progress});

    full.steps(6, rng, d);  // the uninterrupted run goes on

    // A fresh process: other initial values, a fresh optimizer and engine.
    Run resumed(c.kind, c.sizes, 777);
    CHECK_FALSE(same_values(*resumed.model, *full.model));
    train::Checkpointer ck2(*resumed.model, *resumed.opt);
    train::FitOptions fo;
    const train::Resumed back = ck2.resume(dir, fo);
    CHECK(back.epoch == 6);
    CHECK(resumed.damping() == damping_at_save);
    REQUIRE(fo.rng != nullptr);
    resumed.steps(6, *fo.rng, d);

    CHECK(same_values(*resumed.model, *full.model));
    CHECK(resumed.damping() == full.damping());
    // The damping moved during the run, so the check above is not vacuous.
    CHECK(damping_at_save != Run(c.kind, c.sizes, 1).damping());
  }
}

TEST_CASE("a Newton or HessianFree checkpoint refuses another optimizer by name",
          "[second-order][checkpoint]") {
  TempDir tmp;
  const Data d = make_data();
  Run hf("hessian-free", {4, 3, 3}, 1);
  Rng rng(3);
  hf.steps(2, rng, d);
  train::Checkpointer ck(*hf.model, *hf.opt);
  train::EpochRecord record;
  record.epoch = 1;
  const std::vector<std::size_t> order;
  const train::FitProgress progress;
  ck.save(tmp / "hf", record, train::FitState{rng, order, progress});

  Run newton("newton", {4, 3, 3}, 9);
  const std::vector<Array> before = {newton.model->parameters()[0].value()};
  train::Checkpointer wrong(*newton.model, *newton.opt);
  train::FitOptions fo;
  CHECK_THROWS_WITH(wrong.resume(tmp / "hf", fo),
                    Contains("saved with optimizer 'hessian-free' but resuming with 'newton'"));
  CHECK(same_bits(newton.model->parameters()[0].value(), before[0]));  // nothing changed

  auto model = nn::mlp({4, 3, 3}, "sigmoid", rng);
  optim::SGD sgd(model->parameters(), 0.5);
  train::Checkpointer wrong2(*model, sgd);
  CHECK_THROWS_WITH(wrong2.resume(tmp / "hf", fo),
                    Contains("saved with optimizer 'hessian-free' but resuming with 'sgd'"));
}
