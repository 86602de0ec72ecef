#include "xgrad/nn/init.hpp"

#include <cmath>

#include "xgrad/error.hpp"

namespace xg::nn {

std::vector<std::string> init_names() { return {"large", "default", "xavier", "he"}; }

Init parse_init(const std::string& name) {
  if (name == "large") return Init::large;
  if (name == "default") return Init::default_;
  if (name == "xavier") return Init::xavier;
  if (name == "he") return Init::he;
  throw value_error("parse_init: unknown initialisation '" + name +
                    "' (known: large, default, xavier, he)");
}

std::string to_string(Init init) {
  switch (init) {
    case Init::large:
      return "large";
    case Init::default_:
      return "default";
    case Init::xavier:
      return "xavier";
    case Init::he:
      return "he";
  }
  throw value_error("to_string: invalid Init value " + std::to_string(static_cast<int>(init)));
}

void init_linear(Tensor& weight, Tensor& bias, Init init, Rng& rng) {
  const Shape ws = weight.shape();
  const Shape bs = bias.shape();
  if (ws.size() != 2 || bs.size() != 1 || bs[0] != ws[0])
    throw shape_error("init_linear: weight of shape " + shape_str(ws) + " and bias of shape " +
                      shape_str(bs) + ": expected (n_out, n_in) and (n_out,)");
  const double n_in = static_cast<double>(ws[1]);
  const double n_out = static_cast<double>(ws[0]);
  double weight_sd = 1.0;
  bool normal_bias = true;
  switch (init) {
    case Init::large:
      break;
    case Init::default_:
      weight_sd = 1.0 / std::sqrt(n_in);
      break;
    case Init::xavier:
      weight_sd = std::sqrt(2.0 / (n_in + n_out));
      normal_bias = false;
      break;
    case Init::he:
      weight_sd = std::sqrt(2.0 / n_in);
      normal_bias = false;
      break;
  }
  // Assign into the existing nodes rather than making new tensors: the module
  // and any optimizer hold handles to these nodes and must see the new values.
  weight.mutable_value() = rng.normal_array(ws, 0.0, weight_sd);
  if (normal_bias)
    bias.mutable_value() = rng.normal_array(bs, 0.0, 1.0);
  else
    bias.mutable_value().fill(Scalar(0));
}

}  // namespace xg::nn
