// Writes the fuzzers' seed corpus: small VALID files of every kind each target
// reads, made by the library's own writers, so the fuzzers start from inputs
// that reach deep into the parsers instead of bouncing off the first check.
//
//   xgrad-fuzz-seeds OUT_DIR    ->  OUT_DIR/idx/*, OUT_DIR/npy/*, OUT_DIR/model/*
//                                   (model.json and checkpoint.json variants)
//
// scripts/fuzz runs it into a scratch directory before every run; nothing here
// is committed, so the seeds always follow the current formats.
#include <cstdio>
#include <filesystem>
#include <string>

#include "fuzz_common.hpp"
#include "xgrad/data/idx.hpp"
#include "xgrad/io/model.hpp"
#include "xgrad/io/npy.hpp"

namespace fs = std::filesystem;

namespace {

xg::data::IdxArray idx(std::vector<std::size_t> shape) {
  xg::data::IdxArray a;
  a.shape = std::move(shape);
  a.data.resize(a.elements());
  for (std::size_t i = 0; i < a.data.size(); ++i) a.data[i] = static_cast<std::uint8_t>(i * 37);
  return a;
}

/// A .npy file written by hand (the library writes only '<f8' version 1.0).
std::string npy_by_hand(const std::string& dict, const std::string& data, int major) {
  std::string header = dict;
  const std::size_t prefix = 6 + 2 + (major == 1 ? 2 : 4);
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (std::size_t k = 0; k < (major == 1 ? 2u : 4u); ++k)
    out += static_cast<char>((header.size() >> (8 * k)) & 0xff);
  return out + header + data;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  for (const char* sub : {"idx", "npy", "model"}) fs::create_directories(out / sub);

  // IDX: a label file, image files of rank 2 to 4, and gzip-compressed ones
  // (fuzz_idx also compresses every input itself; these make the RAW read
  // take the gzip path too).
  using xg::data::write_idx;
  write_idx((out / "idx/labels-rank1").string(), idx({10}));
  write_idx((out / "idx/images-rank3").string(), idx({2, 4, 4}));
  write_idx((out / "idx/rank2").string(), idx({3, 5}));
  write_idx((out / "idx/rank4").string(), idx({2, 2, 2, 2}));
  write_idx((out / "idx/images-rank3.gz").string(), idx({2, 4, 4}), /*gzip=*/true);
  write_idx((out / "idx/labels-rank1.gz").string(), idx({7}), /*gzip=*/true);

  // NPY: the shapes a model holds, a 0-d and an empty array, and the
  // variants the reader accepts besides its own output ('<f4', version 2.0).
  auto npy = [&](const std::string& name, const std::string& bytes) {
    fuzz::write_file((out / "npy" / name).string(), bytes);
  };
  npy("scalar.npy", xg::io::encode_npy(xg::Array(1.5)));
  npy("vector.npy", xg::io::encode_npy(xg::Array{1.0, -2.0, 3.5}));
  npy("matrix.npy", xg::io::encode_npy(xg::Array{{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}));
  npy("rank3.npy", xg::io::encode_npy(xg::Array::from_shape({2, 1, 2})));
  npy("empty.npy", xg::io::encode_npy(xg::Array::from_shape({0, 3})));
  const std::string four_floats("\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40",
                                16);  // 1, 2, 3, 4 as little-endian float32
  npy("f4.npy",
      npy_by_hand("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", four_floats, 1));
  npy("v2.npy", npy_by_hand("{\"shape\": (4,), \"fortran_order\": False, \"descr\": \"<f4\"}",
                            four_floats, 2));

  // Model: the fixture's manifest as saved, and a weight file (fuzz_model
  // sends inputs starting with the .npy magic to 0.weight.npy).
  const fs::path model_dir = out / "model-dir";
  xg::io::save_model(model_dir.string(), *fuzz::fixture_model(), "log-likelihood",
                     R"({"seed": 7})");
  fs::copy_file(model_dir / "model.json", out / "model/model.json");
  fs::copy_file(model_dir / "0.weight.npy", out / "model/0.weight.npy");
  // Without cost and metadata, and a nested Sequential whose parameter table
  // maps other names onto the same files: other branches of the reader.
  fs::remove_all(model_dir);
  xg::io::save_model(model_dir.string(), *fuzz::fixture_model());
  fs::copy_file(model_dir / "model.json", out / "model/model-plain.json");
  fs::remove_all(model_dir);
  const std::string nested = R"({"format": "xgrad-model", "version": 1,
 "architecture": {"type": "Sequential", "layers": [
   {"type": "Sequential", "layers": [{"type": "Linear", "in": 2, "out": 3},
                                     {"type": "Dropout", "p": 0.5},
                                     {"type": "activation", "name": "relu"}]},
   {"type": "Identity"}, {"type": "Linear", "in": 3, "out": 2}, {"type": "Softmax"}]},
 "cost": "log-likelihood", "metadata": {"note": "nested"},
 "parameters": [
   {"name": "0.0.weight", "shape": [3, 2], "file": "0.weight.npy", "dtype": "<f8"},
   {"name": "0.0.bias", "shape": [3], "file": "0.bias.npy", "dtype": "<f8"},
   {"name": "2.weight", "shape": [2, 3], "file": "3.weight.npy"},
   {"name": "2.bias", "shape": [2], "file": "3.bias.npy"}]})";
  fuzz::write_file((out / "model/nested.json").string(), nested);
  // fuzz_model also loads every JSON input as a checkpoint.json.
  const fs::path ck_dir = out / "checkpoint-dir";
  fuzz::save_fixture_checkpoint(ck_dir.string());
  fs::copy_file(ck_dir / "checkpoint.json", out / "model/checkpoint.json");
  fs::remove_all(ck_dir);
  return 0;
}
