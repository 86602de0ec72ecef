#pragma once
// Inverted dropout: in training each element is zeroed with probability p and
// the survivors are scaled by 1/(1−p), so the expected output equals the input
// and evaluation needs no rescaling. In eval mode it is the identity.
#include <cstdint>
#include <memory>
#include <string>

#include "xgrad/nn/module.hpp"
#include "xgrad/random.hpp"

namespace xg::nn {

class Dropout : public Module {
 public:
  /// p = drop probability in [0, 1) (value_error otherwise); the mask comes
  /// from the layer's own engine, seeded with `seed`.
  explicit Dropout(double p = 0.5, std::uint64_t seed = 0);
  /// Same, seeded by one draw from `rng`, so one run-wide seed drives dropout too.
  Dropout(double p, Rng& rng);

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  /// "Dropout(p=0.5)"
  std::string describe() const override;

  Config config() const override { return Config().set("p", p_); }
  /// "rng": the mask engine's state (Rng::state()).
  ExtraState extra_state() const override { return {{"rng", rng_.state()}}; }
  void load_extra_state(const ExtraState& state) override;
  /// The registry's factory: "p"; the mask stream starts from seed 0.
  static std::shared_ptr<Dropout> from_config(const LayerArgs& args);

  double p() const { return p_; }
  /// Restarts the mask stream from `seed`.
  void reseed(std::uint64_t seed) { rng_ = Rng(seed); }
  /// The mask engine, for checkpoints (Rng::state / restore).
  Rng& rng() { return rng_; }

 private:
  double p_;
  Rng rng_;
};

}  // namespace xg::nn
