// Fuzzes loading a model directory and a checkpoint. The scratch directory
// holds a valid saved model and a valid checkpoint (fuzz_common.hpp's
// fixtures); each input replaces ONE file:
//   - an input starting with the .npy magic "\x93NUMPY" becomes the model's
//     0.weight.npy,
//   - anything else becomes the model's model.json AND the checkpoint's
//     checkpoint.json,
// and the other files are restored to their valid contents. Then:
//   - xg::io::load_model(dir) must return a model or throw an xg::error; a
//     returned model must run forward (an xg::error such as a shape_error
//     between layers is fine) without crashing;
//   - xg::io::load_parameters(existing, dir) must fill the existing model or
//     throw an xg::error leaving every parameter exactly as it was;
//   - xg::io::load_checkpoint must restore or throw an xg::error leaving the
//     model, the optimizer's state and its learning rate exactly as they were.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "xgrad/error.hpp"
#include "xgrad/io/checkpoint.hpp"
#include "xgrad/io/model.hpp"
#include "xgrad/tensor.hpp"

namespace {

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_model: %s\n", what);
  std::abort();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) finding("cannot read the fixture back");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Fixture {
  fuzz::ScratchDir scratch{"model"};
  std::string dir = scratch / "model";
  std::string manifest_path = dir + "/" + xg::io::kModelManifest;
  std::string weight_path = dir + "/0.weight.npy";
  std::string manifest;  // the valid contents
  std::string weight;
  std::shared_ptr<xg::nn::Sequential> existing = fuzz::fixture_model();

  std::string ck_dir = scratch / "checkpoint";
  std::string ck_manifest_path = ck_dir + "/" + xg::io::kCheckpointManifest;
  std::shared_ptr<xg::nn::Sequential> ck_model = fuzz::fixture_model();
  std::unique_ptr<xg::optim::Optimizer> ck_opt = fuzz::fixture_optimizer(*ck_model);

  Fixture() {
    xg::io::save_model(dir, *fuzz::fixture_model(), "log-likelihood", R"({"seed": 7})");
    manifest = read_file(manifest_path);
    weight = read_file(weight_path);
    fuzz::save_fixture_checkpoint(ck_dir);
  }
};

std::vector<xg::Array> values_of(const xg::nn::Module& m) {
  std::vector<xg::Array> out;
  for (const auto& p : m.parameters()) out.push_back(p.value());
  return out;
}

bool same_bits(const std::vector<xg::Array>& a, const std::vector<xg::Array>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].shape() != b[i].shape()) return false;
    if (a[i].size() != 0 &&  // an empty array's data() may be null: memcmp(null) is UB
        std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(xg::Scalar)) != 0)
      return false;
  }
  return true;
}

// A loaded model runs: one row as wide as the first parameter's input.
void run_forward(xg::nn::Module& model) {
  const auto params = model.parameters();
  std::size_t width = 2;
  if (!params.empty() && params[0].dim() == 2) width = params[0].shape()[1];
  xg::NoGradGuard no_grad;
  try {
    model.eval();
    (void)model.forward(xg::Tensor::zeros({1, width}));
  } catch (const xg::error&) {
    // A legal file may chain layers that do not fit; forward then says so.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fx;
  const bool is_npy = size >= 6 && std::memcmp(data, "\x93NUMPY", 6) == 0;
  if (is_npy) {
    fuzz::write_file(fx.manifest_path, fx.manifest);
    fuzz::write_file(fx.weight_path, data, size);
  } else {
    fuzz::write_file(fx.manifest_path, data, size);
    fuzz::write_file(fx.weight_path, fx.weight);
  }

  try {
    xg::io::LoadedModel loaded = xg::io::load_model(fx.dir);
    if (!loaded.model) finding("load_model returned no model");
    run_forward(*loaded.model);
  } catch (const xg::error&) {
  }

  const auto before = values_of(*fx.existing);
  try {
    xg::io::load_parameters(*fx.existing, fx.dir);
  } catch (const xg::error&) {
    if (!same_bits(before, values_of(*fx.existing)))
      finding("a failed load_parameters changed the model");
  }

  if (!is_npy) {
    fuzz::write_file(fx.ck_manifest_path, data, size);
    const auto params = values_of(*fx.ck_model);
    const auto state = fx.ck_opt->state();
    const double lr = fx.ck_opt->learning_rate();
    try {
      (void)xg::io::load_checkpoint(fx.ck_dir, *fx.ck_model, *fx.ck_opt);
    } catch (const xg::error&) {
      if (!same_bits(params, values_of(*fx.ck_model)) || !same_bits(state, fx.ck_opt->state()) ||
          fx.ck_opt->learning_rate() != lr)
        finding("a failed load_checkpoint changed the model or the optimizer");
    }
  }
  return 0;
}
