// IDX reading and writing: good files round-trip, every kind of damage is an
// io_error that names the file, and lying headers are refused before allocating.
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "temp_dir.hpp"
#include "xgrad/data/idx.hpp"
#include "xgrad/error.hpp"
#include "xgrad/random.hpp"

namespace fs = std::filesystem;
using xg::data::IdxArray;
using xg::data::read_idx;
using xg::data::write_idx;
using Bytes = std::vector<std::uint8_t>;

namespace {

using xg_test::TempDir;

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void write_gzip_bytes(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Header bytes: 0 0 type rank, then big-endian dims.
Bytes header(std::uint8_t type, const std::vector<std::uint32_t>& dims) {
  Bytes h = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (auto d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) h.push_back(static_cast<std::uint8_t>(d >> shift));
  return h;
}

Bytes with_data(Bytes h, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) h.push_back(static_cast<std::uint8_t>(i * 37));
  return h;
}

IdxArray sample_array(std::vector<std::size_t> shape) {
  IdxArray a;
  a.shape = std::move(shape);
  a.data.resize(a.elements());
  for (std::size_t i = 0; i < a.data.size(); ++i) a.data[i] = static_cast<std::uint8_t>(i * 13 + 5);
  return a;
}

// The message of the io_error read_idx throws; fails the test if none is thrown.
std::string read_error(const std::string& path) {
  try {
    read_idx(path);
  } catch (const xg::io_error& e) {
    return e.what();
  }
  FAIL("read_idx(" << path << ") did not throw xg::io_error");
  return "";
}

}  // namespace

TEST_CASE("write_idx writes the documented byte layout", "[data]") {
  TempDir dir;
  const auto path = dir.file("a-idx3-ubyte");
  write_idx(path, sample_array({3, 2, 2}));
  const Bytes bytes = read_bytes(path);
  REQUIRE(bytes.size() == 4 + 3 * 4 + 12);
  CHECK(Bytes(bytes.begin(), bytes.begin() + 16) == header(0x08, {3, 2, 2}));
  CHECK(Bytes(bytes.begin() + 16, bytes.end()) == sample_array({3, 2, 2}).data);
  CHECK_FALSE(fs::exists(path + ".partial"));
}

TEST_CASE("read_idx round-trips raw files of rank 1 to 4", "[data]") {
  TempDir dir;
  for (const auto& shape :
       std::vector<std::vector<std::size_t>>{{7}, {3, 5}, {4, 28, 28}, {2, 3, 4, 5}}) {
    const auto path = dir.file("r" + std::to_string(shape.size()));
    const IdxArray written = sample_array(shape);
    write_idx(path, written);
    const IdxArray back = read_idx(path);
    CHECK(back.shape == shape);
    CHECK(back.data == written.data);
  }
}

TEST_CASE("read_idx reads gzip files by their magic, whatever the name", "[data]") {
  TempDir dir;
  const IdxArray written = sample_array({5, 28, 28});
  for (const std::string name : {"images-idx3-ubyte.gz", "no-suffix"}) {
    const auto path = dir.file(name);
    write_idx(path, written, /*gzip=*/true);
    const Bytes bytes = read_bytes(path);
    REQUIRE(bytes.size() > 2);
    CHECK(bytes[0] == 0x1f);
    CHECK(bytes[1] == 0x8b);
    CHECK(bytes.size() < written.data.size());  // really compressed
    const IdxArray back = read_idx(path);
    CHECK(back.shape == written.shape);
    CHECK(back.data == written.data);
  }
}

TEST_CASE("read_idx reads a gzip file larger than its first growth step", "[data]") {
  // 3 MiB crosses the 1 MiB initial buffer and two doublings.
  TempDir dir;
  const auto path = dir.file("big.gz");
  const IdxArray written = sample_array({3, 1024, 1024});
  write_idx(path, written, true);
  const IdxArray back = read_idx(path);
  CHECK(back.shape == written.shape);
  CHECK(back.data == written.data);
}

