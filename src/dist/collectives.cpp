// Collectives over lists of arrays: the arrays are treated as one long vector,
// cut into windows of at most bucket_bytes(), and each window is packed into
// one contiguous buffer, reduced or broadcast by ONE message (or through
// node-shared memory, shared.cpp), and unpacked.
// Before any data moves, one small "agreement" message checks that every rank
// passes the same shapes, so a mismatch is a clear error on every rank rather
// than an MPI count mismatch (undefined: a hang or garbage).
#include "dist/collectives.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "dist/backend.hpp"
#include "xgrad/dist.hpp"

namespace xg::dist {

namespace {
std::size_t bucket_limit = std::size_t{8} << 20;
std::vector<Scalar> buffer;  // reused by every call: no allocation after the first
}  // namespace

std::size_t bucket_bytes() { return bucket_limit; }
void set_bucket_bytes(std::size_t bytes) { bucket_limit = std::max(bytes, sizeof(Scalar)); }

namespace detail {

void for_each_window(const std::vector<std::size_t>& sizes, std::size_t capacity,
                     const std::function<void(const std::vector<Piece>&, std::size_t)>& fn) {
  if (capacity == 0) capacity = 1;
  std::vector<Piece> pieces;
  std::size_t filled = 0, offset = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::size_t first = 0;
    while (first < sizes[i]) {
      const std::size_t count = std::min(sizes[i] - first, capacity - filled);
      pieces.push_back({i, first, count});
      first += count;
      filled += count;
      if (filled == capacity) {
        fn(pieces, offset);
        offset += filled;
        pieces.clear();
        filled = 0;
      }
    }
  }
  if (filled) fn(pieces, offset);
}

std::uint64_t shapes_hash(const std::vector<const Array*>& arrays) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the dimensions
  auto mix = [&h](std::uint64_t v) {
    for (int b = 0; b < 8; ++b) {
      h ^= (v >> (8 * b)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  mix(arrays.size());
  for (const Array* a : arrays) {
    mix(a->dimension());
    for (auto d : a->shape()) mix(d);
  }
  return h;
}

std::string shapes_text(const std::vector<const Array*>& arrays) {
  std::string s = std::to_string(arrays.size()) + " arrays";
  for (std::size_t i = 0; i < arrays.size() && i < 8; ++i)
    s += (i ? " " : ": ") + shape_str(arrays[i]->shape());
  if (arrays.size() > 8) s += " ...";
  return s;
}

void agree(const char* what, const std::vector<Agreed>& values) {
  if (!backend::active() || backend::size() < 2) return;
  // max over [v, −v] gives max and −min of every value in one message.
  std::vector<double> buf;
  for (const auto& nv : values) {
    buf.push_back(nv.second.second);
    buf.push_back(-nv.second.second);
  }
  backend::allreduce_max(buf.data(), buf.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    if (buf[2 * i] != -buf[2 * i + 1])
      throw dist_error(std::string("dist: ") + what + ": the ranks disagree on " + values[i].first +
                       " (rank " + std::to_string(backend::rank()) + " of " +
                       std::to_string(backend::size()) + " has " + values[i].second.first + ")");
}

void agree_on_shapes(const char* what, const std::vector<const Array*>& arrays,
                     std::vector<Agreed> extra) {
  const std::uint64_t h = shapes_hash(arrays);
  const std::string name = "the arrays' count and shapes", mine = shapes_text(arrays);
  extra.insert(extra.begin(), {name, {mine, static_cast<double>(h >> 32)}});
  extra.insert(extra.begin() + 1, {name, {mine, static_cast<double>(h & 0xffffffffu)}});
  // The two paths synchronise differently: ranks on different paths would hang.
  const bool shared = use_shared();
  extra.push_back({"the shared-memory setting (dist::set_shared_memory, XGRAD_DIST_SHM)",
                   {shared ? "on" : "off", shared ? 1.0 : 0.0}});
  agree(what, extra);
}

Scalar* window_buffer(std::size_t n) {
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

std::size_t window_elements() { return std::max<std::size_t>(1, bucket_limit / sizeof(Scalar)); }

}  // namespace detail

void allreduce(std::vector<Array>& arrays, Op op) {
  if (!is_distributed()) return;
  std::vector<const Array*> views;
  std::vector<std::size_t> sizes;
  for (const Array& a : arrays) {
    views.push_back(&a);
    sizes.push_back(a.size());
  }
  detail::Agreement agreement([&] { detail::agree_on_shapes("allreduce", views, {}); });
  const Scalar ranks = static_cast<Scalar>(size());
  detail::for_each_window(
      sizes, detail::window_elements(), [&](const std::vector<detail::Piece>& pieces, std::size_t) {
        std::size_t n = 0;
        for (const auto& p : pieces) n += p.count;
        auto pack = [&](Scalar* to, std::size_t lo, std::size_t count) {
          detail::for_each_part(pieces, lo, count, [&](const detail::Piece& p, std::size_t at) {
            std::memcpy(to + at, arrays[p.index].data() + p.first, p.count * sizeof(Scalar));
          });
        };
        auto unpack = [&](const Scalar* from, std::size_t lo, std::size_t count) {
          detail::for_each_part(pieces, lo, count, [&](const detail::Piece& p, std::size_t at) {
            Scalar* out = arrays[p.index].data() + p.first;
            if (op == Op::mean)
              for (std::size_t k = 0; k < p.count; ++k) out[k] = from[at + k] / ranks;
            else
              std::memcpy(out, from + at, p.count * sizeof(Scalar));
          });
        };
        detail::sum_window(n, pack, unpack, agreement);
      });
  agreement.run();  // when there was no window (only empty arrays)
}

namespace {
void broadcast_arrays(std::vector<Array*> arrays, int root) {
  if (root < 0 || root >= size())
    throw value_error("dist: broadcast: root " + std::to_string(root) + " is not a rank of " +
                      std::to_string(size()));
  if (!is_distributed()) return;
  std::vector<const Array*> views(arrays.begin(), arrays.end());
  std::vector<std::size_t> sizes;
  for (const Array* a : arrays) sizes.push_back(a->size());
  detail::Agreement agreement(
      [&] { detail::agree_on_shapes("broadcast", views, {detail::agreed("the root", root)}); });
  detail::for_each_window(
      sizes, detail::window_elements(), [&](const std::vector<detail::Piece>& pieces, std::size_t) {
        std::size_t n = 0;
        for (const auto& p : pieces) n += p.count;
        auto pack = [&](Scalar* to, std::size_t lo, std::size_t count) {
          detail::for_each_part(pieces, lo, count, [&](const detail::Piece& p, std::size_t at) {
            std::memcpy(to + at, arrays[p.index]->data() + p.first, p.count * sizeof(Scalar));
          });
        };
        auto unpack = [&](const Scalar* from, std::size_t lo, std::size_t count) {
          detail::for_each_part(pieces, lo, count, [&](const detail::Piece& p, std::size_t at) {
            std::memcpy(arrays[p.index]->data() + p.first, from + at, p.count * sizeof(Scalar));
          });
        };
        detail::broadcast_window(n, root, pack, unpack, agreement);
      });
  agreement.run();  // when there was no window (only empty arrays)
}
}  // namespace

void broadcast(const std::vector<Tensor>& params, int root) {
  std::vector<Array*> arrays;
  for (Tensor t : params) arrays.push_back(&t.mutable_value());
  broadcast_arrays(std::move(arrays), root);
}

void broadcast(std::vector<Array>& arrays, int root) {
  std::vector<Array*> ptrs;
  for (Array& a : arrays) ptrs.push_back(&a);
  broadcast_arrays(std::move(ptrs), root);
}

double sum(double local) {
  if (is_distributed()) backend::allreduce_sum(&local, 1);
  return local;
}

std::uint64_t sum(std::uint64_t local) {
  if (is_distributed()) backend::allreduce_sum(&local, 1);
  return local;
}

std::vector<double> sum(const std::vector<double>& local) {
  std::vector<double> out = local;
  if (is_distributed()) {
    detail::agree("sum", {detail::agreed("the number of monitors", out.size())});
    backend::allreduce_sum(out.data(), out.size());
  }
  return out;
}

double max(double local) {
  if (is_distributed()) backend::allreduce_max(&local, 1);
  return local;
}

}  // namespace xg::dist
