// .npy files (round trips, NumPy's exact layout, hardening against hostile
// files), model directories (save -> load -> bit-identical predictions,
// validation, failed loads leaving the model untouched) and atomic saves.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <xtensor/xbuilder.hpp>

#include "compare.hpp"
#include "temp_dir.hpp"
#include "util/file.hpp"
#include "xgrad/error.hpp"
#include "xgrad/io/model.hpp"
#include "xgrad/io/npy.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/random.hpp"

using namespace xg;
using Catch::Contains;
namespace fs = std::filesystem;

using xg_test::same_bits;

namespace {

using xg_test::TempDir;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// A .npy file built by hand: magic, version, header length, `dict` padded to
/// 64 bytes with a final '\n', then `data`.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1,
                     int minor = 0) {
  const std::size_t len_size = major == 1 ? 2 : 4;
  std::string header = dict;
  while ((6 + 2 + len_size + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += static_cast<char>(minor);
  for (std::size_t k = 0; k < len_size; ++k)
    out += static_cast<char>((header.size() >> (8 * k)) & 0xff);
  return out + header + data;
}

std::string le_f8(const std::vector<double>& values) {
  std::string out;
  for (double d : values) {
    std::uint64_t bits;
    std::memcpy(&bits, &d, 8);
    for (int k = 0; k < 8; ++k) out += static_cast<char>((bits >> (8 * k)) & 0xff);
  }
  return out;
}

std::string le_f4(const std::vector<float>& values) {
  std::string out;
  for (float f : values) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    for (int k = 0; k < 4; ++k) out += static_cast<char>((bits >> (8 * k)) & 0xff);
  }
  return out;
}

std::vector<Array> values_of(const nn::Module& m) {
  std::vector<Array> out;
  for (const Tensor& p : m.parameters()) out.push_back(p.value());
  return out;
}

bool same_values(const std::vector<Array>& a, const std::vector<Array>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!same_bits(a[i], b[i])) return false;
  return true;
}

Array predict(nn::Module& m, const Array& x) {
  NoGradGuard no_grad;
  m.eval();
  return m(Tensor(x)).value();
}

std::shared_ptr<nn::Sequential> sigmoid_softmax_net(std::uint64_t seed) {
  Rng rng(seed);
  return nn::mlp({6, 5, 3}, "sigmoid", rng, nn::Init::default_, "softmax");
}

std::shared_ptr<nn::Sequential> mixed_net(std::uint64_t seed) {
  Rng rng(seed);
  auto net = std::make_shared<nn::Sequential>();
  net->add(std::make_shared<nn::Linear>(6, 5, rng))
      .add(std::make_shared<nn::Tanh>())
      .add(std::make_shared<nn::Dropout>(0.5, rng))
      .add(std::make_shared<nn::Linear>(5, 4, rng, nn::Init::he))
      .add(std::make_shared<nn::ReLU>())
      .add(std::make_shared<nn::Linear>(4, 3, rng))
      .add(std::make_shared<nn::Identity>());
  return net;
}

/// Expects `f` to throw io_error whose message contains every piece.
template <class F>
void require_io_error(F&& f, std::initializer_list<std::string> pieces) {
  try {
    f();
  } catch (const io_error& e) {
    const std::string msg = e.what();
    INFO("message: " << msg);
    for (const auto& p : pieces) CHECK_THAT(msg, Contains(p));
    return;
  }
  FAIL("expected an io_error");
}

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(read_bytes(path));
}
void write_json(const std::string& path, const nlohmann::json& j) { write_bytes(path, j.dump(2)); }

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

// ------------------------------------------------------------------ npy

TEST_CASE("npy: round trip of 0-d, 1-d, 2-d, 3-d and empty arrays", "[io]") {
  Rng rng(7);
  TempDir tmp;
  std::vector<Array> arrays = {Array(Scalar(3.25)), rng.normal_array({5}), rng.normal_array({3, 4}),
                               rng.normal_array({2, 3, 4}), Array::from_shape({0, 3})};
  arrays[1](0) = std::numeric_limits<Scalar>::denorm_min();
  arrays[1](1) = -0.0;
  arrays[1](2) = std::numeric_limits<Scalar>::max();
  for (std::size_t k = 0; k < arrays.size(); ++k) {
    INFO("array " << k << " of shape " << shape_str(arrays[k].shape()));
    const Array back = io::decode_npy(io::encode_npy(arrays[k]));
    CHECK(same_bits(back, arrays[k]));
    const std::string path = tmp / ("a" + std::to_string(k) + ".npy");
    io::save_npy(path, arrays[k]);
    CHECK(same_bits(io::load_npy(path), arrays[k]));
  }
  CHECK(io::load_npy(tmp / "a0.npy").dimension() == 0);
  CHECK(entries(tmp.path).size() == arrays.size());  // no temporary files left behind
}