TEST_CASE("read_idx rejects truncated and oversized data", "[data]") {
  TempDir dir;
  SECTION("raw truncated") {
    const auto path = dir.file("short");
    write_bytes(path, with_data(header(0x08, {3, 2, 2}), 5));
    const auto msg = read_error(path);
    CHECK_THAT(msg, Catch::Contains(path) && Catch::Contains("truncated") &&
                        Catch::Contains("header says 12 bytes of data, file has 5"));
  }
  SECTION("raw trailing bytes") {
    const auto path = dir.file("long");
    write_bytes(path, with_data(header(0x08, {3, 2, 2}), 13));
    const auto msg = read_error(path);
    CHECK_THAT(msg, Catch::Contains(path) && Catch::Contains("trailing bytes") &&
                        Catch::Contains("1 extra"));
  }
  SECTION("gzip truncated") {
    const auto path = dir.file("short.gz");
    write_gzip_bytes(path, with_data(header(0x08, {3, 2, 2}), 11));
    CHECK_THAT(read_error(path), Catch::Contains(path) && Catch::Contains("truncated") &&
                                     Catch::Contains("stream has 11"));
  }
  SECTION("gzip trailing bytes") {
    const auto path = dir.file("long.gz");
    write_gzip_bytes(path, with_data(header(0x08, {3, 2, 2}), 20));
    CHECK_THAT(read_error(path), Catch::Contains(path) && Catch::Contains("trailing bytes"));
  }
  SECTION("gzip stream cut off mid-file") {
    const auto path = dir.file("cut.gz");
    write_idx(path, sample_array({4, 28, 28}), true);
    Bytes bytes = read_bytes(path);
    bytes.resize(bytes.size() / 2);
    write_bytes(path, bytes);
    CHECK_THAT(read_error(path), Catch::Contains(path));
  }
  SECTION("header only, no data") {
    const auto path = dir.file("empty-data");
    write_bytes(path, header(0x08, {2}));
    CHECK_THAT(read_error(path), Catch::Contains("truncated"));
  }
}

TEST_CASE("read_idx rejects malformed headers", "[data]") {
  TempDir dir;
  const auto path = dir.file("bad-header");
  SECTION("wrong magic") {
    Bytes b = with_data(header(0x08, {4}), 4);
    b[0] = 0x12;
    b[1] = 0x34;
    write_bytes(path, b);
    CHECK_THAT(read_error(path), Catch::Contains(path) && Catch::Contains("bad magic number") &&
                                     Catch::Contains("0x12 0x34"));
  }
  SECTION("known but unsupported element type") {
    write_bytes(path, with_data(header(0x0D, {2}), 8));
    CHECK_THAT(read_error(path), Catch::Contains("0x0D") && Catch::Contains("float32") &&
                                     Catch::Contains("not supported"));
  }
  SECTION("unknown element type") {
    write_bytes(path, with_data(header(0x05, {2}), 2));
    CHECK_THAT(read_error(path), Catch::Contains("unknown element type 0x05"));
  }
  SECTION("rank 0") {
    write_bytes(path, header(0x08, {}));
    CHECK_THAT(read_error(path), Catch::Contains(path) && Catch::Contains("rank 0"));
  }
  SECTION("rank 5") {
    write_bytes(path, with_data(header(0x08, {1, 1, 1, 1, 1}), 1));
    CHECK_THAT(read_error(path), Catch::Contains("rank 5"));
  }
  SECTION("zero dimension") {
    write_bytes(path, header(0x08, {60000, 0, 28}));
    CHECK_THAT(read_error(path), Catch::Contains("dimension 1 of shape (60000, 0, 28) is zero"));
  }
  SECTION("file shorter than the magic") {
    write_bytes(path, {0, 0});
    CHECK_THAT(read_error(path),
               Catch::Contains("truncated header") && Catch::Contains("has 2 bytes"));
  }
  SECTION("empty file") {
    write_bytes(path, {});
    CHECK_THAT(read_error(path), Catch::Contains("truncated header"));
  }
  SECTION("dimensions cut off") {
    Bytes b = header(0x08, {10, 10, 10});
    b.resize(9);
    write_bytes(path, b);
    CHECK_THAT(read_error(path), Catch::Contains("truncated header") && Catch::Contains("rank 3"));
  }
}

