// Data-parallel training gives the single-process answer. Run by ctest alone
// and under `mpirun -np 2` / `-np 3`: every rank trains the book's network
// (784-30-10, sigmoid) on a synthetic 10-class data set with a hand-written
// loop over the SAME global mini-batches as one process, back-propagating only
// its shard (dist::shard) and averaging gradients (dist::average_gradients).
// Rank 0 also trains a plain single-process copy from the same seed and checks
// that the weights agree to 1e-12 relative (double builds) after several epochs;
// every rank checks that all ranks hold bit-identical weights.
// Configurations: SGD; momentum + L2 with a batch size the ranks do not divide;
// batch size 1 (fewer rows than ranks: empty shards); Adam; dropout with
// per-rank seeded masks (trains, stays in sync; not comparable to one process).
// A failed check throws: dist::run prints it with the rank and ends the job.
#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <type_traits>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include "synthetic.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/data/dataset.hpp"
#include "xgrad/dist.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim.hpp"

namespace {

using namespace xg;

using xg_test::classes;
using xg_test::Config;
using xg_test::features;
using xg_test::number;
using xg_test::synthetic;
using xg_test::tolerance;
// The monitors are sums of per-sample costs in Scalar, in another order.
constexpr double cost_tolerance = std::is_same<Scalar, double>::value ? 1e-9 : 1e-4;

std::shared_ptr<nn::Sequential> network(const Config& c, std::uint64_t seed) {
  Rng rng(seed);
  auto net = std::make_shared<nn::Sequential>();
  auto body = nn::mlp({features, 30, classes}, "sigmoid", rng);
  for (std::size_t i = 0; i < body->size(); ++i) {
    net->add((*body)[i]);
    // Dropout after the hidden layer's activation, its masks from the rank's own stream.
    if (i == 1 && c.dropout > 0)
      net->add(std::make_shared<nn::Dropout>(c.dropout, dist::rank_seed(seed)));
  }
  return net;
}

Array rows(const Array& a, std::size_t begin, std::size_t end) {
  return Array(xt::view(a, xt::range(begin, end), xt::all()));
}

// The hand-written loop. With `distributed` each rank back-propagates its
// shard of every global mini-batch and the gradients are averaged; without
// it this is the plain single-process loop. Returns the last epoch's mean cost
// over the training set (summed over ranks' shards when distributed).
double train(nn::Module& model, const Config& c, const data::Dataset& data, std::uint64_t seed,
             bool distributed) {
  const auto params = model.parameters();
  auto opt = xg_test::optimizer_for(c, model, data.size());
  auto cost = make_cost(c.cost);
  Rng order(seed + 1);  // the same seed on every rank: the same global batches
  data::Batches batches(data, c.batch, &order);
  double epoch_cost = 0;
  model.train();
  for (std::size_t epoch = 0; epoch < c.epochs; ++epoch) {
    double total = 0;
    while (batches.next()) {
      const data::Batch& b = batches.batch();
      const std::size_t m = b.size();
      const dist::Shard s = distributed ? dist::shard(m) : dist::Shard{0, m};
      opt->zero_grad();
      if (s.size() > 0) {
        Tensor x(rows(b.inputs, s.begin, s.end));
        Tensor y(rows(b.targets, s.begin, s.end));
        Tensor loss = (*cost)(model(x), y);
        total += loss.item() * static_cast<double>(s.size());
        loss.backward();
      }
      if (distributed) dist::average_gradients(params, s.size(), m);
      opt->step();
    }
    epoch_cost = (distributed ? dist::sum(total) : total) / static_cast<double>(data.size());
  }
  return epoch_cost;
}

// Correct classifications on `data`, each rank counting its shard.
std::uint64_t correct(nn::Module& model, const data::Dataset& data, bool distributed) {
  model.eval();
  const dist::Shard s = distributed ? dist::shard(data.size()) : dist::Shard{0, data.size()};
  std::uint64_t n = 0;
  if (s.size() > 0) {
    NoGradGuard no_grad;
    Array out = model(Tensor(rows(data.inputs, s.begin, s.end))).value();
    std::vector<std::size_t> labels(data.labels.begin() + s.begin, data.labels.begin() + s.end);
    n = data::count_correct(out, labels);
  }
  return distributed ? dist::sum(n) : n;
}

void require(bool ok, const std::string& what) {
  if (!ok) throw error("test_data_parallel: " + what);
  if (dist::rank() == 0) std::cout << "ok: " << what << std::endl;
}

void check(const Config& c) {
  const std::uint64_t seed = 7;
  const data::Dataset data = synthetic(c.samples, 11);
  const data::Dataset test = synthetic(101, 12);
  // Ranks other than 0 start from other weights: the broadcast must fix that.
  auto model = network(c, dist::rank_seed(seed));
  dist::broadcast(model->parameters());
  require(dist::in_sync(model->parameters()),
          c.name + ": broadcast gives every rank rank 0's weights");
  const double cost = train(*model, c, data, seed, true);
  require(dist::in_sync(model->parameters()), c.name + ": every rank ends with identical weights");
  const std::uint64_t hits = correct(*model, test, true);
  require(std::isfinite(cost) && hits > 101 / 10 * 3,
          c.name + ": " + std::to_string(dist::size()) + " ranks learn (last epoch cost " +
              number(cost) + ", " + std::to_string(hits) + "/101 correct)");
  if (c.dropout > 0 || dist::rank() != 0) return;

  auto alone = network(c, seed);
  const double cost_alone = train(*alone, c, data, seed, false);
  const double worst = xg_test::max_relative_difference(*model, *alone);
  require(worst <= tolerance, c.name + ": " + std::to_string(dist::size()) +
                                  "-rank weights equal the single-process run's (max relative "
                                  "difference " +
                                  number(worst) + ")");
  require(std::fabs(cost - cost_alone) <= cost_tolerance * std::fabs(cost_alone) &&
              correct(*alone, test, false) == hits,
          c.name + ": reduced monitors (cost, correct count) equal the single-process ones");
}

// The collectives themselves, with values that differ by rank and buckets
// small enough that one call packs several windows across tensor boundaries.
void check_collectives() {
  const int n = dist::size(), r = dist::rank();
  const std::size_t saved = dist::bucket_bytes();
  dist::set_bucket_bytes(5 * sizeof(Scalar));
  std::vector<Array> arrays{Array(xt::ones<Scalar>({3, 4})) * Scalar(r + 1),
                            Array(xt::ones<Scalar>({7})) * Scalar(2 * r)};
  std::vector<Array> again = arrays;
  dist::allreduce(arrays, dist::Op::sum);
  dist::allreduce(again, dist::Op::mean);
  const Scalar ranks_sum = Scalar(n * (n + 1) / 2), twice_sum = Scalar(n * (n - 1));
  bool ok = true;
  for (Scalar v : arrays[0]) ok = ok && v == ranks_sum;
  for (Scalar v : arrays[1]) ok = ok && v == twice_sum;
  for (Scalar v : again[0]) ok = ok && v == ranks_sum / Scalar(n);
  for (Scalar v : again[1]) ok = ok && v == twice_sum / Scalar(n);
  require(ok, "allreduce sums and means arrays across windows");

  std::vector<Array> mine{Array(xt::ones<Scalar>({2, 3})) * Scalar(r + 10)};
  dist::broadcast(mine, n - 1);
  ok = true;
  for (Scalar v : mine[0]) ok = ok && v == Scalar(n - 1 + 10);
  require(ok, "broadcast copies the root's arrays (root = last rank)");

  // A gradient only rank 0 has, and one no rank has.
  Tensor a(Array(xt::zeros<Scalar>({6})), true), never(Array(xt::zeros<Scalar>({2})), true);
  if (r == 0) sum(a * Tensor(Array(xt::ones<Scalar>({6})) * Scalar(3))).backward();
  dist::allreduce_gradients({a, never}, dist::Op::mean);
  ok = a.has_grad() && !never.has_grad();
  if (ok)
    for (Scalar v : a.grad()) ok = ok && v == Scalar(3) / Scalar(n);
  require(ok, "allreduce_gradients: a gradient on one rank is shared, no gradient stays none");

  const std::vector<double> monitors = dist::sum(std::vector<double>{1.0, double(r)});
  require(monitors[0] == n && monitors[1] == n * (n - 1) / 2 && dist::max(double(r)) == n - 1 &&
              dist::sum(std::uint64_t(1)) == std::uint64_t(n),
          "monitors: sums and maxima over the ranks");
  dist::set_bucket_bytes(saved);
}

}  // namespace

