// The data-parallel step: which rows of the global mini-batch a rank works
// on, and the one allreduce that turns the ranks' shard gradients into the
// gradient of the global batch's mean cost on every rank.
#include <cstring>
#include <string>

#include "dist/backend.hpp"
#include "dist/collectives.hpp"
#include "xgrad/dist.hpp"
#include "xgrad/random.hpp"

namespace xg::dist {

Shard shard(std::size_t global_rows, int rank, int ranks) {
  if (ranks < 1 || rank < 0 || rank >= ranks)
    throw value_error("dist: shard: rank " + std::to_string(rank) + " is not in [0, " +
                      std::to_string(ranks) + ")");
  const auto n = static_cast<std::size_t>(ranks), r = static_cast<std::size_t>(rank);
  const std::size_t base = global_rows / n, extra = global_rows % n;
  Shard s;
  s.begin = r * base + (r < extra ? r : extra);
  s.end = s.begin + base + (r < extra ? 1 : 0);
  return s;
}

Shard shard(std::size_t global_rows) { return shard(global_rows, rank(), size()); }

namespace {

// Packs [header | grad 0 | grad 1 | ...] window by window, sums each window
// over the ranks and unpacks it. The header holds, per parameter, how many
// ranks contributed a gradient (so that a parameter no rank reached keeps no
// gradient, as in one process), then the sum of the ranks' local rows (for
// the shard check), then the ranks' `extra` values if any (summed alongside).
// The sums may arrive in any order (one range per rank's
// slice on the shared-memory path), so every gradient is unpacked and the
// ones no rank reached are dropped at the end, when the header is complete.
// Returns the reduced row total; `extra` becomes the reduced extra values.
double reduce_gradients(const std::vector<Tensor>& params, Scalar scale, bool contributes,
                        double local_rows, Scalar divisor, detail::Agreement& agreement,
                        std::vector<double>* extra = nullptr) {
  const std::size_t n = params.size();
  const std::size_t n_extra = extra ? extra->size() : 0;
  // `mine` is this rank's header, `header` the reduced one (filled window by
  // window: packing must read the former, unpacking the latter).
  std::vector<Scalar> mine(n + 1 + n_extra, Scalar(0));
  std::vector<std::size_t> sizes{mine.size()};
  for (std::size_t i = 0; i < n; ++i) {
    mine[i] = contributes && params[i].has_grad() ? Scalar(1) : Scalar(0);
    sizes.push_back(params[i].size());
  }
  mine[n] = static_cast<Scalar>(local_rows);
  for (std::size_t k = 0; k < n_extra; ++k) mine[n + 1 + k] = static_cast<Scalar>((*extra)[k]);
  std::vector<Scalar> header(mine.size(), Scalar(0));
  detail::for_each_window(
      sizes, detail::window_elements(), [&](const std::vector<detail::Piece>& pieces, std::size_t) {
        std::size_t count = 0;
        for (const auto& p : pieces) count += p.count;
        auto pack = [&](Scalar* to, std::size_t lo, std::size_t n_part) {
          detail::for_each_part(pieces, lo, n_part, [&](const detail::Piece& p, std::size_t at) {
            Scalar* out = to + at;
            if (p.index == 0) {
              std::memcpy(out, mine.data() + p.first, p.count * sizeof(Scalar));
            } else if (mine[p.index - 1] != Scalar(0)) {
              const Scalar* g = params[p.index - 1].grad().data() + p.first;
              if (scale == Scalar(1))
                std::memcpy(out, g, p.count * sizeof(Scalar));
              else
                for (std::size_t k = 0; k < p.count; ++k) out[k] = g[k] * scale;
            } else {
              std::fill(out, out + p.count, Scalar(0));
            }
          });
        };
        auto unpack = [&](const Scalar* from, std::size_t lo, std::size_t n_part) {
          detail::for_each_part(pieces, lo, n_part, [&](const detail::Piece& p, std::size_t at) {
            const Scalar* in = from + at;
            if (p.index == 0) {
              std::memcpy(header.data() + p.first, in, p.count * sizeof(Scalar));
              return;
            }
            Node& node = *params[p.index - 1].node();
            if (!node.has_grad) {
              node.grad = Array::from_shape(node.value.shape());
              node.has_grad = true;
            }
            Scalar* out = node.grad.data() + p.first;
            if (divisor != Scalar(1))
              for (std::size_t k = 0; k < p.count; ++k) out[k] = in[k] / divisor;
            else
              std::memcpy(out, in, p.count * sizeof(Scalar));
          });
        };
        detail::sum_window(count, pack, unpack, agreement);
      });
  agreement.run();  // (the header makes at least one window: already done)
  for (std::size_t i = 0; i < n; ++i) {
    Tensor t = params[i];
    if (header[i] == Scalar(0)) t.zero_grad();  // no rank reached it: every rank skips it
  }
  for (std::size_t k = 0; k < n_extra; ++k) (*extra)[k] = static_cast<double>(header[n + 1 + k]);
  return static_cast<double>(header[n]);
}

std::vector<const Array*> values_of(const std::vector<Tensor>& params) {
  std::vector<const Array*> v;
  for (const Tensor& t : params) v.push_back(&t.value());
  return v;
}

}  // namespace

void allreduce_gradients(const std::vector<Tensor>& params, Op op) {
  if (!is_distributed()) return;
  const std::vector<const Array*> values = values_of(params);
  detail::Agreement agreement([&] { detail::agree_on_shapes("allreduce_gradients", values, {}); });
  reduce_gradients(params, Scalar(1), true, 0,
                   op == Op::mean ? static_cast<Scalar>(size()) : Scalar(1), agreement);
}

namespace {

// average_gradients, with the ranks' `extra` values summed in the same message.
void average_with(const char* name, const std::vector<Tensor>& params, std::size_t local_rows,
                  std::size_t global_rows, std::vector<double>* extra) {
  const std::string who = std::string("dist: ") + name + ": ";
  if (global_rows == 0) throw value_error(who + "global_rows is 0");
  if (!is_distributed()) {
    if (local_rows != global_rows)
      throw dist_error(who + "one process must hold the whole batch, but local_rows = " +
                       std::to_string(local_rows) +
                       " and global_rows = " + std::to_string(global_rows));
    return;
  }
  const std::vector<const Array*> values = values_of(params);
  const std::size_t n_extra = extra ? extra->size() : 0;
  detail::Agreement agreement([&] {
    detail::agree_on_shapes(name, values,
                            {detail::agreed("global_rows", global_rows),
                             detail::agreed("values summed alongside", n_extra)});
  });
  // Each rank's gradient is the mean over its own rows; weighting it by its
  // share of the rows makes the sum the mean over all rows, for any split.
  const Scalar scale = static_cast<Scalar>(local_rows) / static_cast<Scalar>(global_rows);
  const double total = reduce_gradients(
      params, scale, local_rows > 0, static_cast<double>(local_rows), Scalar(1), agreement, extra);
  if (total != static_cast<double>(global_rows))
    throw dist_error(
        who + "the ranks' local_rows add up to " + std::to_string(static_cast<std::size_t>(total)) +
        ", not global_rows = " + std::to_string(global_rows) + " (split batches with dist::shard)");
}

}  // namespace

void average_gradients(const std::vector<Tensor>& params, std::size_t local_rows,
                       std::size_t global_rows) {
  average_with("average_gradients", params, local_rows, global_rows, nullptr);
}

double average_gradients_and_sum(const std::vector<Tensor>& params, std::size_t local_rows,
                                 std::size_t global_rows, double value) {
  std::vector<double> extra{value};
  average_with("average_gradients_and_sum", params, local_rows, global_rows, &extra);
  return extra[0];
}

bool in_sync(const std::vector<Tensor>& params) {
  if (!is_distributed()) return true;
  std::uint64_t h = 1469598103934665603ull;
  for (const Tensor& t : params) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(t.value().data());
    for (std::size_t i = 0, n = t.size() * sizeof(Scalar); i < n; ++i) {
      h ^= bytes[i];
      h *= 1099511628211ull;
    }
  }
  const double hi = static_cast<double>(h >> 32), lo = static_cast<double>(h & 0xffffffffu);
  std::vector<double> buf{hi, -hi, lo, -lo};
  backend::allreduce_max(buf.data(), buf.size());
  return buf[0] == -buf[1] && buf[2] == -buf[3];
}

std::uint64_t rank_seed(std::uint64_t seed, int rank) {
  if (rank == 0) return seed;
  // splitmix64 of (seed, rank): neighbouring ranks get unrelated streams.
  return derive_seed(seed, static_cast<std::uint64_t>(rank));
}

std::uint64_t rank_seed(std::uint64_t seed) { return rank_seed(seed, rank()); }

}  // namespace xg::dist
