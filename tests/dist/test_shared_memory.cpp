// The two ways the collectives move data give the same answers. Run by ctest
// alone and under `mpirun -np 2` / `-np 3` on one machine: every collective
// (allreduce sum and mean, average_gradients with unequal and empty shards,
// allreduce_gradients, broadcast from a non-zero root) runs once through
// node-shared memory (the default on one node) and once through MPI messages
// (dist::set_shared_memory(false)), with the default bucket and with tiny
// buckets (many windows, slices cut inside arrays). Checks, on every rank:
//   - both paths leave bit-identical results on every rank (in_sync);
//   - the shared path's sums are exactly the rank-order sums 0 + 1 + ... of
//     the ranks' inputs (every rank can compute every rank's input), so they
//     do not depend on timing;
//   - the message path's sums equal them to rounding (MPI may add in another
//     order; bit-equal with 2 ranks, where a + b = b + a);
//   - broadcast copies exactly.
// A failed check throws: dist::run prints it with the rank and ends the job.
#include <cmath>
#include <iostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>
#include <xtensor/xbuilder.hpp>

#include "xgrad/dist.hpp"
#include "xgrad/ops.hpp"

namespace {

using namespace xg;

constexpr double tolerance = std::is_same<Scalar, double>::value ? 1e-14 : 1e-5;

void require(bool ok, const std::string& what) {
  if (!ok) throw error("check failed: " + what);
}

// Rank r's input element k of array a: irregular values whose sums round.
Scalar input(int r, std::size_t a, std::size_t k) {
  const double x = std::sin(1.0 + 0.37 * static_cast<double>(k) + 1.91 * static_cast<double>(a) +
                            2.3 * static_cast<double>(r));
  return static_cast<Scalar>(x / (1.0 + 0.013 * static_cast<double>(r + 1)));
}

const std::vector<std::size_t> lengths{1, 7, 1000, 4099, 65, 3};

std::vector<Array> inputs(int r) {
  std::vector<Array> arrays;
  for (std::size_t a = 0; a < lengths.size(); ++a) {
    Array x = Array::from_shape({lengths[a]});
    for (std::size_t k = 0; k < lengths[a]; ++k) x(k) = input(r, a, k);
    arrays.push_back(x);
  }
  return arrays;
}

// Σ_r w(r)·input(r) in rank order, as the shared path adds (w = 1: plain sums).
template <class Weight>
std::vector<Array> rank_order_sums(Weight w) {
  std::vector<Array> sums = inputs(0);
  for (std::size_t a = 0; a < sums.size(); ++a)
    for (std::size_t k = 0; k < sums[a].size(); ++k) {
      Scalar s = input(0, a, k) * w(0);
      for (int r = 1; r < dist::size(); ++r) s += input(r, a, k) * w(r);
      sums[a](k) = s;
    }
  return sums;
}

std::vector<Tensor> as_tensors(const std::vector<Array>& arrays) {
  std::vector<Tensor> t;
  for (const Array& a : arrays) t.emplace_back(a);
  return t;
}

// Largest |a − b| / max(1, |b|) over all elements.
double difference(const std::vector<Array>& a, const std::vector<Array>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t k = 0; k < a[i].size(); ++k) {
      const double x = a[i].data()[k], y = b[i].data()[k];
      worst = std::max(worst, std::abs(x - y) / std::max(1.0, std::abs(y)));
    }
  return worst;
}

std::string text(double d) {
  std::ostringstream s;
  s << d;
  return s.str();
}

bool same_bits(const std::vector<Array>& a, const std::vector<Array>& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t k = 0; k < a[i].size(); ++k)
      if (a[i].data()[k] != b[i].data()[k]) return false;
  return true;
}

// One path's results of every collective, for comparison with the other's.
struct Results {
  std::vector<Array> sum, mean, averaged, gradients, broadcast;
};

// The gradients of params = inputs(rank) under cost Σ_i Σ_k p_i[k]·c_i[k]
// with c = inputs(rank + 7): the gradient of p_i is c_i (exactly). Array 2
// has no gradient on rank 1 (it counts as zero), array 5 on no rank.
std::vector<Tensor> with_gradients() {
  const std::vector<Array> p = inputs(dist::rank()), c = inputs(dist::rank() + 7);
  std::vector<Tensor> params;
  Tensor cost;
  for (std::size_t i = 0; i < p.size(); ++i) {
    params.emplace_back(p[i], true);
    if (i == 5 || (i == 2 && dist::rank() == 1)) continue;
    Tensor term = xg::sum(params[i] * Tensor(c[i]));
    cost = cost.node() ? cost + term : term;
  }
  cost.backward();
  return params;
}

std::vector<Array> gradients_of(const std::vector<Tensor>& params) {
  std::vector<Array> g;
  for (const Tensor& t : params)
    g.push_back(t.has_grad() ? t.grad() : Array(xt::zeros<Scalar>({0})));
  return g;
}

