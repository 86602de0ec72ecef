// Datasets, one-hot targets, accuracy counting, mini-batches and the MNIST loader
// (on a tiny synthetic MNIST-like directory, and on the real data if fetched).
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <numeric>
#include <set>
#include <string>
#include <vector>
#include <xtensor/xmath.hpp>

#include "require_data.hpp"
#include "temp_dir.hpp"
#include "xgrad/data/dataset.hpp"
#include "xgrad/data/idx.hpp"
#include "xgrad/data/mnist.hpp"
#include "xgrad/error.hpp"
#include "xgrad/random.hpp"

namespace fs = std::filesystem;
using xg::Array;
using xg::Scalar;
using namespace xg::data;

namespace {

using xg_test::TempDir;

// n samples of 3 features; sample i's features are (i, 10i, 100i) so any row
// names its sample. Labels i % classes.
Dataset numbered(std::size_t n, std::size_t classes = 4) {
  Dataset d;
  d.inputs = Array::from_shape({n, 3});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      d.inputs(i, j) = Scalar(i) * std::pow(Scalar(10), Scalar(j));
  for (std::size_t i = 0; i < n; ++i) d.labels.push_back(i % classes);
  d.targets = one_hot(d.labels, classes);
  return d;
}

// The sample indices of a batch, read back from its first feature column.
std::vector<std::size_t> ids(const Batch& b) {
  std::vector<std::size_t> out;
  for (std::size_t r = 0; r < b.size(); ++r)
    out.push_back(static_cast<std::size_t>(b.inputs(r, 0)));
  return out;
}

// All sample indices of one epoch in the order they came.
std::vector<std::size_t> epoch_ids(Batches& batches) {
  std::vector<std::size_t> out;
  while (batches.next()) {
    const auto b = ids(batches.batch());
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const xg::error& e) {
    return e.what();
  }
  FAIL("no xg::error thrown");
  return "";
}

}  // namespace

TEST_CASE("one_hot encodes labels and names a bad one", "[data]") {
  const Array y = one_hot({2, 0, 1}, 3);
  REQUIRE(y.shape() == xg::Shape{3, 3});
  const Array expected = {{0, 0, 1}, {1, 0, 0}, {0, 1, 0}};
  CHECK(y == expected);
  CHECK_THAT(error_of([] {
               one_hot({1, 2, 10, 3}, 10);
             }),
             Catch::Contains("index 2") && Catch::Contains("is 10") && Catch::Contains("< 10"));
  CHECK_THROWS_AS(one_hot({0}, 0), xg::value_error);
  CHECK(one_hot({}, 4).shape() == xg::Shape{0, 4});
}

TEST_CASE("count_correct compares each row's argmax with its label", "[data]") {
  const Array out = {{0.1, 0.7, 0.2}, {0.9, 0.05, 0.05}, {0.3, 0.3, 0.4}, {0.5, 0.5, 0.0}};
  CHECK(count_correct(out, {1, 0, 2, 0}) == 4);
  CHECK(count_correct(out, {1, 1, 2, 1}) == 2);  // the tie in row 3 goes to the first column
  CHECK(count_correct(out, {0, 1, 0, 2}) == 0);
  CHECK_THROWS_AS(count_correct(out, {1, 0, 2}), xg::shape_error);
  CHECK_THROWS_AS(count_correct(Array{0.1, 0.9}, {1}), xg::shape_error);
}

