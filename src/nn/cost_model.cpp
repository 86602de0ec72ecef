// A cost applied to a model: the explicit pairing of a cost with the output
// activation it fuses with (no graph inspection by op name).
#include <typeinfo>

#include "xgrad/cost.hpp"
#include "xgrad/nn/sequential.hpp"

namespace xg {

Tensor cost_on_model(const Cost& cost, nn::Module& model, const Tensor& x, const Tensor& y) {
  const std::string act = cost.fused_activation();
  if (!act.empty()) {
    // An exact type test first: dynamic_cast walks the type information on
    // every training step; subclasses of Sequential still take it.
    auto* seq = typeid(model) == typeid(nn::Sequential) ? static_cast<nn::Sequential*>(&model)
                                                        : dynamic_cast<nn::Sequential*>(&model);
    if (seq != nullptr && seq->ends_with(act))
      return cost.from_logits(seq->forward_logits(x, act), y);
  }
  // Not ending in the fused activation: the plain (clamped) cost on outputs.
  return cost(model(x), y);
}

}  // namespace xg