TEST_CASE("read_idx refuses absurd headers before allocating", "[data]") {
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  SECTION("10^12 elements, raw") {
    const auto path = dir.file("huge");
    write_bytes(path, with_data(header(0x08, {10000, 10000, 10000}), 100));
    CHECK_THAT(read_error(path), Catch::Contains(path) &&
                                     Catch::Contains("(10000, 10000, 10000)") &&
                                     Catch::Contains("more than"));
  }
  SECTION("10^12 elements, gzip") {
    const auto path = dir.file("huge.gz");
    write_gzip_bytes(path, with_data(header(0x08, {10000, 10000, 10000}), 100));
    CHECK_THAT(read_error(path), Catch::Contains("more than"));
  }
  SECTION("2^128-ish elements does not overflow the check") {
    const auto path = dir.file("overflow");
    write_bytes(path, header(0x08, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}));
    CHECK_THAT(read_error(path), Catch::Contains("more than"));
  }
  SECTION("under the bound but far more than the raw file holds") {
    const auto path = dir.file("liar");
    write_bytes(path, with_data(header(0x08, {1u << 30}), 10));
    CHECK_THAT(read_error(path),
               Catch::Contains("header says 1073741824 bytes of data, file has 10"));
  }
  SECTION("under the bound but far more than the gzip stream holds") {
    // Read incrementally: fails at the stream's end after a 1 MiB buffer.
    const auto path = dir.file("liar.gz");
    write_gzip_bytes(path, with_data(header(0x08, {1u << 30}), 10));
    CHECK_THAT(read_error(path), Catch::Contains("truncated") && Catch::Contains("stream has 10"));
  }
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(seconds < 0.5);
}

TEST_CASE("read_idx turns random bytes into io_errors", "[data]") {
  TempDir dir;
  xg::Rng rng(1234);
  for (int trial = 0; trial < 200; ++trial) {
    const auto path = dir.file("random" + std::to_string(trial));
    Bytes b(rng.below(300));
    for (auto& x : b) x = static_cast<std::uint8_t>(rng.below(256));
    // A third of the files pose as gzip so the decompressor sees garbage too.
    if (trial % 3 == 0 && b.size() >= 2) {
      b[0] = 0x1f;
      b[1] = 0x8b;
    }
    write_bytes(path, b);
    CHECK_THROWS_AS(read_idx(path), xg::io_error);
  }
}

TEST_CASE("read_idx names a missing file or a directory", "[data]") {
  TempDir dir;
  const auto missing = dir.file("no-such-file-idx3-ubyte");
  CHECK_THAT(read_error(missing), Catch::Contains(missing) && Catch::Contains("cannot open"));
  CHECK_THAT(read_error(dir.path.string()), Catch::Contains("is a directory"));
}

TEST_CASE("write_idx validates its argument", "[data]") {
  TempDir dir;
  const auto path = dir.file("out");
  IdxArray a = sample_array({2, 3});
  a.data.pop_back();
  CHECK_THROWS_AS(write_idx(path, a), xg::value_error);
  CHECK_THROWS_AS(write_idx(path, IdxArray{}), xg::value_error);
  CHECK_THROWS_AS(write_idx(path, IdxArray{{2, 0}, {}}), xg::value_error);
  CHECK_THROWS_AS(write_idx(path, sample_array({1, 1, 1, 1, 1})), xg::value_error);
  CHECK_FALSE(fs::exists(path));
  CHECK_THROWS_AS(write_idx(dir.file("no-dir/out"), sample_array({2})), xg::io_error);
}
