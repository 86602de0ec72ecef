// A cost applied to a model: the explicit pairing of a cost with the output
// activation it fuses with (no graph inspection by op name).
#include "xgrad/cost.hpp"
#include "xgrad/nn/sequential.hpp"

namespace xg {

Tensor cost_on_model(const Cost& cost, nn::Module& model, const Tensor& x, const Tensor& y) {
  const std::string act = cost.fused_activation();
  if (!act.empty()) {
    auto* seq = dynamic_cast<nn::Sequential*>(&model);
    if (seq != nullptr && seq->ends_with(act))
      return cost.from_logits(seq->forward_logits(x, act), y);
  }
  // Not ending in the fused activation: the plain (clamped) cost on outputs.
  return cost(model(x), y);
}

}  // namespace xg