TEST_CASE("npy: writes NumPy's exact layout (version 1.0, C order, 64-byte aligned data)", "[io]") {
  const std::string bytes = io::encode_npy(Array::from_shape({2, 3, 4}));
  REQUIRE(bytes.size() > 10);
  CHECK(bytes.compare(0, 6, "\x93NUMPY") == 0);
  CHECK(bytes[6] == 1);
  CHECK(bytes[7] == 0);
  const std::size_t header_len =
      static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
  CHECK((10 + header_len) % 64 == 0);
  const std::string header = bytes.substr(10, header_len);
  const std::string dict = std::string("{'descr': '") + io::npy_dtype() +
                           "', 'fortran_order': False, 'shape': (2, 3, 4), }";
  REQUIRE(header_len > dict.size());
  CHECK(header == dict + std::string(header_len - dict.size() - 1, ' ') + "\n");
  CHECK(bytes.size() == 10 + header_len + 24 * sizeof(Scalar));
  CHECK(std::string(io::npy_dtype()) == (sizeof(Scalar) == 8 ? "<f8" : "<f4"));

  CHECK_THAT(io::encode_npy(Array::from_shape({5})), Contains("'shape': (5,), }"));
  CHECK_THAT(io::encode_npy(Array(Scalar(1))), Contains("'shape': (), }"));

  // Row-major data, little-endian: element [0, 1] comes second.
  Array a{{1.5, 2.5}, {3.5, 4.5}};
  const std::string b = io::encode_npy(a);
  const std::string data = b.substr(b.size() - 4 * sizeof(Scalar));
  CHECK(data ==
        (sizeof(Scalar) == 8 ? le_f8({1.5, 2.5, 3.5, 4.5}) : le_f4({1.5f, 2.5f, 3.5f, 4.5f})));
}

