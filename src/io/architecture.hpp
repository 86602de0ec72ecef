#pragma once
// A module tree as model.json's "architecture" and back, through the layer
// registry (nn/registry.hpp) and the activation registry: io knows no layer
// by name. Format and versions: docs/model-format.md.
#include <functional>
#include <memory>
#include <string>

#include "io/json_file.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/tensor.hpp"

namespace xg::io::detail {

/// The architecture of `module` (a layer object: "type", its config keys,
/// and its children under "layers"). value_error naming the layer for a
/// module that cannot be rebuilt: a type neither in the layer registry nor a
/// registered activation, or nesting deeper than 32 levels.
json describe_architecture(const nn::Module& module);

/// Answers "does the file hold parameter `name` with this shape?" (throws
/// io_error if not): lets layers refuse a hostile size before allocating.
using ParameterCheck = std::function<void(const std::string& name, const Shape& shape)>;

/// Rebuilds the module tree described by `arch` (read from a manifest of the
/// given format `version`, for its spellings). io_error naming `file` and the
/// layer for anything malformed or unknown; nothing is returned half built.
std::shared_ptr<nn::Module> build_architecture(const json& arch, int version,
                                               const std::string& file,
                                               const ParameterCheck& check);

}  // namespace xg::io::detail
