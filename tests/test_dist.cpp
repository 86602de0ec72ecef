// xg::dist in one process (the multi-rank behaviour is tested by the programs
// in tests/dist/, which ctest runs under mpirun): the shard arithmetic, the
// bucket windows the collectives pack and the parts of them the shared-memory
// path hands out, the build-fingerprint check, and the
// single-process no-op contract that lets callers skip #ifdefs.
#include <catch2/catch.hpp>
#include <set>

#include "dist/collectives.hpp"
#include "xgrad/dist.hpp"
#include "xgrad/ops.hpp"

using namespace xg;
using Catch::Contains;

TEST_CASE("dist::shard splits a batch into contiguous shards in order", "[dist]") {
  for (std::size_t rows : {0u, 1u, 2u, 3u, 7u, 10u, 100u, 101u})
    for (int ranks : {1, 2, 3, 4, 8}) {
      std::size_t next = 0, smallest = rows, largest = 0;
      for (int r = 0; r < ranks; ++r) {
        const dist::Shard s = dist::shard(rows, r, ranks);
        CHECK(s.begin == next);
        next = s.end;
        smallest = std::min(smallest, s.size());
        largest = std::max(largest, s.size());
      }
      CHECK(next == rows);  // every row once, in the single-process order
      CHECK(largest - smallest <= 1);
    }
  // Fewer rows than ranks: the first ranks get one row each, the rest none.
  CHECK(dist::shard(2, 1, 3).size() == 1);
  CHECK(dist::shard(2, 2, 3).size() == 0);
  CHECK(dist::shard(7, 0, 2).size() == 4);
  CHECK(dist::shard(7, 1, 2).begin == 4);
  CHECK_THROWS_AS(dist::shard(10, 2, 2), value_error);
  CHECK_THROWS_AS(dist::shard(10, -1, 2), value_error);
  CHECK_THROWS_WITH(dist::shard(10, 0, 0), Contains("not in [0, 0)"));
}

TEST_CASE("dist bucket windows visit every element once, in order, within the capacity", "[dist]") {
  const std::vector<std::size_t> sizes{5, 0, 3, 12, 1};
  for (std::size_t capacity : {0u, 1u, 4u, 5u, 7u, 21u, 100u}) {
    std::vector<std::pair<std::size_t, std::size_t>> seen;  // (array, element)
    std::size_t windows = 0, expected_offset = 0;
    dist::detail::for_each_window(
        sizes, capacity, [&](const std::vector<dist::detail::Piece>& pieces, std::size_t offset) {
          ++windows;
          CHECK(offset == expected_offset);
          std::size_t n = 0;
          for (const auto& p : pieces) {
            CHECK(p.count > 0);
            for (std::size_t k = 0; k < p.count; ++k) seen.push_back({p.index, p.first + k});
            n += p.count;
          }
          CHECK(n <= std::max<std::size_t>(capacity, 1));
          expected_offset += n;
        });
    std::vector<std::pair<std::size_t, std::size_t>> all;
    for (std::size_t i = 0; i < sizes.size(); ++i)
      for (std::size_t k = 0; k < sizes[i]; ++k) all.push_back({i, k});
    CHECK(seen == all);
    const std::size_t cap = std::max<std::size_t>(capacity, 1);
    CHECK(windows == (all.size() + cap - 1) / cap);  // few, full messages
  }
  std::size_t calls = 0;
  dist::detail::for_each_window({}, 8, [&](const auto&, std::size_t) { ++calls; });
  dist::detail::for_each_window({0, 0}, 8, [&](const auto&, std::size_t) { ++calls; });
  CHECK(calls == 0);
}

TEST_CASE("dist refuses ranks running different builds, naming the rank and both builds",
          "[dist]") {
  const dist::Fingerprint mine = dist::local_fingerprint();
  CHECK(mine.scalar_bytes == sizeof(Scalar));
  CHECK_NOTHROW(dist::check_fingerprints({mine}));
  CHECK_NOTHROW(dist::check_fingerprints({mine, mine, mine}));
  dist::Fingerprint f = mine, d = mine;
  f.scalar_bytes = 4;
  d.scalar_bytes = 8;
  CHECK_THROWS_AS(dist::check_fingerprints({d, d, f}), dist::dist_error);
  CHECK_THROWS_WITH(dist::check_fingerprints({d, d, f}), Contains("rank 0 has Scalar = double") &&
                                                             Contains("rank 2 has Scalar = float"));
  dist::Fingerprint v = mine;
  v.version_minor += 1;
  CHECK_THROWS_WITH(dist::check_fingerprints({mine, v}),
                    Contains("rank 1 has") && Contains("xgrad " + std::to_string(v.version_major) +
                                                       "." + std::to_string(v.version_minor)));
  CHECK_THROWS_AS(dist::check_fingerprints({mine, v}), error);  // an xg::error, like all others
}