TEST_CASE("npy: reads what NumPy writes, '<f8' and '<f4', any key order, version 2.0", "[io]") {
  const Array f8 = io::decode_npy(npy_file(
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", le_f8({1, -2, 0.5, 1e300})));
  CHECK(f8.shape() == Shape{2, 2});
  CHECK(f8(1, 0) == Scalar(0.5));
  CHECK(f8(0, 1) == Scalar(-2));

  const Array f4 = io::decode_npy(npy_file(
      "{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}", le_f4({0.25f, -1.5f, 3.0f})));
  CHECK(f4.shape() == Shape{3});
  CHECK(f4(0) == Scalar(0.25));
  CHECK(f4(1) == Scalar(-1.5));

  const Array v2 = io::decode_npy(
      npy_file("{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": ()}", le_f8({7}), 2, 0));
  CHECK(v2.dimension() == 0);
  CHECK(v2() == Scalar(7));
}

TEST_CASE("npy: malformed and hostile files are rejected with io_error naming the file", "[io]") {
  TempDir tmp;
  const std::string good_dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
  const std::string two = le_f8({1, 2});
  std::string bad_magic = npy_file(good_dict, two);
  bad_magic[1] = 'X';
  std::string long_header = npy_file(good_dict, two);
  long_header[8] = '\xff';
  long_header[9] = '\xff';

  struct Case {
    const char* name;
    std::string bytes;
    const char* problem;
  };
  const std::vector<Case> cases = {
      {"empty", "", "too short"},
      {"bad_magic", bad_magic, "not a .npy file"},
      {"text", "hello, this is not an array at all\n", "not a .npy file"},
      {"version_4", npy_file(good_dict, two, 4, 0), "unsupported format version 4.0"},
      {"version_1_1", npy_file(good_dict, two, 1, 1), "unsupported format version 1.1"},
      {"header_past_end", long_header, "past the end"},
      {"fortran", npy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (2,), }", two),
       "fortran_order"},
      {"int64", npy_file("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", two),
       "unsupported dtype '<i8'"},
      {"big_endian", npy_file("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", two),
       "unsupported dtype '>f8'"},
      {"half", npy_file("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", two),
       "unsupported dtype"},
      {"structured",
       npy_file("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }", two),
       "structured"},
      {"truncated", npy_file(good_dict, two.substr(0, 12)), "truncated"},
      {"trailing", npy_file(good_dict, two + "xx"), "trailing bytes"},
      {"huge_shape",
       npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }", two),
       "truncated"},
      {"overflowing_shape",
       npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }",
                two),
       "more than 2^64"},
      {"missing_key", npy_file("{'descr': '<f8', 'shape': (2,), }", two),
       "missing key 'fortran_order'"},
      {"extra_key",
       npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}", two),
       "unexpected key"},
      {"duplicate_key",
       npy_file("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", two),
       "twice"},
      {"not_a_tuple", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2), }", two),
       "(n,)"},
      {"negative_dim", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }", two),
       "non-negative"},
      {"code", npy_file("__import__('os').system('true')", two), "malformed header"},
  };
  for (const Case& c : cases) {
    INFO("case " << c.name);
    const std::string path = tmp / (std::string(c.name) + ".npy");
    write_bytes(path, c.bytes);
    require_io_error([&] { io::load_npy(path); }, {path, c.problem});
    require_io_error([&] { io::decode_npy(c.bytes, c.name); }, {c.name, c.problem});
  }

  // Random bytes, and random corruptions of a valid file: an error or an array, never a crash.
  Rng rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    std::string bytes(rng.below(300), '\0');
    for (char& ch : bytes) ch = static_cast<char>(rng.below(256));
    CHECK_THROWS_AS(io::decode_npy(bytes, "random"), io_error);
    std::string flipped = npy_file(good_dict, two);
    flipped[rng.below(flipped.size())] = static_cast<char>(rng.below(256));
    try {
      io::decode_npy(flipped, "flipped");
    } catch (const io_error&) {
    }
  }
  require_io_error([&] { io::load_npy(tmp / "absent.npy"); }, {"absent.npy", "no such file"});
  require_io_error([&] { io::load_npy(tmp.path.string()); }, {"not a regular file"});
}

// ------------------------------------------------------------------ models

TEST_CASE("model: save -> load gives bit-identical predictions (sigmoid/softmax)", "[io]") {
  TempDir tmp;
  auto net = sigmoid_softmax_net(11);
  const std::string dir = tmp / "model";
  io::save_model(dir, *net, "log-likelihood", R"({"accuracy": 0.9312, "experiment": "demo"})");

  CHECK(entries(dir) == std::vector<std::string>{"0.bias.npy", "0.weight.npy", "2.bias.npy",
                                                 "2.weight.npy", "model.json"});
  const auto manifest = read_json(tmp / "model/model.json");
  CHECK(manifest["format"] == "xgrad-model");
  CHECK(manifest["version"] == io::kModelVersion);
  CHECK(manifest["cost"] == "log-likelihood");
  CHECK(manifest["metadata"]["accuracy"] == 0.9312);
  const auto& layers = manifest["architecture"]["layers"];
  REQUIRE(layers.size() == 4);
  CHECK(layers[0] == nlohmann::json({{"type", "Linear"}, {"in", 6}, {"out", 5}}));
  CHECK(layers[1] == nlohmann::json({{"type", "activation"}, {"name", "sigmoid"}}));
  CHECK(layers[3] == nlohmann::json({{"type", "activation"}, {"name", "softmax"}}));
  CHECK(manifest["parameters"][0] == nlohmann::json({{"name", "0.weight"},
                                                     {"shape", {5, 6}},
                                                     {"file", "0.weight.npy"},
                                                     {"dtype", io::npy_dtype()},
                                                     {"decay", true}}));
  CHECK(manifest["parameters"][1]["decay"] == false);  // 0.bias: L2 applies to weights only

  const io::LoadedModel loaded = io::load_model(dir);
  REQUIRE(loaded.model);
  CHECK(loaded.cost == "log-likelihood");
  CHECK(nlohmann::json::parse(loaded.metadata_json) ==
        nlohmann::json({{"accuracy", 0.9312}, {"experiment", "demo"}}));
  CHECK(loaded.model->describe() == net->describe());
  CHECK(same_values(values_of(*loaded.model), values_of(*net)));
  Rng rng(5);
  const Array x = rng.normal_array({8, 6});
  CHECK(same_bits(predict(*loaded.model, x), predict(*net, x)));
}