Results run_all(bool shared, const std::string& label) {
  dist::set_shared_memory(shared);
  const bool distributed = dist::is_distributed();
  require(dist::shared_memory() == (shared && distributed),
          label + ": dist::shared_memory() is " + (dist::shared_memory() ? "on" : "off") +
              " (one machine, so it follows the setting when distributed)");
  const int ranks = dist::size();
  Results out;

  out.sum = inputs(dist::rank());
  dist::allreduce(out.sum);
  out.mean = inputs(dist::rank());
  dist::allreduce(out.mean, dist::Op::mean);
  const std::vector<Array> plain = rank_order_sums([](int) { return Scalar(1); });
  require(dist::in_sync(as_tensors(out.sum)) && dist::in_sync(as_tensors(out.mean)),
          label + ": allreduce leaves the same bits on every rank");
  const double d = difference(out.sum, plain);
  require(shared || !distributed ? same_bits(out.sum, plain) : d <= tolerance,
          label + ": allreduce sums are the rank-order sums (difference " + text(d) + ")");
  for (std::size_t a = 0; a < plain.size(); ++a)
    for (std::size_t k = 0; k < plain[a].size(); ++k)
      require(out.mean[a](k) == out.sum[a](k) / static_cast<Scalar>(ranks),
              label + ": the mean is the sum divided by the ranks");

  // Unequal shards of a global batch of 5: rank r has r + 1 rows, the rest
  // goes to the last rank; with 3 ranks: 1, 2, 2 rows.
  const std::size_t global = 5;
  std::vector<std::size_t> rows(static_cast<std::size_t>(ranks), 0);
  std::size_t given = 0;
  for (int r = 0; r + 1 < ranks; ++r)
    given += rows[r] = std::min<std::size_t>(r + 1, global - given);
  rows.back() = global - given;
  auto weight = [&](int r) { return static_cast<Scalar>(rows[r]) / static_cast<Scalar>(global); };
  std::vector<Tensor> params = with_gradients();
  dist::average_gradients(params, rows[static_cast<std::size_t>(dist::rank())], global);
  out.averaged = gradients_of(params);
  require(dist::in_sync(as_tensors(out.averaged)),
          label + ": average_gradients leaves the same bits on every rank");
  // The expected gradient: Σ_r weight(r)·c_i(r), without rank 1's array 2.
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    if (i == 5) {
      require(!params[i].has_grad(), label + ": a parameter no rank reached has no gradient");
      continue;
    }
    for (std::size_t k = 0; k < lengths[i]; ++k) {
      Scalar s = 0;
      for (int r = 0; r < ranks; ++r)
        if (!(i == 2 && r == 1)) s += rows[r] ? input(r + 7, i, k) * weight(r) : Scalar(0);
      const double got = out.averaged[i](k);
      require(std::abs(got - s) <= tolerance * std::max(1.0, std::abs(static_cast<double>(s))),
              label + ": average_gradients weights each rank by its rows (array " +
                  std::to_string(i) + ", element " + std::to_string(k) + ")");
    }
  }

  // The same step with a value summed in the same message (train::fit's
  // batch cost): the same gradients, and the rank-order sum of the values.
  std::vector<Tensor> with_sum = with_gradients();
  const double summed = dist::average_gradients_and_sum(
      with_sum, rows[static_cast<std::size_t>(dist::rank())], global, 0.25 * (dist::rank() + 1));
  // (Open MPI may sum 3 ranks' messages of another length in another order.)
  const double d_sum = difference(gradients_of(with_sum), out.averaged);
  require(
      shared || ranks < 3 ? same_bits(gradients_of(with_sum), out.averaged) : d_sum <= tolerance,
      label + ": average_gradients_and_sum gives average_gradients' gradients (difference " +
          text(d_sum) + ")");
  double expected = 0;
  for (int r = 0; r < ranks; ++r) expected += static_cast<double>(Scalar(0.25 * (r + 1)));
  require(summed == expected, label + ": average_gradients_and_sum sums the values (" +
                                  text(summed) + ", expected " + text(expected) + ")");

  params = with_gradients();
  dist::allreduce_gradients(params, dist::Op::mean);
  out.gradients = gradients_of(params);
  require(dist::in_sync(as_tensors(out.gradients)),
          label + ": allreduce_gradients leaves the same bits on every rank");

  const int root = ranks - 1;
  out.broadcast = inputs(dist::rank());
  dist::broadcast(out.broadcast, root);
  require(same_bits(out.broadcast, inputs(root)), label + ": broadcast copies the root's bits");
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  return xg::dist::run(argc, argv, [] {
    const bool talk = dist::rank() == 0;
    for (const std::size_t bucket : {std::size_t{8} << 20, std::size_t{1000}}) {
      dist::set_bucket_bytes(bucket);
      const std::string buckets = "buckets of " + std::to_string(bucket) + " bytes";
      const Results shared = run_all(true, "shared memory, " + buckets);
      const Results messages = run_all(false, "messages, " + buckets);
      for (const auto& pair : {std::make_pair(&shared.sum, &messages.sum),
                               std::make_pair(&shared.averaged, &messages.averaged),
                               std::make_pair(&shared.gradients, &messages.gradients)}) {
        const double d = difference(*pair.first, *pair.second);
        require(dist::size() < 3 ? same_bits(*pair.first, *pair.second) : d <= tolerance,
                buckets + ": both paths agree (difference " + text(d) + ")");
      }
      require(same_bits(shared.broadcast, messages.broadcast), buckets + ": both broadcasts agree");
      if (talk)
        std::cout << "ok: " << buckets << ": shared memory and messages give the same sums, "
                  << "the same bits on all " << dist::size() << " rank(s)" << std::endl;
    }
    dist::set_shared_memory(true);
    return 0;
  });
}
