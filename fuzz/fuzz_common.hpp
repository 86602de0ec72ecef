#pragma once
// Shared by the fuzz targets and the seed generator: a scratch directory that
// outlives every iteration, plain file writing, and the small model and
// checkpoint that fuzz_model loads (the generator saves the same ones as seeds).
//
// The rule every target enforces: an input may fail only with an xg::error.
// Any other exception escapes LLVMFuzzerTestOneInput, so libFuzzer reports it
// as a crash, just like a sanitizer report, a leak, a timeout or an
// allocation above -rss_limit_mb / -malloc_limit_mb.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "xgrad/io/checkpoint.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/random.hpp"

namespace fuzz {

/// A directory under $TMPDIR (else /tmp) removed with its contents at exit.
/// scripts/fuzz points TMPDIR at its own scratch directory, so even a run
/// killed by a crash leaves nothing behind.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base && *base ? base : "/tmp") + "/xgrad-fuzz-" + tag + "-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) {
      std::perror("fuzz: mkdtemp");
      std::abort();  // the harness is broken, not the library
    }
    path_ = buf.data();
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Replaces `path` with exactly these bytes; aborts if the disk refuses
/// (that is a broken harness, not a finding in the code under test).
inline void write_file(const std::string& path, const void* data, std::size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || (size > 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
    std::perror(("fuzz: cannot write " + path).c_str());
    std::abort();
  }
}
inline void write_file(const std::string& path, const std::string& bytes) {
  write_file(path, bytes.data(), bytes.size());
}

/// The model fuzz_model loads: one of each layer kind the format knows
/// (Linear, Dropout, a registered activation, Softmax) and four parameter
/// files: 0.weight (3, 2), 0.bias (3,), 3.weight (2, 3), 3.bias (2,).
inline std::shared_ptr<xg::nn::Sequential> fixture_model() {
  xg::Rng rng(7);
  auto model = std::make_shared<xg::nn::Sequential>();
  model->add(std::make_shared<xg::nn::Linear>(2, 3, rng));
  model->add(std::make_shared<xg::nn::Dropout>(0.25, std::uint64_t{1}));
  model->add(xg::nn::make_activation("tanh"));
  model->add(std::make_shared<xg::nn::Linear>(3, 2, rng));
  model->add(std::make_shared<xg::nn::Softmax>());
  return model;
}

/// The optimizer of the fixture checkpoint: momentum, so it has state to load.
inline std::unique_ptr<xg::optim::Optimizer> fixture_optimizer(xg::nn::Module& model) {
  return xg::optim::make_optimizer("momentum", model.parameters(), 0.1, 0.9);
}

/// Saves the checkpoint fuzz_model loads: the fixture model, its momentum
/// state, a shuffling-engine state, a sample order and settings.
inline void save_fixture_checkpoint(const std::string& dir) {
  auto model = fixture_model();
  auto opt = fixture_optimizer(*model);
  xg::io::Checkpoint ck;
  ck.epoch = 3;
  ck.rng_state = xg::Rng(11).state();
  ck.order = {2, 0, 1};
  ck.learning_rate = 0.1;
  ck.history_csv = "epoch,accuracy\n1,0.5\n";
  ck.settings_json = R"({"eta": 0.1, "sizes": [2, 3, 2]})";
  xg::io::save_checkpoint(dir, *model, *opt, ck);
}

}  // namespace fuzz