TEST_CASE("model: tanh/relu/dropout/identity network and a nested Sequential round trip", "[io]") {
  TempDir tmp;
  auto net = mixed_net(21);
  auto outer = std::make_shared<nn::Sequential>();
  outer->add(net).add(std::make_shared<nn::Softmax>());
  io::save_model(tmp / "mixed", *net);
  io::save_model(tmp / "nested", *outer, "", "");
  Rng rng(9);
  const Array x = rng.normal_array({4, 6});
  for (const char* name : {"mixed", "nested"}) {
    INFO(name);
    auto loaded = io::load_model(tmp / name);
    CHECK(loaded.cost.empty());
    CHECK(loaded.metadata_json == "{}");
    auto& original = std::string(name) == "mixed" ? static_cast<nn::Module&>(*net) : *outer;
    CHECK(loaded.model->describe() == original.describe());
    CHECK(same_bits(predict(*loaded.model, x), predict(original, x)));
  }
  const auto layers = read_json(tmp / "mixed/model.json")["architecture"]["layers"];
  CHECK(layers[2] == nlohmann::json({{"type", "Dropout"}, {"p", 0.5}}));
  CHECK(layers[6] == nlohmann::json({{"type", "activation"}, {"name", "identity"}}));
  CHECK(read_json(tmp / "nested/model.json")["parameters"][0]["name"] == "0.0.weight");
}

TEST_CASE("model: load_parameters fills an existing model and failures leave it untouched",
          "[io]") {
  TempDir tmp;
  auto saved = sigmoid_softmax_net(1);
  const std::string dir = tmp / "m";
  io::save_model(dir, *saved);

  auto target = sigmoid_softmax_net(2);
  const Tensor w0 = target->parameters()[0];
  io::load_parameters(*target, dir);
  CHECK(same_values(values_of(*target), values_of(*saved)));
  CHECK(w0.value() == saved->parameters()[0].value());  // in place: the old handle sees it

  // Each case breaks the LAST parameter file, so a loader that assigned as it
  // went would already have changed the first ones.
  auto victim = sigmoid_softmax_net(3);
  const auto before = values_of(*victim);
  const std::string last = dir + "/2.bias.npy";
  const std::string good = read_bytes(last);
  auto expect_untouched = [&](std::initializer_list<std::string> pieces) {
    require_io_error([&] { io::load_parameters(*victim, dir); }, pieces);
    CHECK(same_values(values_of(*victim), before));
  };
  SECTION("wrong shape in the file") {
    io::save_npy(last, Array::from_shape({4}));
    expect_untouched({"2.bias.npy", "(4,)", "(3,)"});
  }
  SECTION("wrong shape in file and manifest alike") {
    io::save_npy(last, xt::zeros<Scalar>({4}));
    auto j = read_json(dir + "/model.json");
    j["parameters"][3]["shape"] = {4};
    write_json(dir + "/model.json", j);
    expect_untouched({"model.json", "2.bias", "(4,)", "(3,)"});
  }
  SECTION("missing file") {
    fs::remove(last);
    expect_untouched({"2.bias.npy", "missing"});
  }
  SECTION("truncated file") {
    write_bytes(last, good.substr(0, good.size() - 3));
    expect_untouched({"2.bias.npy", "truncated"});
  }
  SECTION("wrong magic") {
    std::string bytes = good;
    bytes[0] = 'P';
    write_bytes(last, bytes);
    expect_untouched({"2.bias.npy", "not a .npy file"});
  }
  SECTION("NaN value") {
    Array nan = xt::zeros<Scalar>({3});
    nan(1) = std::numeric_limits<Scalar>::quiet_NaN();
    io::save_npy(last, nan);
    expect_untouched({"2.bias.npy", "NaN"});
  }
  SECTION("extra parameter file") {
    io::save_npy(dir + "/4.weight.npy", Array::from_shape({2, 2}));
    expect_untouched({"4.weight.npy", "extra"});
  }
  SECTION("a different architecture") {
    auto other = std::make_shared<nn::Sequential>();
    Rng rng(4);
    other->add(std::make_shared<nn::Linear>(6, 5, rng));
    const auto other_before = values_of(*other);
    require_io_error([&] { io::load_parameters(*other, dir); },
                     {"model.json", "not in the model", "2.weight"});
    CHECK(same_values(values_of(*other), other_before));
    auto wider = nn::mlp({6, 7, 3}, "sigmoid", rng);
    const auto wider_before = values_of(*wider);
    require_io_error([&] { io::load_parameters(*wider, dir); }, {"0.weight", "(5, 6)", "(7, 6)"});
    CHECK(same_values(values_of(*wider), wider_before));
  }
}

