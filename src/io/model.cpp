// Model directories: the manifest (model.json) and the parameter files. The
// architecture is io/architecture.cpp's; format: docs/model-format.md.
#include "xgrad/io/model.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "io/architecture.hpp"
#include "io/json_file.hpp"
#include "io/model_files.hpp"
#include "util/file.hpp"
#include "xgrad/error.hpp"
#include "xgrad/io/npy.hpp"

namespace xg::io {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

constexpr std::size_t kMaxManifestBytes = 64u << 20;
constexpr std::size_t kMaxParameterBytes = std::size_t{1} << 40;

// ------------------------------------------------------------ manifest

struct ParamFile {
  std::string name;
  Shape shape;
  std::string file;
  Array value;
};

struct Manifest {
  std::string root, sub;  // see read_manifest
  std::string in_dir(const std::string& name) const {
    return sub.empty() ? name : sub + "/" + name;
  }
  std::string path;  // for messages
  json j;
  long long version = 0;
  std::vector<ParamFile> params;  // without values until read_values()
};

// The model directory is `root`/`sub` ("" = root itself); files inside it
// are opened from `root` without following links (file::read_file_in).
Manifest read_manifest(const std::string& root, const std::string& sub) {
  const std::string dir = sub.empty() ? root : (fs::path(root) / sub).string();
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw io_error("model directory '" + dir + "' does not exist or is not a directory");
  Manifest m;
  m.path = (fs::path(dir) / kModelManifest).string();
  if (!fs::exists(m.path, ec))
    throw io_error(m.path + ": missing (is '" + dir + "' a model saved by xgrad?)");
  m.root = root;
  m.sub = sub;
  m.j = detail::parse_json_in(root, m.in_dir(kModelManifest), kMaxManifestBytes);
  const json& j = m.j;
  auto bad = [&](const std::string& what) { throw io_error(m.path + ": " + what); };
  if (!j.is_object()) bad("the manifest is not a JSON object");
  if (!j.contains("format") || j["format"] != kModelFormat)
    bad(std::string("not an xgrad model manifest (\"format\" should be \"") + kModelFormat +
        "\", got " + (j.contains("format") ? j["format"].dump() : "nothing") + ")");
  if (!j.contains("version") || !j["version"].is_number_integer())
    bad("\"version\" is missing or not an integer");
  m.version = j["version"].get<long long>();
  if (m.version < 1 || m.version > kModelVersion)
    bad("unsupported version " + j["version"].dump() + " (this xgrad reads versions 1 to " +
        std::to_string(kModelVersion) + ")");
  if (!j.contains("parameters") || !j["parameters"].is_array())
    bad("\"parameters\" is missing or not an array");
  std::set<std::string> names, files;
  for (std::size_t k = 0; k < j["parameters"].size(); ++k) {
    const json& e = j["parameters"][k];
    const std::string at = "parameter entry " + std::to_string(k);
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("file") ||
        !e["file"].is_string() || !e.contains("shape") || !e["shape"].is_array())
      bad(at + " needs a string \"name\", a string \"file\" and an array \"shape\"");
    ParamFile p;
    p.name = e["name"].get<std::string>();
    p.file = e["file"].get<std::string>();
    for (const json& d : e["shape"]) {
      if (!d.is_number_integer() || d.get<long long>() < 0)
        bad(at + " ('" + p.name + "'): shape entries must be non-negative integers");
      p.shape.push_back(d.get<std::size_t>());
    }
    if (e.contains("decay") && !e["decay"].is_boolean())
      bad(at + " ('" + p.name + "'): \"decay\" must be true or false");
    if (e.contains("dtype") && !(e["dtype"] == "<f8" || e["dtype"] == "<f4"))
      bad(at + " ('" + p.name + "'): unsupported dtype " + e["dtype"].dump());
    if (!file::is_plain_file_name(p.file) || p.file.size() < 5 ||
        p.file.compare(p.file.size() - 4, 4, ".npy") != 0)
      bad(at + " ('" + p.name + "'): file \"" + p.file +
          "\" must be a plain .npy file name inside the model directory");
    if (!names.insert(p.name).second) bad("parameter '" + p.name + "' is listed twice");
    if (!files.insert(p.file).second) bad("file '" + p.file + "' is listed twice");
    m.params.push_back(std::move(p));
  }
  // A .npy file the manifest does not list means the directory is not what
  // the manifest describes (a mixed-up or half-copied save).
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string f = entry.path().filename().string();
    if (entry.path().extension() == ".npy" && !files.count(f))
      bad("extra parameter file '" + f + "' in '" + dir + "' is not listed in the manifest");
  }
  if (ec) throw io_error("cannot list model directory '" + dir + "': " + ec.message());
  return m;
}

