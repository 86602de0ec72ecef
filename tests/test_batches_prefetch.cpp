// Batches prefetch the next mini-batch's rows after copying one: a hint that
// must change no value and touch nothing outside the data. These walks hit
// every end it could overrun — the last batch of an epoch, a short last batch,
// a batch size that divides the data and one that does not, the whole set as
// one batch, shards of next_part_into that are empty or end at the batch's
// end, set_order and restart mid-epoch — in both input storages, and check
// each copied row exactly against the Dataset. (Under ASan, CI's sanitizer
// build, a read of the order or the data beyond their ends fails here.)
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/data/dataset.hpp"
#include "xgrad/random.hpp"

using xg::Array;
using xg::Scalar;
using namespace xg::data;

namespace {

// n samples of f features (f = 100: a byte row is not a whole number of
// 64-byte lines and rows start at every offset within a line), labels i % 3.
Dataset make(std::size_t n, bool bytes, std::size_t f = 100) {
  Dataset d;
  if (bytes) {
    d.byte_inputs.rows = n;
    d.byte_inputs.cols = f;
    d.byte_inputs.divisor = 255;
    d.byte_inputs.codes.resize(n * f);  // exactly n·f bytes: nothing to read beyond
    for (std::size_t k = 0; k < n * f; ++k)
      d.byte_inputs.codes[k] = static_cast<std::uint8_t>((k * 37 + 11) % 256);
  } else {
    d.inputs = Array::from_shape({n, f});
    for (std::size_t k = 0; k < n * f; ++k) d.inputs.data()[k] = Scalar(k) * Scalar(0.5) + 1;
  }
  for (std::size_t i = 0; i < n; ++i) d.labels.push_back(i % 3);
  d.targets = one_hot(d.labels, 3);
  return d;
}

// Rows [begin, begin + rows) of `got` are samples order[first + begin ..]:
// decoded inputs and targets equal, value for value.
void check_rows(const Dataset& d, const std::vector<std::size_t>& order, std::size_t first,
                std::size_t begin, const Array& inputs, const Array& targets, std::size_t rows) {
  const std::size_t f = d.features(), c = d.classes();
  REQUIRE(inputs.shape() == xg::Shape{rows, f});
  REQUIRE(targets.shape() == xg::Shape{rows, c});
  std::vector<Scalar> want(f);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t i = order.at(first + begin + r);
    d.copy_input_row(i, want.data());
    for (std::size_t j = 0; j < f; ++j) REQUIRE(inputs.data()[r * f + j] == want[j]);
    for (std::size_t k = 0; k < c; ++k) REQUIRE(targets.data()[r * c + k] == d.targets(i, k));
  }
}

// Two ranks' shards as dist::shard would give them, and a third part that is
// empty for even sizes and the batch's last row otherwise.
std::pair<std::size_t, std::size_t> shard(std::size_t m, int which) {
  if (which == 0) return {0, (m + 1) / 2};
  if (which == 1) return {(m + 1) / 2, m / 2};
  return m % 2 ? std::make_pair(m - 1, std::size_t{1}) : std::make_pair(m, std::size_t{0});
}

// Walks `epochs` epochs with next(), next_into() and next_part_into() (three
// parts) side by side, from the same seed, checking every batch.
void walk(const Dataset& d, std::size_t batch, bool shuffle, int epochs) {
  INFO("n " << d.size() << ", batch " << batch << ", bytes " << d.stores_bytes() << ", shuffle "
            << shuffle);
  xg::Rng r0(7), r1(7), r2(7), r3(7), r4(7);
  Batches plain(d, batch, shuffle ? &r0 : nullptr);
  Batches into(d, batch, shuffle ? &r1 : nullptr);
  std::vector<Batches> parts;
  parts.emplace_back(d, batch, shuffle ? &r2 : nullptr);
  parts.emplace_back(d, batch, shuffle ? &r3 : nullptr);
  parts.emplace_back(d, batch, shuffle ? &r4 : nullptr);
  Array xi, yi;
  std::vector<Array> xp(3), yp(3);
  for (int e = 0; e < epochs; ++e) {
    std::size_t first = 0, batches = 0;
    while (plain.next()) {
      const std::vector<std::size_t>& order = plain.order();
      const Batch& b = plain.batch();
      const std::size_t m = std::min(batch, d.size() - first);
      check_rows(d, order, first, 0, b.inputs, b.targets, m);
      for (std::size_t r = 0; r < m; ++r) CHECK(b.labels[r] == d.labels[order[first + r]]);

      REQUIRE(into.next_into(xi, yi));
      CHECK(into.order() == order);
      check_rows(d, order, first, 0, xi, yi, m);

      for (int p = 0; p < 3; ++p) {
        std::size_t rows = 0, begin = 0;
        auto part = [p](std::size_t size) { return shard(size, p); };
        REQUIRE(parts[p].next_part_into(xp[p], yp[p], part, rows, begin));
        CHECK(rows == m);
        CHECK(begin == shard(m, p).first);
        check_rows(d, order, first, begin, xp[p], yp[p], shard(m, p).second);
      }
      first += m;
      ++batches;
    }
    CHECK(first == d.size());
    CHECK(batches == plain.batches_per_epoch());
    CHECK_FALSE(into.next_into(xi, yi));
    for (int p = 0; p < 3; ++p) {
      std::size_t rows = 0, begin = 0;
      CHECK_FALSE(parts[p].next_part_into(
          xp[p], yp[p], [p](std::size_t size) { return shard(size, p); }, rows, begin));
    }
  }
}

}  // namespace

TEST_CASE("Batches' prefetch of the next batch changes no copied value at any end",
          "[data][prefetch]") {
  for (const bool bytes : {true, false}) {
    for (const bool shuffle : {true, false}) {
      walk(make(23, bytes), 5, shuffle, 3);  // short last batch of 3
      walk(make(20, bytes), 5, shuffle, 3);  // batch size divides the data
      walk(make(7, bytes), 7, shuffle, 3);   // the whole set is one batch
      walk(make(7, bytes), 1, shuffle, 2);   // one row per batch
      walk(make(9, bytes), 8, shuffle, 3);   // last batch of 1 after a full one
    }
  }
}

TEST_CASE("Batches' prefetch stays harmless across set_order and restart", "[data][prefetch]") {
  for (const bool bytes : {true, false}) {
    const Dataset d = make(11, bytes);
    xg::Rng rng(3);
    Batches batches(d, 4, &rng);
    Array x, y;
    REQUIRE(batches.next_into(x, y));  // prefetched rows 4..7 of this order
    // set_order replaces the order whose rows were prefetched.
    std::vector<std::size_t> reversed;
    for (std::size_t i = 11; i-- > 0;) reversed.push_back(i);
    batches.set_order(reversed);
    std::size_t first = 0;
    const std::vector<std::size_t>& order = batches.order();
    while (batches.next_into(x, y)) {
      const std::size_t m = std::min<std::size_t>(4, 11 - first);
      check_rows(d, order, first, 0, x, y, m);
      first += m;
    }
    CHECK(first == 11);
    REQUIRE(batches.next_into(x, y));
    batches.restart();
    first = 0;
    while (batches.next_into(x, y)) {
      const std::size_t m = std::min<std::size_t>(4, 11 - first);
      check_rows(d, batches.order(), first, 0, x, y, m);
      first += m;
    }
    CHECK(first == 11);
  }
}
