// Model directories: the manifest (model.json), the parameter files, and the
// atomic directory swap shared with checkpoints. Format: docs/model-format.md.
#include "xgrad/io/model.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <system_error>
#include <typeinfo>

#include "xgrad/error.hpp"
#include "xgrad/io/npy.hpp"
#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/dropout.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/nn/softmax.hpp"
#include "xgrad/random.hpp"

namespace xg::io {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

constexpr std::size_t kMaxManifestBytes = 64u << 20;
// Nested Sequentials deeper than this are not a real network but a hostile file.
constexpr int kMaxDepth = 32;

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// ------------------------------------------------------------ architecture out

json describe_layer(const nn::Module& layer, const std::string& path, int depth) {
  const std::type_info& type = typeid(layer);
  if (type == typeid(nn::Sequential)) {
    if (depth >= kMaxDepth)
      throw value_error("save_model: Sequentials nested deeper than " + std::to_string(kMaxDepth) +
                        " at layer '" + path + "'");
    const auto& seq = static_cast<const nn::Sequential&>(layer);
    json layers = json::array();
    for (std::size_t i = 0; i < seq.size(); ++i)
      layers.push_back(
          describe_layer(*seq[i], path + (path.empty() ? "" : ".") + std::to_string(i), depth + 1));
    return {{"type", "Sequential"}, {"layers", std::move(layers)}};
  }
  if (type == typeid(nn::Linear)) {
    const auto& lin = static_cast<const nn::Linear&>(layer);
    return {{"type", "Linear"}, {"in", lin.in_features()}, {"out", lin.out_features()}};
  }
  if (type == typeid(nn::Dropout))
    return {{"type", "Dropout"}, {"p", static_cast<const nn::Dropout&>(layer).p()}};
  if (type == typeid(nn::Softmax)) return {{"type", "Softmax"}};
  if (type == typeid(nn::Identity)) return {{"type", "Identity"}};
  // Any other activation is described by its registry name, provided that the
  // name really rebuilds a module of the same class without parameters.
  const std::string name = layer.type_name();
  if (nn::has_activation(name) && layer.parameters().empty() && layer.children().empty()) {
    const auto rebuilt = nn::make_activation(name);
    const nn::Module& fresh = *rebuilt;
    if (typeid(fresh) == type) return {{"type", "activation"}, {"name", name}};
  }
  throw value_error("save_model: layer '" + path + "' (" + layer.describe() +
                    ") cannot be described in a model file: only Linear, Dropout, Softmax, "
                    "Identity, Sequential and registered activations can");
}

// ------------------------------------------------------------ architecture in
// The manifest's layers are parsed into plain specs first, so that every
// problem is reported before any module (and its memory) is created.

struct LayerSpec {
  std::string type;  // "Sequential", "Linear", "Dropout", "Softmax", "Identity", "activation"
  std::size_t in = 0, out = 0;
  double p = 0.0;
  std::string name;
  std::vector<LayerSpec> layers;
};

class ArchitectureReader {
 public:
  explicit ArchitectureReader(std::string file) : file_(std::move(file)) {}