TEST_CASE("model: corrupt manifests are io_errors naming model.json", "[io]") {
  TempDir tmp;
  const std::string dir = tmp / "m";
  io::save_model(dir, *sigmoid_softmax_net(1));
  const std::string manifest_path = dir + "/model.json";
  const auto good = read_json(manifest_path);
  auto with = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto j = good;
    edit(j);
    write_json(manifest_path, j);
  };
  SECTION("not JSON") {
    write_bytes(manifest_path, "{\"format\": \"xgrad-model\", ");
    require_io_error([&] { io::load_model(dir); }, {"model.json", "malformed JSON"});
  }
  SECTION("random bytes") {
    Rng rng(2);
    std::string junk(500, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng.below(256));
    write_bytes(manifest_path, junk);
    require_io_error([&] { io::load_model(dir); }, {"model.json"});
  }
  SECTION("wrong format") {
    with([](auto& j) { j["format"] = "something-else"; });
    require_io_error([&] { io::load_model(dir); }, {"model.json", "not an xgrad model"});
  }
  SECTION("wrong version") {
    with([](auto& j) { j["version"] = 3; });
    require_io_error([&] { io::load_model(dir); }, {"model.json", "unsupported version 3"});
  }
  SECTION("unknown layer type") {
    with([](auto& j) { j["architecture"]["layers"][1] = {{"type", "Conv2d"}}; });
    require_io_error([&] { io::load_model(dir); }, {"model.json", "layer '1'", "Conv2d"});
  }
  SECTION("unknown activation") {
    with([](auto& j) { j["architecture"]["layers"][1]["name"] = "swishy"; });
    require_io_error([&] { io::load_model(dir); },
                     {"model.json", "unknown activation 'swishy'", "sigmoid"});
  }
  SECTION("bad dropout probability") {
    with([](auto& j) { j["architecture"]["layers"][1] = {{"type", "Dropout"}, {"p", 1.5}}; });
    require_io_error([&] { io::load_model(dir); }, {"model.json", "[0, 1)"});
  }
  SECTION("file outside the directory") {
    with([](auto& j) { j["parameters"][0]["file"] = "../0.weight.npy"; });
    require_io_error([&] { io::load_model(dir); }, {"model.json", "plain .npy file name"});
  }
  SECTION("architecture and parameters disagree") {
    with([](auto& j) { j["architecture"]["layers"][0]["out"] = 7; });
    require_io_error([&] { io::load_model(dir); }, {"model.json", "0.weight", "(7, 6)"});
  }
  SECTION("a huge layer is refused before anything is allocated") {
    with([](auto& j) {
      j["architecture"]["layers"][0] = {
          {"type", "Linear"}, {"in", 1000000000}, {"out", 1000000000}};
      j["parameters"][0]["shape"] = {1000000000, 1000000000};
    });
    require_io_error([&] { io::load_model(dir); }, {"0.weight.npy"});
  }
  SECTION("missing directory and manifest") {
    require_io_error([&] { io::load_model(tmp / "nowhere"); }, {"nowhere", "does not exist"});
    fs::remove(manifest_path);
    require_io_error([&] { io::load_model(dir); }, {"model.json", "missing"});
  }
}