// Loads every listed file; each must exist, match its table shape and be finite.
void read_values(Manifest& m) {
  for (ParamFile& p : m.params) {
    const std::string path = (fs::path(m.root) / m.in_dir(p.file)).string();
    std::string bytes;
    try {
      bytes = file::read_file_in(m.root, m.in_dir(p.file), kMaxParameterBytes);
    } catch (const io_error& e) {
      throw io_error(std::string(e.what()) + " (parameter '" + p.name + "' listed in " + m.path +
                     ")");
    }
    p.value = decode_npy(bytes, path);
    const auto& s = p.value.shape();
    if (!std::equal(s.begin(), s.end(), p.shape.begin(), p.shape.end()))
      throw io_error(path + ": holds shape " + shape_str(s) + " but the manifest says " +
                     shape_str(p.shape) + " for parameter '" + p.name + "'");
    for (Scalar v : p.value)
      if (!std::isfinite(v))
        throw io_error(path + ": parameter '" + p.name + "' contains NaN or Inf");
  }
}

std::string names_list(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "'" : ", '") + n + "'";
  return s;
}

// Pairs each model parameter with its loaded value; exact name set, equal shapes.
detail::ParameterValues match(const nn::Module& model, Manifest& m) {
  std::map<std::string, ParamFile*> by_name;
  for (ParamFile& p : m.params) by_name[p.name] = &p;
  const auto named = model.named_parameters();
  std::vector<std::string> missing, extra;
  std::set<std::string> model_names;
  for (const auto& [name, t] : named) {
    model_names.insert(name);
    if (!by_name.count(name)) missing.push_back(name);
  }
  for (const ParamFile& p : m.params)
    if (!model_names.count(p.name)) extra.push_back(p.name);
  if (!missing.empty() || !extra.empty())
    throw io_error(m.path + ": the parameters do not match the model" +
                   (missing.empty() ? "" : "; missing: " + names_list(missing)) +
                   (extra.empty() ? "" : "; not in the model: " + names_list(extra)));
  detail::ParameterValues values;
  for (const auto& [name, t] : named) {
    ParamFile& p = *by_name[name];
    const auto& want = t.value().shape();
    if (!std::equal(want.begin(), want.end(), p.shape.begin(), p.shape.end()))
      throw io_error(m.path + ": parameter '" + name + "' (file " + p.file + ") has shape " +
                     shape_str(p.shape) + " but the model's is " + shape_str(want));
    values.emplace_back(t, std::move(p.value));
  }
  return values;
}

}  // namespace

// ------------------------------------------------------------ public API

void save_model(const std::string& dir, const nn::Sequential& model, const std::string& cost,
                const std::string& metadata_json) {
  // Describe before touching the disk: a model we cannot save writes nothing.
  detail::write_model_files("", model, cost, metadata_json);
  file::write_directory_atomically(dir, kModelManifest, [&](const std::string& tmp) {
    detail::write_model_files(tmp, model, cost, metadata_json);
  });
}

void check_save_target(const std::string& dir) {
  file::check_directory_target(dir, kModelManifest);
}