TEST_CASE("dist without mpirun is one rank whose collectives leave the data alone", "[dist]") {
  dist::Session session;
  CHECK_THROWS_WITH(dist::Session(), Contains("already exists"));
  CHECK(dist::rank() == 0);
  CHECK(dist::size() == 1);
  CHECK_FALSE(dist::is_distributed());

  const Array a = {1.0, 2.0}, b = {{3.0, 5.0}, {4.0, 6.0}};
  std::vector<Array> arrays{a, b};
  dist::allreduce(arrays, dist::Op::mean);
  dist::allreduce(arrays, dist::Op::sum);
  CHECK((arrays[0] == a));
  CHECK((arrays[1] == b));
  dist::broadcast(arrays);
  CHECK((arrays[1] == b));
  CHECK_THROWS_AS(dist::broadcast(arrays, 1), value_error);

  const Array w0 = {0.5, -1.0}, g = {3.0, 4.0}, u0 = {2.0};
  Tensor w(w0, true), unused(u0, true);
  sum(w * Tensor(g)).backward();
  const std::vector<Tensor> params{w, unused};
  dist::average_gradients(params, 6, 6);
  dist::allreduce_gradients(params, dist::Op::mean);
  CHECK((w.grad() == g));
  CHECK_FALSE(unused.has_grad());
  CHECK_THROWS_WITH(dist::average_gradients(params, 3, 6),
                    Contains("one process must hold the whole batch"));
  CHECK_THROWS_AS(dist::average_gradients(params, 0, 0), value_error);
  CHECK(dist::in_sync(params));
  CHECK(dist::shard(10).size() == 10);

  CHECK(dist::sum(2.5) == 2.5);
  CHECK(dist::sum(std::uint64_t{7}) == 7u);
  CHECK(dist::sum(std::vector<double>{1, 2}) == std::vector<double>{1, 2});
  CHECK(dist::max(-1.5) == -1.5);
}

TEST_CASE("dist::rank_seed keeps rank 0's seed and gives other ranks distinct streams", "[dist]") {
  CHECK(dist::rank_seed(42, 0) == 42u);
  std::set<std::uint64_t> seeds;
  for (int r = 0; r < 64; ++r) seeds.insert(dist::rank_seed(42, r));
  CHECK(seeds.size() == 64u);
  CHECK(dist::rank_seed(42, 1) != dist::rank_seed(43, 1));
  CHECK(dist::rank_seed(42) == 42u);  // one process is rank 0
}

TEST_CASE("dist bucket size has a floor of one Scalar", "[dist]") {
  const std::size_t saved = dist::bucket_bytes();
  dist::set_bucket_bytes(0);
  CHECK(dist::bucket_bytes() == sizeof(Scalar));
  dist::set_bucket_bytes(saved);
  CHECK(dist::bucket_bytes() == saved);
}

TEST_CASE("dist window parts cut pieces at any range, in order, each element once", "[dist]") {
  // Pieces of three arrays laid end to end: 4 elements of array 0 from 2, 3 of
  // array 1 from 0, 5 of array 2 from 7 (window elements 0..11).
  const std::vector<dist::detail::Piece> pieces{{0, 2, 4}, {1, 0, 3}, {2, 7, 5}};
  std::vector<std::pair<std::size_t, std::size_t>> window;  // (array, element) of each position
  for (const auto& p : pieces)
    for (std::size_t k = 0; k < p.count; ++k) window.push_back({p.index, p.first + k});
  for (std::size_t lo = 0; lo <= window.size(); ++lo)
    for (std::size_t n = 0; lo + n <= window.size(); ++n) {
      std::vector<std::pair<std::size_t, std::size_t>> seen;
      std::size_t next = 0;  // parts come in order and touch end to end
      dist::detail::for_each_part(pieces, lo, n,
                                  [&](const dist::detail::Piece& part, std::size_t at) {
                                    CHECK(part.count > 0);
                                    CHECK(at == next);
                                    next = at + part.count;
                                    for (std::size_t k = 0; k < part.count; ++k)
                                      seen.push_back({part.index, part.first + k});
                                  });
      const std::vector<std::pair<std::size_t, std::size_t>> expected(
          window.begin() + static_cast<std::ptrdiff_t>(lo),
          window.begin() + static_cast<std::ptrdiff_t>(lo + n));
      CHECK(seen == expected);
    }
}

TEST_CASE("dist shared memory is a setting that one process never uses", "[dist]") {
  dist::Session session;
  dist::set_shared_memory(true);
  CHECK_FALSE(dist::shared_memory());  // one rank: nothing to share
  const Array a = {1.0, 2.0};
  std::vector<Array> arrays{a};
  dist::allreduce(arrays);
  CHECK((arrays[0] == a));
  dist::set_shared_memory(false);
  CHECK_FALSE(dist::shared_memory());
  dist::allreduce(arrays, dist::Op::mean);
  CHECK((arrays[0] == a));
  dist::set_shared_memory(true);
}