TEST_CASE("model: saving validates the model and the metadata first", "[io]") {
  TempDir tmp;
  struct Custom : nn::Module {
    Tensor forward(const Tensor& x) override { return x; }
    std::string type_name() const override { return "Custom"; }
  };
  nn::Sequential net;
  Rng rng(1);
  net.add(std::make_shared<nn::Linear>(2, 2, rng)).add(std::make_shared<Custom>());
  CHECK_THROWS_WITH(io::save_model(tmp / "m", net), Contains("layer '1' (Custom)"));
  CHECK_THROWS_AS(io::save_model(tmp / "m", net), value_error);

  auto good = sigmoid_softmax_net(1);
  CHECK_THROWS_AS(io::save_model(tmp / "m", *good, "", "[1, 2]"), value_error);
  CHECK_THROWS_AS(io::save_model(tmp / "m", *good, "", "{not json"), value_error);
  good->parameters()[1].mutable_value()(0) = std::numeric_limits<Scalar>::infinity();
  CHECK_THROWS_AS(io::save_model(tmp / "m", *good), numeric_error);
  CHECK(entries(tmp.path).empty());  // nothing was written, no temporary left
}

TEST_CASE("model: saving is atomic", "[io]") {
  // Both ways of putting the new directory in place: the atomic exchange
  // (Linux) and the portable rename-aside fallback.
  const bool exchange = GENERATE(true, false);
  INFO("atomic exchange: " << exchange);
  xg::file::set_atomic_exchange(exchange);
  TempDir tmp;
  const std::string dir = tmp / "model";
  auto a = sigmoid_softmax_net(1);
  auto b = sigmoid_softmax_net(2);
  io::save_model(dir, *a, "quadratic");

  SECTION("saving over an existing model replaces it") {
    io::save_model(dir, *b, "cross-entropy");
    auto loaded = io::load_model(dir);
    CHECK(same_values(values_of(*loaded.model), values_of(*b)));
    CHECK(loaded.cost == "cross-entropy");
    CHECK(entries(tmp.path) == std::vector<std::string>{"model"});  // no temporaries, no old copy
  }
  SECTION("a save that fails midway leaves the old model intact") {
    for (int fail_at : {1, 3, 5}) {
      INFO("failing at file " << fail_at);
      int written = 0;
      xg::file::set_write_hook([&](const std::string& path) {
        if (++written == fail_at) throw io_error("simulated failure writing " + path);
      });
      CHECK_THROWS_WITH(io::save_model(dir, *b, "cross-entropy"), Contains("simulated failure"));
      xg::file::set_write_hook(nullptr);
      auto loaded = io::load_model(dir);
      CHECK(same_values(values_of(*loaded.model), values_of(*a)));
      CHECK(loaded.cost == "quadratic");
      CHECK(entries(tmp.path) == std::vector<std::string>{"model"});
    }
  }
  SECTION("a failed first save leaves nothing behind") {
    xg::file::set_write_hook([](const std::string&) { throw io_error("simulated failure"); });
    CHECK_THROWS_AS(io::save_model(tmp / "fresh", *b), io_error);
    xg::file::set_write_hook(nullptr);
    CHECK(entries(tmp.path) == std::vector<std::string>{"model"});
  }
  SECTION("an unrelated directory or file is never replaced") {
    fs::create_directories(tmp.path / "notes");
    write_bytes(tmp / "notes/todo.txt", "keep me");
    require_io_error([&] { io::save_model(tmp / "notes", *b); }, {"notes", "refusing"});
    CHECK(read_bytes(tmp / "notes/todo.txt") == "keep me");
    write_bytes(tmp / "plain", "a file");
    require_io_error([&] { io::save_model(tmp / "plain", *b); }, {"plain", "not a directory"});
    CHECK(read_bytes(tmp / "plain") == "a file");
    io::save_model(tmp / "empty/", *b);  // an empty directory (and a trailing slash) is fine
    CHECK(same_values(values_of(*io::load_model(tmp / "empty").model), values_of(*b)));
  }
  SECTION("an unwritable parent directory") {
    if (::geteuid() == 0) {
      // Root ignores permission bits, but not a read-only file system: /proc
      // refuses every new directory, so the same failure is still exercised.
      CHECK_THROWS_AS(io::save_model("/proc/xgrad-unwritable/model", *b), io_error);
      CHECK(same_values(values_of(*io::load_model(dir).model), values_of(*a)));
    } else {
      fs::permissions(tmp.path, fs::perms::owner_write, fs::perm_options::remove);
      CHECK_THROWS_AS(io::save_model(dir, *b), io_error);
      fs::permissions(tmp.path, fs::perms::owner_write, fs::perm_options::add);
      CHECK(same_values(values_of(*io::load_model(dir).model), values_of(*a)));
    }
  }
  xg::file::set_write_hook(nullptr);
  xg::file::set_atomic_exchange(true);
}

