#pragma once
// Every optimizer, and the factory that builds one by name.
#include <memory>
#include <string>
#include <vector>

#include "xgrad/optim/adam.hpp"
#include "xgrad/optim/momentum.hpp"
#include "xgrad/optim/optimizer.hpp"
#include "xgrad/optim/rmsprop.hpp"
#include "xgrad/optim/sgd.hpp"

namespace xg::optim {

/// "sgd", "momentum", "nesterov", "adam" or "rmsprop" (value_error listing
/// them otherwise). `momentum` is μ for "momentum"/"nesterov" and must be 0
/// for the other rules (value_error otherwise: it would be silently ignored);
/// Adam and RMSProp take their default β's/α and ε.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<Tensor> params,
                                          double lr, double momentum = 0.0,
                                          Regularization reg = {});

/// The names make_optimizer accepts, in a stable order.
std::vector<std::string> optimizer_names();

}  // namespace xg::optim
