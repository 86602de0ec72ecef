#pragma once
// What checkpoint.cpp shares with model.cpp (internal, not installed).
#include <string>
#include <utility>
#include <vector>

#include "xgrad/nn/module.hpp"
#include "xgrad/nn/sequential.hpp"
#include "xgrad/tensor.hpp"

namespace xg::io::detail {

/// Writes model.json and the .npy files into the existing empty directory `dir`.
/// Validates first (see save_model), so nothing is written for a bad model;
/// with `dir` empty it only validates.
void write_model_files(const std::string& dir, const nn::Sequential& model, const std::string& cost,
                       const std::string& metadata_json);

/// A parameter and the value to give it.
using ParameterValues = std::vector<std::pair<Tensor, Array>>;
/// Reads and checks the model directory `root`/`sub` ("" = root) against
/// `model` (see load_parameters) without changing anything. Files below
/// `root` are opened without following links.
ParameterValues read_parameters_for(const nn::Module& model, const std::string& root,
                                    const std::string& sub);
/// Copies each value into its parameter in place. Shapes were checked, so
/// this cannot fail.
void assign_parameters(ParameterValues& values) noexcept;

}  // namespace xg::io::detail
