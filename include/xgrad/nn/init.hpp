#pragma once
// Weight initialisation schemes for Linear layers.
#include <string>
#include <vector>

#include "xgrad/random.hpp"
#include "xgrad/tensor.hpp"

namespace xg::nn {

/// large:    W, b ~ N(0, 1)                     (the book's chapter 1)
/// default_: W ~ N(0, 1/n_in), b ~ N(0, 1)      (the book's chapter 3)
/// xavier:   W ~ N(0, 2/(n_in+n_out)), b = 0    (Glorot normal)
/// he:       W ~ N(0, 2/n_in), b = 0            (for ReLU)
enum class Init { large, default_, xavier, he };

/// "large", "default", "xavier", "he"; value_error listing them otherwise.
Init parse_init(const std::string& name);
std::string to_string(Init init);
/// The valid names, in enum order.
std::vector<std::string> init_names();

/// Fills weight (n_out × n_in) and bias (n_out) in place (the handles keep
/// their nodes). Weights are drawn first, row-major, then biases, so a seed
/// gives the same numbers as a plain loop over W then b.
void init_linear(Tensor& weight, Tensor& bias, Init init, Rng& rng);

}  // namespace xg::nn