  LayerSpec read(const json& j, const std::string& path, int depth) const {
    const std::string at = path.empty() ? "architecture" : "layer '" + path + "'";
    if (!j.is_object()) bad(at + " is not a JSON object");
    const std::string type = string_field(j, "type", at);
    LayerSpec spec;
    spec.type = type;
    if (type == "Sequential") {
      only_keys(j, {"type", "layers"}, at);
      if (depth >= kMaxDepth)
        bad(at + ": Sequentials nested deeper than " + std::to_string(kMaxDepth));
      if (!j.contains("layers") || !j["layers"].is_array())
        bad(at + ": \"layers\" must be an array");
      const json& layers = j["layers"];
      if (layers.empty()) bad(at + ": a Sequential needs at least one layer");
      for (std::size_t i = 0; i < layers.size(); ++i)
        spec.layers.push_back(
            read(layers[i], (path.empty() ? "" : path + ".") + std::to_string(i), depth + 1));
    } else if (type == "Linear") {
      only_keys(j, {"type", "in", "out"}, at);
      spec.in = size_field(j, "in", at);
      spec.out = size_field(j, "out", at);
    } else if (type == "Dropout") {
      only_keys(j, {"type", "p"}, at);
      if (!j.contains("p") || !j["p"].is_number()) bad(at + ": \"p\" must be a number");
      spec.p = j["p"].get<double>();
      if (!(spec.p >= 0.0 && spec.p < 1.0))
        bad(at + ": dropout probability p = " + j["p"].dump() + " is not in [0, 1)");
    } else if (type == "Softmax" || type == "Identity") {
      only_keys(j, {"type"}, at);
    } else if (type == "activation") {
      only_keys(j, {"type", "name"}, at);
      spec.name = string_field(j, "name", at);
      if (!nn::has_activation(spec.name)) {
        std::string known;
        for (const auto& n : nn::activation_names()) known += (known.empty() ? "" : ", ") + n;
        bad(at + ": unknown activation '" + spec.name + "' (known: " + known + ")");
      }
    } else {
      bad(at + ": unknown layer type '" + type +
          "' (known: Sequential, Linear, Dropout, Softmax, Identity, activation)");
    }
    return spec;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const { throw io_error(file_ + ": " + what); }

  std::string string_field(const json& j, const char* key, const std::string& at) const {
    if (!j.contains(key) || !j[key].is_string()) bad(at + ": \"" + key + "\" must be a string");
    return j[key].get<std::string>();
  }
  std::size_t size_field(const json& j, const char* key, const std::string& at) const {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<long long>() <= 0)
      bad(at + ": \"" + key + "\" must be a positive integer");
    return j[key].get<std::size_t>();
  }
  // Strict: a key we do not know could change what the layer means.
  void only_keys(const json& j, std::initializer_list<const char*> keys,
                 const std::string& at) const {
    for (const auto& item : j.items()) {
      bool known = false;
      for (const char* k : keys) known = known || item.key() == k;
      if (!known) bad(at + ": unexpected key \"" + item.key() + "\"");
    }
  }