// ------------------------------------------------------------------ layer registry

namespace {
// A user-defined layer with sub-modules built in its constructor: adding it
// to model files is its class plus one registration line.
class Residual : public nn::Module {
 public:
  Residual(std::size_t width, double scale) : width_(width), scale_(scale) {
    Rng rng(3);
    fc_ = register_module("fc", std::make_shared<nn::Linear>(width, width, rng));
    act_ = register_module("act", nn::make_activation("tanh"));
  }
  Tensor forward(const Tensor& x) override {
    return x + (*act_)((*fc_)(x)) * static_cast<Scalar>(scale_);
  }
  std::string type_name() const override { return "TestResidual"; }
  nn::Config config() const override {
    return nn::Config().set("width", width_).set("scale", scale_);
  }
  static std::shared_ptr<Residual> from_config(const nn::LayerArgs& args) {
    const std::size_t w = args.config().size("width");
    args.expect_parameter("fc.weight", {w, w});
    return std::make_shared<Residual>(w, args.config().number("scale"));
  }

 private:
  std::size_t width_;
  double scale_;
  std::shared_ptr<nn::Linear> fc_;
  std::shared_ptr<nn::Module> act_;
};
const bool residual_registered = nn::register_layer_type<Residual>("TestResidual");
}  // namespace

TEST_CASE("model: a user-defined layer with sub-modules saves and loads", "[io]") {
  REQUIRE(residual_registered);
  TempDir tmp;
  Rng rng(5);
  nn::Sequential net;
  net.add(std::make_shared<nn::Linear>(4, 3, rng)).add(std::make_shared<Residual>(3, 0.5));
  auto block = std::make_shared<nn::Sequential>();
  block->add(std::make_shared<Residual>(3, 2.0));
  net.add(block);
  const std::string dir = tmp / "user";
  io::save_model(dir, net);
  const auto manifest = read_json(tmp / "user/model.json");
  const auto& layer = manifest["architecture"]["layers"][1];
  CHECK(layer["type"] == "TestResidual");
  CHECK(layer["width"] == 3);
  CHECK(layer["scale"] == 0.5);
  CHECK(layer["layers"][0]["key"] == "fc");
  CHECK(layer["layers"][1] ==
        nlohmann::json({{"type", "activation"}, {"name", "tanh"}, {"key", "act"}}));

  auto loaded = io::load_model(dir);
  CHECK(loaded.model->describe() == net.describe());
  const Array x = xt::linspace<Scalar>(-1, 1, 8).reshape({2, 4});
  net.eval();
  loaded.model->eval();
  CHECK(net(Tensor(x)).value() == loaded.model->forward(Tensor(x)).value());

  SECTION("a file whose children do not match what the layer builds") {
    auto j = read_json(tmp / "user/model.json");
    j["architecture"]["layers"][1]["layers"][1]["name"] = "relu";
    std::ofstream(tmp / "user/model.json") << j.dump(2);
    require_io_error([&] { io::load_model(dir); }, {"model.json", "layer '1.act'", "tanh", "relu"});
  }
  SECTION("an unknown configuration key") {
    auto j = read_json(tmp / "user/model.json");
    j["architecture"]["layers"][1]["depth"] = 2;
    std::ofstream(tmp / "user/model.json") << j.dump(2);
    require_io_error([&] { io::load_model(dir); }, {"model.json", "layer '1'", "\"depth\""});
  }
}

TEST_CASE("model: version 1 files (Softmax and Identity layer types) still load", "[io]") {
  TempDir tmp;
  auto net = mixed_net(4);
  net->add(std::make_shared<nn::Softmax>());
  const std::string dir = tmp / "old";
  io::save_model(dir, *net);
  auto j = read_json(tmp / "old/model.json");
  j["version"] = 1;
  j["architecture"]["layers"][6] = {{"type", "Identity"}};
  j["architecture"]["layers"][7] = {{"type", "Softmax"}};
  for (auto& p : j["parameters"]) p.erase("decay");
  std::ofstream(tmp / "old/model.json") << j.dump(2);
  auto loaded = io::load_model(dir);
  CHECK(loaded.model->describe() == net->describe());
  // Version 2 has one spelling: the old one is refused there.
  j["version"] = 2;
  std::ofstream(tmp / "old/model.json") << j.dump(2);
  require_io_error([&] { io::load_model(dir); }, {"unknown layer type 'Identity'"});
}