TEST_CASE("Dataset reports its sizes and slices contiguous copies", "[data]") {
  const Dataset d = numbered(10);
  CHECK(d.size() == 10);
  CHECK(d.features() == 3);
  CHECK(d.classes() == 4);
  CHECK(Dataset{}.size() == 0);

  const Dataset s = d.slice(3, 7);
  REQUIRE(s.size() == 4);
  CHECK(s.inputs(0, 0) == 3);
  CHECK(s.inputs(3, 2) == 600);
  CHECK(s.labels == std::vector<std::size_t>{3, 0, 1, 2});
  CHECK(s.targets(0, 3) == 1);
  CHECK(d.slice(4, 4).size() == 0);

  const Dataset t = d.take(2);
  CHECK(t.size() == 2);
  CHECK(t.inputs(1, 1) == 10);

  CHECK_THAT(error_of([&] { d.slice(5, 11); }),
             Catch::Contains("[5, 11)") && Catch::Contains("10"));
  CHECK_THROWS_AS(d.slice(6, 5), xg::value_error);
  CHECK_THROWS_AS(d.take(11), xg::value_error);

  Dataset bad = numbered(5);
  bad.labels.pop_back();
  CHECK_THROWS_AS(bad.check(), xg::shape_error);
  bad = numbered(5);
  bad.targets = one_hot({0, 1}, 4);
  CHECK_THROWS_AS(bad.slice(0, 1), xg::shape_error);
}

TEST_CASE("Batches without an rng walk the data in order, last batch partial", "[data]") {
  const Dataset d = numbered(10);
  Batches batches(d, 4);
  CHECK(batches.batches_per_epoch() == 3);
  for (int epoch = 1; epoch <= 2; ++epoch) {
    std::vector<std::vector<std::size_t>> seen;
    while (batches.next()) {
      const Batch& b = batches.batch();
      seen.push_back(ids(b));
      // Rows are exact copies, targets and labels travel with their inputs.
      for (std::size_t r = 0; r < b.size(); ++r) {
        const auto i = static_cast<std::size_t>(b.inputs(r, 0));
        CHECK(b.inputs(r, 2) == d.inputs(i, 2));
        CHECK(b.labels[r] == d.labels[i]);
        for (std::size_t c = 0; c < 4; ++c) CHECK(b.targets(r, c) == d.targets(i, c));
      }
      CHECK(b.inputs.shape() == xg::Shape{b.size(), 3});
      CHECK(b.targets.shape() == xg::Shape{b.size(), 4});
    }
    CHECK(batches.epoch() == static_cast<std::size_t>(epoch));
    CHECK(seen == std::vector<std::vector<std::size_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}});
  }
}

TEST_CASE("Batches reuse their buffers", "[data]") {
  const Dataset d = numbered(9);
  Batches batches(d, 3);
  REQUIRE(batches.next());
  const Scalar* inputs = batches.batch().inputs.data();
  const Scalar* targets = batches.batch().targets.data();
  while (batches.next()) {
    CHECK(batches.batch().inputs.data() == inputs);
    CHECK(batches.batch().targets.data() == targets);
  }
}

TEST_CASE("Batches shuffle each epoch reproducibly, every sample once", "[data]") {
  const Dataset d = numbered(23);
  std::vector<std::size_t> identity(23);
  std::iota(identity.begin(), identity.end(), std::size_t{0});

  xg::Rng rng(42);
  Batches batches(d, 5, &rng);
  const auto first = epoch_ids(batches);
  const auto second = epoch_ids(batches);
  for (const auto& epoch : {first, second}) {
    auto sorted = epoch;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == identity);  // each sample exactly once
  }
  CHECK(first != identity);
  CHECK(first != second);
  CHECK(batches.order() == second);

  xg::Rng again(42);
  Batches replay(d, 5, &again);
  CHECK(epoch_ids(replay) == first);
  CHECK(epoch_ids(replay) == second);

  xg::Rng other(43);
  Batches different(d, 5, &other);
  CHECK(epoch_ids(different) != first);
}

TEST_CASE("Batches restart abandons an epoch", "[data]") {
  const Dataset d = numbered(6);
  Batches batches(d, 4);
  REQUIRE(batches.next());
  batches.restart();
  REQUIRE(batches.next());
  CHECK(ids(batches.batch()) == std::vector<std::size_t>{0, 1, 2, 3});
  CHECK(batches.epoch() == 2);
}

