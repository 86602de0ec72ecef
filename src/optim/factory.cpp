// Builds an optimizer from its name (CLI, checkpoints).
#include <algorithm>
#include <cctype>
#include <sstream>

#include "util/text.hpp"
#include "xgrad/error.hpp"
#include "xgrad/optim.hpp"

namespace xg::optim {

std::vector<std::string> optimizer_names() {
  return {"sgd", "momentum", "nesterov", "adam", "rmsprop"};
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<Tensor> params,
                                          double lr, double momentum, Regularization reg) {
  std::string key = name;
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (key == "momentum" || key == "nesterov")
    return std::make_unique<Momentum>(std::move(params), lr, momentum, std::move(reg),
                                      key == "nesterov");
  const bool known = key == "sgd" || key == "adam" || key == "rmsprop";
  if (known && momentum != 0.0) {
    std::ostringstream msg;
    msg << "make_optimizer: '" << name << "' takes no momentum coefficient, got " << momentum
        << " (use \"momentum\" or \"nesterov\")";
    throw value_error(msg.str());
  }
  if (key == "sgd") return std::make_unique<SGD>(std::move(params), lr, std::move(reg));
  if (key == "adam")
    return std::make_unique<Adam>(std::move(params), lr, 0.9, 0.999, 1e-8, std::move(reg));
  if (key == "rmsprop")
    return std::make_unique<RMSProp>(std::move(params), lr, 0.99, 1e-8, std::move(reg));
  throw value_error("make_optimizer: unknown optimizer '" + name +
                    "' (known: " + text::joined(optimizer_names()) + ")");
}

}  // namespace xg::optim