TEST_CASE("model and checkpoint loads refuse symbolic links inside the directory", "[io]") {
  TempDir tmp;
  auto net = sigmoid_softmax_net(2);
  const std::string dir = tmp / "m";
  io::save_model(dir, *net);
  // A link to a file elsewhere: an attacker's way to make a load read it.
  const fs::path outside = tmp / "elsewhere.npy";
  fs::copy_file(fs::path(dir) / "0.bias.npy", outside);
  SECTION("a parameter file") {
    fs::remove(fs::path(dir) / "0.bias.npy");
    fs::create_symlink(outside, fs::path(dir) / "0.bias.npy");
    require_io_error([&] { io::load_model(dir); }, {"0.bias.npy", "symbolic link"});
    require_io_error([&] { io::load_parameters(*net, dir); }, {"0.bias.npy", "symbolic link"});
  }
  SECTION("the manifest") {
    fs::rename(fs::path(dir) / "model.json", tmp / "model.json");
    fs::create_symlink(tmp / "model.json", fs::path(dir) / "model.json");
    require_io_error([&] { io::load_model(dir); }, {"model.json", "symbolic link"});
  }
  SECTION("a plain copy still loads") { CHECK_NOTHROW(io::load_model(dir)); }
}

TEST_CASE("save paths: checked up front, no created parents left, stale temporaries cleaned",
          "[io]") {
  TempDir tmp;
  auto net = sigmoid_softmax_net(3);
  std::ofstream(tmp / "file") << "x";
  SECTION("check_save_target refuses what save_model would refuse, writing nothing") {
    require_io_error([&] { io::check_save_target(tmp / "file"); }, {"file", "not a directory"});
    require_io_error([&] { io::check_save_target(tmp / "file/sub/m"); }, {"is not a directory"});
    fs::create_directories(tmp / "notes");
    std::ofstream(tmp / "notes/todo.txt") << "x";
    require_io_error([&] { io::check_save_target(tmp / "notes"); }, {"refusing"});
    CHECK_NOTHROW(io::check_save_target(tmp / "new/deeper/m"));
    CHECK_FALSE(fs::exists(tmp / "new"));
  }
  SECTION("a failed save removes the parents it created") {
    xg::file::set_write_hook([](const std::string&) { throw io_error("simulated failure"); });
    CHECK_THROWS_AS(io::save_model(tmp / "a/b/m", *net), io_error);
    xg::file::set_write_hook(nullptr);
    CHECK_FALSE(fs::exists(tmp / "a"));
  }
  SECTION("temporaries of a killed save are removed by the next save") {
    // A pid that cannot be running (above Linux's pid_max limit).
    fs::create_directories(tmp / ".m.tmp-99999999-1-2");
    fs::create_directories(tmp / ".m.old-99999999-3-4");
    const std::string live = ".m.tmp-" + std::to_string(::getpid()) + "-9-9";
    fs::create_directories(tmp / live);
    io::save_model(tmp / "m", *net);
    CHECK_FALSE(fs::exists(tmp / ".m.tmp-99999999-1-2"));
    CHECK_FALSE(fs::exists(tmp / ".m.old-99999999-3-4"));
    CHECK(fs::exists(tmp / live));  // its process is alive: maybe a concurrent save
  }
}

TEST_CASE("concurrent saves to one new path all complete; the last one wins", "[io]") {
  TempDir tmp;
  auto a = sigmoid_softmax_net(1), b = sigmoid_softmax_net(2);
  const std::string dir = tmp / "m";
  // The second save finds the directory created while it was writing.
  bool raced = false;
  xg::file::set_write_hook([&](const std::string& path) {
    if (!raced && path.find("model.json") != std::string::npos) {
      raced = true;
      io::save_model(dir, *a);  // the "other process" finishes first
    }
  });
  io::save_model(dir, *b);
  xg::file::set_write_hook(nullptr);
  REQUIRE(raced);
  auto loaded = io::load_model(dir);
  const auto want = b->parameters(), got = loaded.model->parameters();
  for (std::size_t k = 0; k < want.size(); ++k) CHECK((want[k].value() == got[k].value()));
  CHECK(entries(tmp.path) == std::vector<std::string>{"m"});
}