TEST_CASE("Batches handle regression data and whole-set batches", "[data]") {
  Dataset d;
  d.inputs = Array{{1, 2}, {3, 4}, {5, 6}};
  d.targets = Array::from_shape({3, 1});
  d.targets(0, 0) = 0.5;
  d.targets(1, 0) = 1.5;
  d.targets(2, 0) = 2.5;
  Batches batches(d, 3);
  CHECK(batches.batches_per_epoch() == 1);
  REQUIRE(batches.next());
  CHECK(batches.batch().labels.empty());
  CHECK(batches.batch().inputs == d.inputs);
  CHECK(batches.batch().targets == d.targets);
  CHECK_FALSE(batches.next());
}

TEST_CASE("Batches reject a batch size of 0 or beyond the data", "[data]") {
  const Dataset d = numbered(10);
  CHECK_THAT(error_of([&] { Batches(d, 0); }),
             Catch::Contains("batch size 0") && Catch::Contains("10"));
  CHECK_THAT(error_of([&] { Batches(d, 11); }),
             Catch::Contains("batch size 11") && Catch::Contains("10"));
  CHECK_THROWS_AS(Batches(d, 0), xg::value_error);
}

namespace {

// A tiny MNIST-like directory: `train` and `test` images of rows × cols; image
// i's pixel j is (3i + j) % 256, its label i % 10. Train images are gzip-compressed
// to exercise the ".gz" fallback.
void write_fake_mnist(const TempDir& dir, std::size_t train, std::size_t test,
                      std::size_t rows = 28, std::size_t cols = 28) {
  auto images = [&](std::size_t n, std::size_t r, std::size_t c) {
    IdxArray a{{n, r, c}, std::vector<std::uint8_t>(n * r * c)};
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < r * c; ++j)
        a.data[i * r * c + j] = static_cast<std::uint8_t>((3 * i + j) % 256);
    return a;
  };
  auto labels = [](std::size_t n) {
    IdxArray a{{n}, std::vector<std::uint8_t>(n)};
    for (std::size_t i = 0; i < n; ++i) a.data[i] = static_cast<std::uint8_t>(i % 10);
    return a;
  };
  write_idx(dir.file("train-images-idx3-ubyte.gz"), images(train, rows, cols), true);
  write_idx(dir.file("train-labels-idx1-ubyte"), labels(train));
  write_idx(dir.file("t10k-images-idx3-ubyte"), images(test, rows, cols));
  write_idx(dir.file("t10k-labels-idx1-ubyte.gz"), labels(test), true);
}

}  // namespace

TEST_CASE("load_mnist splits, scales and encodes a MNIST-like directory", "[data]") {
  TempDir dir;
  write_fake_mnist(dir, 60, 20);
  const Mnist m = load_mnist(dir.path.string(), 50, 10);
  REQUIRE(m.training.size() == 50);
  REQUIRE(m.validation.size() == 10);
  REQUIRE(m.test.size() == 20);
  for (const Dataset* d : {&m.training, &m.validation, &m.test}) {
    CHECK(d->features() == 784);
    CHECK(d->classes() == 10);
    d->check();
  }
  // Pixel j of training image i is (3i + j) % 256, scaled by 1/255.
  CHECK(m.training.inputs(0, 0) == 0);
  CHECK(m.training.inputs(2, 5) == Approx(11.0 / 255));
  CHECK(m.training.inputs(0, 255) == Approx(1.0));
  // Validation is the last 10 training images: 50..59.
  CHECK(m.validation.inputs(0, 0) == Approx(150.0 / 255));
  CHECK(m.validation.labels.front() == 0);
  CHECK(m.validation.labels.back() == 9);
  CHECK(m.test.labels[13] == 3);
  CHECK(m.test.targets(13, 3) == 1);
  CHECK(xt::sum(m.test.targets)() == Approx(20));
  CHECK(xt::amax(m.training.inputs)() <= 1);
  CHECK(xt::amin(m.training.inputs)() >= 0);

  const Mnist small = load_mnist(dir.path.string(), 30, 10);
  CHECK(small.training.size() == 30);
  CHECK(small.training.inputs(29, 1) == m.training.inputs(29, 1));
  CHECK(small.validation.inputs == m.validation.inputs);

  CHECK_THROWS_AS(load_mnist(dir.path.string(), 51, 10), xg::value_error);
  CHECK_THROWS_AS(load_mnist(dir.path.string(), 0, 10), xg::value_error);
  CHECK_THROWS_AS(load_mnist(dir.path.string(), 10, 60), xg::value_error);
  CHECK_THROWS_AS(load_mnist(dir.path.string()), xg::value_error);  // 50000 of 60 images
}