LoadedModel load_model(const std::string& dir) {
  Manifest m = read_manifest(dir, "");
  if (!m.j.contains("architecture")) throw io_error(m.path + ": \"architecture\" is missing");
  LoadedModel out;
  if (m.j.contains("cost") && !m.j["cost"].is_null()) {
    if (!m.j["cost"].is_string()) throw io_error(m.path + ": \"cost\" must be a string or null");
    out.cost = m.j["cost"].get<std::string>();
  }
  out.metadata_json = "{}";
  if (m.j.contains("metadata") && !m.j["metadata"].is_null()) {
    if (!m.j["metadata"].is_object()) throw io_error(m.path + ": \"metadata\" must be an object");
    out.metadata_json = m.j["metadata"].dump();
  }
  read_values(m);
  // Layers ask for their parameters' shapes before allocating them: a
  // manifest claiming Linear(10^9, 10^9) is refused here, with the memory it
  // would need justified by no file.
  std::map<std::string, const ParamFile*> by_name;
  for (const ParamFile& p : m.params) by_name[p.name] = &p;
  auto check = [&](const std::string& name, const Shape& shape) {
    auto it = by_name.find(name);
    if (it == by_name.end())
      throw io_error(m.path + ": the architecture has parameter '" + name +
                     "' but the parameter table does not");
    if (it->second->shape != shape)
      throw io_error(m.path + ": parameter '" + name + "' (" + it->second->file + ") has shape " +
                     shape_str(it->second->shape) + " but the architecture needs " +
                     shape_str(shape));
  };
  auto root =
      detail::build_architecture(m.j["architecture"], static_cast<int>(m.version), m.path, check);
  out.model = std::dynamic_pointer_cast<nn::Sequential>(root);
  if (!out.model)
    throw io_error(m.path + ": the architecture must be a Sequential, got '" + root->type_name() +
                   "'");
  auto values = match(*out.model, m);
  detail::assign_parameters(values);
  return out;
}

void load_parameters(nn::Module& model, const std::string& dir) {
  auto values = detail::read_parameters_for(model, dir, "");
  detail::assign_parameters(values);
}

namespace detail {

ParameterValues read_parameters_for(const nn::Module& model, const std::string& root,
                                    const std::string& sub) {
  Manifest m = read_manifest(root, sub);
  read_values(m);
  return match(model, m);
}

void assign_parameters(ParameterValues& values) noexcept {
  for (auto& [tensor, value] : values) {
    // In place: the node keeps its buffer, and nothing here can throw.
    Array& dst = tensor.mutable_value();
    std::copy(value.data(), value.data() + value.size(), dst.data());
  }
}

void write_model_files(const std::string& dir, const nn::Sequential& model, const std::string& cost,
                       const std::string& metadata_json) {
  json metadata = json::object();
  if (!metadata_json.empty()) {
    try {
      metadata = json::parse(metadata_json);
    } catch (const json::exception& e) {
      throw value_error(std::string("save_model: metadata is not valid JSON: ") + e.what());
    }
    if (!metadata.is_object())
      throw value_error("save_model: metadata must be a JSON object, got " +
                        std::string(metadata.type_name()));
  }
  json manifest;
  manifest["format"] = kModelFormat;
  manifest["version"] = kModelVersion;
  manifest["architecture"] = detail::describe_architecture(model);
  manifest["cost"] = cost.empty() ? json(nullptr) : json(cost);
  manifest["metadata"] = std::move(metadata);
  json table = json::array();
  const auto named = model.named_parameters();
  // "decay": whether L1/L2 regularisation applies (Module::weights()), so a
  // reader of the file can tell.
  std::set<const void*> decayed;
  for (const Tensor& w : model.weights()) decayed.insert(w.node());
  for (const auto& [name, t] : named) {
    const std::string file = name + ".npy";
    if (!file::is_plain_file_name(file))
      throw value_error("save_model: parameter name '" + name + "' cannot be a file name");
    for (Scalar v : t.value())
      if (!std::isfinite(v))
        throw numeric_error(
            "save_model: parameter '" + name +
            "' contains NaN or Inf; refusing to save a model that cannot be loaded");
    table.push_back({{"name", name},
                     {"shape", Shape(t.value().shape().begin(), t.value().shape().end())},
                     {"file", file},
                     {"dtype", npy_dtype()},
                     {"decay", decayed.count(t.node()) > 0}});
  }
  manifest["parameters"] = std::move(table);
  if (dir.empty()) return;  // validation only

  for (const auto& [name, t] : named)
    file::write_new_file((fs::path(dir) / (name + ".npy")).string(), encode_npy(t.value()));
  file::write_new_file((fs::path(dir) / kModelManifest).string(), manifest.dump(2) + "\n");
}

}  // namespace detail

}  // namespace xg::io
