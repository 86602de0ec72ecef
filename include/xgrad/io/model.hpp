#pragma once
// Saving and loading models. A saved model is a DIRECTORY:
//   model.json        the manifest: format "xgrad-model" version 1, the
//                     architecture, the cost name, free-form metadata and the
//                     parameter table (name, shape, file, dtype)
//   0.weight.npy ...  one .npy file per parameter, named after it
// The format, with a NumPy snippet that runs a saved network: docs/model-format.md.
//
// Saves are atomic: everything is written into a temporary sibling directory,
// flushed to disk, and then swapped in, so a crash or an error never leaves
// half a model, and an older model at the same path survives a failed save.
// Loads validate everything before touching a model: a failed load leaves it
// exactly as it was.
#include <memory>
#include <string>

#include "xgrad/nn/module.hpp"
#include "xgrad/nn/sequential.hpp"
#include "xgrad/tensor.hpp"

namespace xg::io {

/// The manifest's "format" and "version".
inline constexpr const char* kModelFormat = "xgrad-model";
inline constexpr int kModelVersion = 2;  // reads 1 too (docs/model-format.md)
/// The manifest's file name inside a model directory.
inline constexpr const char* kModelManifest = "model.json";

/// Saves `model` into the directory `dir` (created, with missing parents).
/// `cost` is the cost's name as make_cost() spells it ("" = none recorded).
/// `metadata_json` is a JSON object as text (experiment settings, accuracy,
/// ...), stored verbatim under "metadata"; "" means {}. value_error for
/// metadata that is not a JSON object, and for a layer the format cannot
/// describe (anything but Linear, Dropout, Softmax, Identity, a nested
/// Sequential and registered activations); numeric_error for a parameter
/// holding NaN or Inf. An existing `dir` is replaced only if it is empty or
/// holds a model.json (so a typo cannot wipe an unrelated directory);
/// io_error otherwise and for any file-system failure, with the old contents
/// intact in every error case.
void save_model(const std::string& dir, const nn::Sequential& model, const std::string& cost = "",
                const std::string& metadata_json = "");

/// Throws the io_error (or value_error) save_model(dir, …) would throw for
/// the path alone: `dir` is a file, a symbolic link or a non-empty directory
/// without model.json, or a parent on the way is a file. Touches nothing:
/// call it before training to refuse an output path up front.
void check_save_target(const std::string& dir);

/// What load_model() rebuilds.
struct LoadedModel {
  std::shared_ptr<nn::Sequential> model;  // in training mode, as a new module is
  std::string cost;                       // "" if the manifest records none
  std::string metadata_json;              // the "metadata" object as JSON text ("{}" if none)
};

/// Rebuilds the architecture from the manifest (Linear, Dropout, Softmax,
/// Identity, nested Sequential, and activations by registry name through
/// nn::make_activation) and fills its parameters. Dropout layers start their
/// mask streams from seed 0 (Dropout::reseed to change it). io_error naming
/// the file and the problem for: a missing directory or manifest, malformed
/// JSON, a wrong format or version, an unknown layer type or activation, bad
/// hyper-parameters, missing or extra parameter files, parameter names or
/// shapes that do not fit the architecture, non-finite values, and any .npy
/// problem (see npy.hpp).
LoadedModel load_model(const std::string& dir);

/// Loads the parameters saved in `dir` into an existing model. Everything is
/// checked first (the manifest, every file, names equal to
/// model.named_parameters() exactly, shapes equal, values finite); only then
/// are the values copied in place (the parameter Tensors keep their nodes, so
/// optimizers holding them see the new values). On any error, io_error naming
/// the file and the problem, and the model is untouched.
void load_parameters(nn::Module& model, const std::string& dir);

}  // namespace xg::io