TEST_CASE("load_mnist with byte storage gives exactly the Scalar path's values", "[data]") {
  TempDir dir;
  write_fake_mnist(dir, 60, 20);
  const Mnist scalars = load_mnist(dir.path.string(), 50, 10);
  const Mnist bytes = load_mnist(dir.path.string(), 50, 10, InputStorage::bytes);
  const Dataset* pairs[][2] = {{&scalars.training, &bytes.training},
                               {&scalars.validation, &bytes.validation},
                               {&scalars.test, &bytes.test}};
  for (auto& pair : pairs) {
    const Dataset& s = *pair[0];
    const Dataset& b = *pair[1];
    b.check();
    CHECK(b.stores_bytes());
    CHECK_FALSE(s.stores_bytes());
    CHECK(b.inputs.dimension() == 0);
    CHECK(b.byte_inputs.codes.size() == b.size() * 784);
    CHECK(b.size() == s.size());
    CHECK(b.features() == 784);
    CHECK(b.classes() == 10);
    CHECK((b.targets == s.targets));
    CHECK(b.labels == s.labels);
    CHECK((b.input_rows(0, b.size()) == s.inputs));  // bit for bit
    CHECK((b.input_rows(3, 7) == s.input_rows(3, 7)));
  }
  // Mini-batches and slices are identical too.
  xg::Rng r1(9), r2(9);
  Batches from_scalars(scalars.training, 7, &r1), from_bytes(bytes.training, 7, &r2);
  std::size_t batches = 0;
  while (from_scalars.next()) {
    REQUIRE(from_bytes.next());
    CHECK((from_bytes.batch().inputs == from_scalars.batch().inputs));
    CHECK((from_bytes.batch().targets == from_scalars.batch().targets));
    CHECK(from_bytes.batch().labels == from_scalars.batch().labels);
    ++batches;
  }
  CHECK(batches == 8);
  const Dataset part = bytes.training.slice(10, 20);
  CHECK(part.stores_bytes());
  CHECK((part.input_rows(0, 10) == scalars.training.input_rows(10, 20)));
  CHECK(bytes.training.take(5).size() == 5);
  const Dataset none = bytes.training.take(0);  // empty, still 784 wide
  none.check();
  CHECK(none.stores_bytes());
  CHECK(none.size() == 0);
  CHECK(none.features() == 784);
  CHECK(load_mnist(dir.path.string(), 50, 0, InputStorage::bytes).validation.features() == 784);
  CHECK_THROWS_AS(bytes.training.input_rows(40, 51), xg::value_error);
  CHECK_THROWS_AS(bytes.training.input_rows(5, 4), xg::value_error);
}