  std::string file_;
};

std::shared_ptr<nn::Module> build(const LayerSpec& spec, Rng& rng) {
  if (spec.type == "Sequential") {
    auto seq = std::make_shared<nn::Sequential>();
    for (const auto& child : spec.layers) seq->add(build(child, rng));
    return seq;
  }
  if (spec.type == "Linear") return std::make_shared<nn::Linear>(spec.in, spec.out, rng);
  if (spec.type == "Dropout") return std::make_shared<nn::Dropout>(spec.p, std::uint64_t{0});
  if (spec.type == "Softmax") return std::make_shared<nn::Softmax>();
  if (spec.type == "Identity") return std::make_shared<nn::Identity>();
  return nn::make_activation(spec.name);
}

// The parameter shapes the architecture implies, in named_parameters() order.
void expected_parameters(const LayerSpec& spec, const std::string& prefix,
                         std::vector<std::pair<std::string, Shape>>& out) {
  if (spec.type == "Sequential") {
    for (std::size_t i = 0; i < spec.layers.size(); ++i)
      expected_parameters(spec.layers[i], prefix + std::to_string(i) + ".", out);
  } else if (spec.type == "Linear") {
    out.emplace_back(prefix + "weight", Shape{spec.out, spec.in});
    out.emplace_back(prefix + "bias", Shape{spec.out});
  }
}

// ------------------------------------------------------------ manifest

struct ParamFile {
  std::string name;
  Shape shape;
  std::string file;
  Array value;
};

struct Manifest {
  std::string path;  // for messages
  json j;
  std::vector<ParamFile> params;  // without values until read_values()
};

json parse_json_file(const std::string& path) {
  const std::string text = detail::read_text_file(path, kMaxManifestBytes);
  try {
    // Parsing is iterative but dump() recurses: deep nesting would overflow the stack.
    return json::parse(text, [&](int depth, json::parse_event_t, json&) {
      if (depth > 256) throw io_error(path + ": JSON nested deeper than 256 levels");
      return true;
    });
  } catch (const json::exception& e) {
    throw io_error(path + ": malformed JSON: " + e.what());
  }
}

Manifest read_manifest(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw io_error("model directory '" + dir + "' does not exist or is not a directory");
  Manifest m;
  m.path = (fs::path(dir) / kModelManifest).string();
  if (!fs::exists(m.path, ec))
    throw io_error(m.path + ": missing (is '" + dir + "' a model saved by xgrad?)");
  m.j = parse_json_file(m.path);
  const json& j = m.j;
  auto bad = [&](const std::string& what) { throw io_error(m.path + ": " + what); };
  if (!j.is_object()) bad("the manifest is not a JSON object");
  if (!j.contains("format") || j["format"] != kModelFormat)
    bad(std::string("not an xgrad model manifest (\"format\" should be \"") + kModelFormat +
        "\", got " + (j.contains("format") ? j["format"].dump() : "nothing") + ")");
  if (!j.contains("version") || !j["version"].is_number_integer())
    bad("\"version\" is missing or not an integer");
  if (j["version"].get<long long>() != kModelVersion)
    bad("unsupported version " + j["version"].dump() + " (this xgrad reads version " +
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
    if (e.contains("dtype") && !(e["dtype"] == "<f8" || e["dtype"] == "<f4"))
      bad(at + " ('" + p.name + "'): unsupported dtype " + e["dtype"].dump());
    if (!detail::is_plain_file_name(p.file) || p.file.size() < 5 ||
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
void read_values(Manifest& m, const std::string& dir) {
  for (ParamFile& p : m.params) {
    const std::string path = (fs::path(dir) / p.file).string();
    std::error_code ec;
    if (!fs::exists(path, ec))
      throw io_error(path + ": missing (parameter '" + p.name + "' listed in " + m.path + ")");
    p.value = load_npy(path);
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
  detail::save_directory_atomically(dir, kModelManifest, [&](const std::string& tmp) {
    detail::write_model_files(tmp, model, cost, metadata_json);
  });
}

LoadedModel load_model(const std::string& dir) {
  Manifest m = read_manifest(dir);
  if (!m.j.contains("architecture")) throw io_error(m.path + ": \"architecture\" is missing");
  const LayerSpec arch = ArchitectureReader(m.path).read(m.j["architecture"], "", 0);
  if (arch.type != "Sequential")
    throw io_error(m.path + ": the architecture must be a Sequential, got '" + arch.type + "'");
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
  read_values(m, dir);
  // The architecture's parameter shapes must match the files' before any
  // layer is built: a manifest claiming Linear(10^9, 10^9) is rejected here,
  // with the memory it would need justified by no file.
  std::vector<std::pair<std::string, Shape>> expected;
  expected_parameters(arch, "", expected);
  std::map<std::string, const ParamFile*> by_name;
  for (const ParamFile& p : m.params) by_name[p.name] = &p;
  for (const auto& [name, shape] : expected) {
    auto it = by_name.find(name);
    if (it == by_name.end())
      throw io_error(m.path + ": the architecture has parameter '" + name +
                     "' but the parameter table does not");
    if (it->second->shape != shape)
      throw io_error(m.path + ": parameter '" + name + "' has shape " +
                     shape_str(it->second->shape) + " but the architecture needs " +
                     shape_str(shape));
  }
  if (expected.size() != m.params.size()) {
    std::set<std::string> want;
    for (const auto& e : expected) want.insert(e.first);
    std::vector<std::string> extra;
    for (const ParamFile& p : m.params)
      if (!want.count(p.name)) extra.push_back(p.name);
    throw io_error(m.path + ": parameters not in the architecture: " + names_list(extra));
  }
  Rng rng(0);  // the drawn values are overwritten right away
  out.model = std::static_pointer_cast<nn::Sequential>(build(arch, rng));
  auto values = match(*out.model, m);
  detail::assign_parameters(values);
  return out;
}

void load_parameters(nn::Module& model, const std::string& dir) {
  auto values = detail::read_parameters_for(model, dir);
  detail::assign_parameters(values);
}

namespace detail {

ParameterValues read_parameters_for(const nn::Module& model, const std::string& dir) {
  Manifest m = read_manifest(dir);
  read_values(m, dir);
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
  manifest["architecture"] = describe_layer(model, "", 0);
  manifest["cost"] = cost.empty() ? json(nullptr) : json(cost);
  manifest["metadata"] = std::move(metadata);
  json table = json::array();
  const auto named = model.named_parameters();
  for (const auto& [name, t] : named) {
    const std::string file = name + ".npy";
    if (!is_plain_file_name(file))
      throw value_error("save_model: parameter name '" + name + "' cannot be a file name");
    for (Scalar v : t.value())
      if (!std::isfinite(v))
        throw numeric_error(
            "save_model: parameter '" + name +
            "' contains NaN or Inf; refusing to save a model that cannot be loaded");
    table.push_back({{"name", name},
                     {"shape", Shape(t.value().shape().begin(), t.value().shape().end())},
                     {"file", file},
                     {"dtype", npy_dtype()}});
  }
  manifest["parameters"] = std::move(table);
  if (dir.empty()) return;  // validation only

  for (const auto& [name, t] : named)
    write_file_durably((fs::path(dir) / (name + ".npy")).string(), encode_npy(t.value()));
  write_file_durably((fs::path(dir) / kModelManifest).string(), manifest.dump(2) + "\n");
}

std::string read_text_file(const std::string& path, std::size_t max_bytes) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw io_error(path + ": missing or not a regular file");
  const auto size = fs::file_size(path, ec);
  if (ec) throw io_error(path + ": cannot read its size: " + ec.message());
  if (size > max_bytes)
    throw io_error(path + ": " + std::to_string(size) + " bytes is more than the limit of " +
                   std::to_string(max_bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error(path + ": cannot open: " + errno_text(errno));
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size) throw io_error(path + ": read failed");
  return text;
}

bool is_plain_file_name(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (unsigned char c : name)
    if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) return false;
  return true;
}

namespace {
bool& atomic_exchange_enabled() {
  static bool enabled = true;
  return enabled;
}
}  // namespace

void set_atomic_exchange(bool enabled) { atomic_exchange_enabled() = enabled; }

void save_directory_atomically(const std::string& dir, const std::string& marker,
                               const std::function<void(const std::string& tmp_dir)>& write) {
  fs::path target(dir);
  if (!target.has_filename()) target = target.parent_path();  // "runs/model/"
  const std::string name = target.filename().string();
  if (name.empty() || name == "." || name == "..")
    throw value_error("save: '" + dir + "' does not name a directory to create");
  const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec)
    throw io_error("save: cannot create the parent directory '" + parent.string() + "' of '" + dir +
                   "': " + ec.message());

  const auto st = fs::symlink_status(target, ec);
  const bool replacing = fs::exists(st);
  if (replacing) {
    if (fs::is_symlink(st))
      throw io_error("save: '" + dir + "' is a symbolic link; refusing to replace it");
    if (!fs::is_directory(st))
      throw io_error("save: '" + dir + "' exists and is not a directory; refusing to replace it");
    if (!fs::is_empty(target, ec) && !fs::exists(target / marker, ec))
      throw io_error("save: '" + dir + "' is a non-empty directory without " + marker +
                     "; refusing to replace something that is not a saved xgrad directory");
  }

  const fs::path tmp = parent / ("." + name + ".tmp-" + unique_suffix());
  if (!fs::create_directory(tmp, ec) || ec)
    throw io_error("save: cannot create the temporary directory '" + tmp.string() +
                   "': " + (ec ? ec.message() : "it already exists"));
  auto discard_tmp = [&] {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
  };
  try {
    write(tmp.string());
    sync_directory(tmp.string());
  } catch (...) {
    discard_tmp();
    throw;
  }

  if (!replacing) {
    if (std::rename(tmp.c_str(), target.c_str()) != 0) {
      const int err = errno;
      discard_tmp();
      throw io_error("save: cannot rename '" + tmp.string() + "' to '" + dir +
                     "': " + errno_text(err));
    }
    sync_directory(parent.string());
    return;
  }
#if defined(__linux__) && defined(RENAME_EXCHANGE)
  // One atomic step: the path always names a complete directory.
  if (atomic_exchange_enabled() &&
      ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    sync_directory(parent.string());
    discard_tmp();  // now holds the old directory
    return;
  }
#endif
  // Portable fallback: the old directory is moved aside, not deleted, until
  // the new one is in place.
  const fs::path aside = parent / ("." + name + ".old-" + unique_suffix());
  if (std::rename(target.c_str(), aside.c_str()) != 0) {
    const int err = errno;
    discard_tmp();
    throw io_error("save: cannot move the old '" + dir + "' aside: " + errno_text(err));
  }
  if (std::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    std::rename(aside.c_str(), target.c_str());
    discard_tmp();
    throw io_error("save: cannot rename '" + tmp.string() + "' to '" + dir +
                   "': " + errno_text(err));
  }
  sync_directory(parent.string());
  fs::remove_all(aside, ec);  // a leftover hidden ".old-" directory is harmless
}

}  // namespace detail

}  // namespace xg::io