int main(int argc, char** argv) {
  return dist::run(argc, argv, [&] {
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    if (dist::rank() == 0)
      std::cout << "ranks: " << dist::size() << (dist::built_with_mpi() ? "" : " (no MPI)")
                << std::endl;
    std::vector<Config> configs;
    configs.push_back({"sgd, batch 10", "sgd", 3.0, 0.0, 0.0, "quadratic", 10, 400});
    configs.push_back({"momentum + L2, cross-entropy, batch 7", "momentum", 0.5, 0.5, 5.0,
                       "cross-entropy", 7, 400});
    Config one{"sgd, batch 1 (empty shards)"};
    one.batch = 1;
    one.samples = 60;
    one.epochs = 2;
    configs.push_back(one);
    if (!quick) {
      Config adam{"adam, batch 10", "adam", 0.01, 0.0, 0.0, "quadratic", 10, 400};
      configs.push_back(adam);
      Config drop{"sgd + dropout 0.2, per-rank masks", "sgd", 3.0, 0.0, 0.0, "quadratic", 10, 400};
      drop.dropout = 0.2;
      configs.push_back(drop);
    }
    // Small buckets: the packing crosses tensor boundaries within one step.
    dist::set_bucket_bytes(quick ? 1000 * sizeof(Scalar) : dist::bucket_bytes());
    check_collectives();
    for (const Config& c : configs) check(c);
    return 0;
  });
}