TEST_CASE("byte inputs decode to exactly code / divisor, every code and divisor", "[data]") {
  // Every code 0..255 in rows of several widths (vector loop and its tail),
  // against a true division, bit for bit, for divisors whose reciprocal is
  // inexact (255: a plain product by 1/255 differs for 126 float codes).
  for (const double divisor : {255.0, 1.0, 256.0, 3.0, 7.0, 100.0, 0.3, 1e-3, 1e30}) {
    for (const std::size_t width : {std::size_t(1), std::size_t(17), std::size_t(256)}) {
      Dataset d;
      d.byte_inputs.rows = (256 + width - 1) / width;
      d.byte_inputs.cols = width;
      d.byte_inputs.divisor = static_cast<Scalar>(divisor);
      d.byte_inputs.codes.resize(d.byte_inputs.rows * width);
      for (std::size_t k = 0; k < d.byte_inputs.codes.size(); ++k)
        d.byte_inputs.codes[k] = static_cast<std::uint8_t>((k * 167 + 13) % 256);  // all 256 codes
      d.targets = xt::zeros<Scalar>({d.byte_inputs.rows, std::size_t(1)});
      d.check();
      const Array decoded = d.input_rows(0, d.size());
      std::size_t differ = 0;
      for (std::size_t k = 0; k < decoded.size(); ++k) {
        const Scalar expected = Scalar(d.byte_inputs.codes[k]) / d.byte_inputs.divisor;
        differ += std::memcmp(&decoded.data()[k], &expected, sizeof(Scalar)) != 0;
      }
      INFO("divisor " << divisor << ", width " << width);
      CHECK(differ == 0);
    }
  }
}

TEST_CASE("Dataset::check rejects inconsistent byte inputs", "[data]") {
  Dataset d;
  d.byte_inputs.codes = {0, 51, 102, 153, 204, 255};
  d.byte_inputs.rows = 2;
  d.byte_inputs.cols = 3;
  d.byte_inputs.divisor = 255;
  d.labels = {0, 1};
  d.targets = one_hot(d.labels, 2);
  d.check();
  CHECK((d.input_rows(1, 2) == Array{{Scalar(153) / 255, Scalar(204) / 255, Scalar(1)}}));

  Dataset both = d;
  both.inputs = xt::zeros<Scalar>({2, 3});
  CHECK_THAT(error_of([&] { both.check(); }), Catch::Contains("both hold data"));
  Dataset short_codes = d;
  short_codes.byte_inputs.codes.pop_back();
  CHECK_THAT(error_of([&] { short_codes.check(); }),
             Catch::Contains("2 × 3") && Catch::Contains("got 5"));
  Dataset zero_divisor = d;
  zero_divisor.byte_inputs.divisor = 0;
  CHECK_THROWS_AS(zero_divisor.check(), xg::value_error);
  Dataset more_rows = d;
  more_rows.byte_inputs.rows = 3;
  more_rows.byte_inputs.codes.resize(9);
  CHECK_THAT(error_of([&] { more_rows.check(); }), Catch::Contains("3 input rows"));
  Dataset huge = d;
  huge.byte_inputs.rows = std::size_t(1) << 62;
  huge.byte_inputs.cols = 16;
  CHECK_THAT(error_of([&] { huge.check(); }), Catch::Contains("overflow"));
  Dataset unlabelled = d;  // inputs alone are enough for check_inputs (prediction)
  unlabelled.targets = Array();
  unlabelled.labels.clear();
  unlabelled.check_inputs();
  CHECK_THROWS_AS(unlabelled.check(), xg::shape_error);
  CHECK_THROWS_AS(Batches(more_rows, 1), xg::shape_error);
}

TEST_CASE("load_mnist explains missing data and malformed files", "[data]") {
  TempDir dir;
  const std::string root = dir.path.string();
  SECTION("missing directory") {
    const auto msg = error_of([&] { load_mnist(root + "/nope"); });
    CHECK_THAT(msg, Catch::Contains(root + "/nope") && Catch::Contains("scripts/fetch-mnist"));
  }
  SECTION("missing file") {
    write_fake_mnist(dir, 30, 10);
    fs::remove(dir.file("t10k-images-idx3-ubyte"));
    CHECK_THROWS_AS(load_mnist(root, 10, 10), xg::io_error);
    const auto msg = error_of([&] { load_mnist(root, 10, 10); });
    CHECK_THAT(msg,
               Catch::Contains("t10k-images-idx3-ubyte") && Catch::Contains("scripts/fetch-mnist"));
  }
  SECTION("label out of range") {
    write_fake_mnist(dir, 30, 10);
    write_idx(dir.file("t10k-labels-idx1-ubyte"), IdxArray{{10}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 10}});
    const auto msg = error_of([&] { load_mnist(root, 10, 10); });
    CHECK_THAT(msg, Catch::Contains("t10k-labels-idx1-ubyte") && Catch::Contains("index 9 is 10"));
  }
  SECTION("image and label counts differ") {
    write_fake_mnist(dir, 30, 10);
    write_idx(dir.file("train-labels-idx1-ubyte"), IdxArray{{29}, std::vector<std::uint8_t>(29)});
    CHECK_THAT(error_of([&] { load_mnist(root, 10, 10); }),
               Catch::Contains("30 images") && Catch::Contains("29 labels"));
  }
  SECTION("images not rank 3") {
    write_fake_mnist(dir, 30, 10);
    write_idx(dir.file("t10k-images-idx3-ubyte"),
              IdxArray{{10, 784}, std::vector<std::uint8_t>(7840)});
    CHECK_THAT(error_of([&] { load_mnist(root, 10, 10); }), Catch::Contains("rank 3"));
  }
  SECTION("test images of another size") {
    write_fake_mnist(dir, 30, 10);
    write_idx(dir.file("t10k-images-idx3-ubyte"),
              IdxArray{{10, 14, 14}, std::vector<std::uint8_t>(1960)});
    CHECK_THAT(error_of([&] { load_mnist(root, 10, 10); }), Catch::Contains("(14, 14)"));
  }
  SECTION("corrupt file inside the directory") {
    write_fake_mnist(dir, 30, 10);
    fs::resize_file(dir.file("t10k-images-idx3-ubyte"), 100);
    CHECK_THAT(error_of([&] { load_mnist(root, 10, 10); }),
               Catch::Contains("t10k-images-idx3-ubyte") && Catch::Contains("truncated"));
  }
}

TEST_CASE("load_mnist reads the real MNIST", "[data][mnist]") {
  const std::string dir = xg_test::require_mnist();  // skipped, never passed, without it
  const Mnist m = load_mnist(dir);
  CHECK(m.training.inputs.shape() == xg::Shape{50000, 784});
  CHECK(m.training.targets.shape() == xg::Shape{50000, 10});
  CHECK(m.validation.size() == 10000);
  CHECK(m.test.size() == 10000);
  CHECK(m.training.labels.front() == 5);
  CHECK(m.training.targets(0, 5) == 1);
  CHECK(m.test.labels.front() == 7);
  CHECK(xt::amax(m.training.inputs)() == 1);
  CHECK(xt::amin(m.training.inputs)() == 0);
  const Mnist small = load_mnist(dir, 1000);
  CHECK(small.training.size() == 1000);
  CHECK(small.training.labels.front() == 5);
  const Mnist bytes = load_mnist(dir, 50000, 10000, InputStorage::bytes);
  CHECK(bytes.training.byte_inputs.codes.size() == 50000u * 784u);
  CHECK((bytes.test.input_rows(0, 10000) == m.test.inputs));
}

TEST_CASE("Batches continue exactly from a saved order", "[data]") {
  const Dataset d = numbered(12);
  xg::Rng r1(7);
  Batches straight(d, 4, &r1);
  while (straight.next()) {
  }
  const std::vector<std::size_t> saved = straight.order();
  const std::string rng_state = r1.state();
  while (straight.next()) {
  }
  // A fresh walker given the saved order and engine state repeats epoch 2.
  xg::Rng r2(0);
  r2.restore(rng_state);
  Batches resumed(d, 4, &r2);
  resumed.set_order(saved);
  while (resumed.next()) {
  }
  CHECK(resumed.order() == straight.order());
  CHECK_THROWS_AS(resumed.set_order({0, 1, 2}), xg::value_error);
  CHECK_THROWS_AS(resumed.set_order({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10}), xg::value_error);
}
