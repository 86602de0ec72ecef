// Checkpoint directories: a model directory, the optimizer's state arrays and
// checkpoint.json. Format: docs/model-format.md.
#include "xgrad/io/checkpoint.hpp"

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "io/json_file.hpp"
#include "io/model_files.hpp"
#include "util/file.hpp"
#include "xgrad/error.hpp"
#include "xgrad/io/model.hpp"
#include "xgrad/io/npy.hpp"
#include "xgrad/random.hpp"

namespace xg::io {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

constexpr const char* kModelSubdir = "model";
constexpr const char* kOptimizerSubdir = "optimizer";
constexpr std::size_t kMaxManifestBytes = 256u << 20;  // room for a long `order`

// Every module's extra state (Module::extra_state: Dropout's mask engine, and
// whatever later layers carry) by dotted path ("3", "block.1").
using ModuleStates = std::map<std::string, nn::Module::ExtraState>;

void collect_states(const nn::Module& m, const std::string& path, ModuleStates& out,
                    std::map<std::string, nn::Module*>* modules) {
  for (const auto& [name, child] : m.children()) {
    const std::string p = path.empty() ? name : path + "." + name;
    auto state = child->extra_state();
    if (!state.empty()) {
      out[p] = std::move(state);
      if (modules) (*modules)[p] = child.get();
    }
    collect_states(*child, p, out, modules);
  }
}

json parse_text(const std::string& text, const char* what) {
  if (text.empty()) return nullptr;
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw value_error(std::string("save_checkpoint: ") + what + " is not valid JSON: " + e.what());
  }
}

bool valid_rng_state(const std::string& state) {
  try {
    Rng probe;
    probe.restore(state);
    return true;
  } catch (const xg::error&) {
    return false;
  }
}

}  // namespace

void check_checkpoint_target(const std::string& dir) {
  file::check_directory_target(dir, kCheckpointManifest, "save_checkpoint");
}

void save_checkpoint(const std::string& dir, const nn::Sequential& model,
                     const optim::Optimizer& opt, const Checkpoint& meta) {
  if (!std::isfinite(meta.learning_rate) || meta.learning_rate < 0)
    throw value_error("save_checkpoint: learning rate must be finite and >= 0, got " +
                      std::to_string(meta.learning_rate));
  if (!meta.rng_state.empty() && !valid_rng_state(meta.rng_state))
    throw value_error("save_checkpoint: rng_state is not an Rng::state() string");
  const json settings = parse_text(meta.settings_json, "settings_json");
  const json progress = parse_text(meta.progress_json, "progress_json");
  if (!progress.is_null() && !progress.is_object())
    throw value_error("save_checkpoint: progress_json must be a JSON object");
  const std::vector<Array> state = opt.state();
  for (std::size_t k = 0; k < state.size(); ++k)
    for (Scalar v : state[k])
      if (!std::isfinite(v))
        throw numeric_error("save_checkpoint: optimizer state array " + std::to_string(k) +
                            " contains NaN or Inf");

  json j;
  j["format"] = kCheckpointFormat;
  j["version"] = kCheckpointVersion;
  j["epoch"] = meta.epoch;
  j["learning_rate"] = meta.learning_rate;
  j["rng_state"] = meta.rng_state;
  j["order"] = meta.order;
  if (!progress.is_null()) j["progress"] = progress;
  j["history_csv"] = meta.history_csv;
  j["settings"] = settings;
  j["states"] = meta.states;
  json table = json::array();
  for (std::size_t k = 0; k < state.size(); ++k)
    table.push_back({{"file", std::to_string(k) + ".npy"},
                     {"shape", Shape(state[k].shape().begin(), state[k].shape().end())}});
  j["optimizer"] = {{"name", opt.name()}, {"state", std::move(table)}};
  ModuleStates states;
  collect_states(model, "", states, nullptr);
  json module_states = json::object();
  for (const auto& [path, state] : states) {
    json named = json::object();
    for (const auto& [name, value] : state) named[name] = value;
    module_states[path] = std::move(named);
  }
  j["module_states"] = std::move(module_states);
  const std::string text = j.dump(2) + "\n";

  detail::write_model_files("", model, "", "");  // refuse a bad model before touching the disk
  file::write_directory_atomically(dir, kCheckpointManifest, [&](const std::string& tmp) {
    const fs::path root(tmp);
    const fs::path model_dir = root / kModelSubdir;
    const fs::path opt_dir = root / kOptimizerSubdir;
    for (const fs::path& sub : {model_dir, opt_dir}) {
      std::error_code ec;
      if (!fs::create_directory(sub, ec) || ec)
        throw io_error("save_checkpoint: cannot create '" + sub.string() + "': " + ec.message());
    }
    detail::write_model_files(model_dir.string(), model, "", "");
    file::sync_directory(model_dir.string());
    for (std::size_t k = 0; k < state.size(); ++k)
      file::write_new_file((opt_dir / (std::to_string(k) + ".npy")).string(), encode_npy(state[k]));
    file::sync_directory(opt_dir.string());
    // Written last: a directory with checkpoint.json is complete.
    file::write_new_file((root / kCheckpointManifest).string(), text);
  });
}

namespace {

struct Manifest {
  std::string path;
  json j;
  long long version = 0;
  Checkpoint fields;
};

// checkpoint.json's format, version and plain fields, read and checked.
Manifest read_manifest(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw io_error("checkpoint directory '" + dir + "' does not exist or is not a directory");
  Manifest m;
  m.path = (fs::path(dir) / kCheckpointManifest).string();
  const std::string& path = m.path;
  auto bad = [&](const std::string& what) -> void { throw io_error(path + ": " + what); };
  m.j = detail::parse_json_in(dir, kCheckpointManifest, kMaxManifestBytes);
  const json& j = m.j;
  if (!j.is_object()) bad("not a JSON object");
  if (!j.contains("format") || j["format"] != kCheckpointFormat)
    bad(std::string("not an xgrad checkpoint (\"format\" should be \"") + kCheckpointFormat +
        "\")");
  if (!j.contains("version") || !j["version"].is_number_integer() ||
      j["version"].get<long long>() < 1 || j["version"].get<long long>() > kCheckpointVersion)
    bad("unsupported version " + (j.contains("version") ? j["version"].dump() : "(missing)") +
        " (this xgrad reads versions 1 to " + std::to_string(kCheckpointVersion) + ")");
  m.version = j["version"].get<long long>();

  // ---- the plain fields
  const detail::Fields f(j, path);
  Checkpoint& out = m.fields;
  out.epoch = f.count("epoch");
  out.learning_rate = f.number("learning_rate");
  if (out.learning_rate < 0) f.fail("learning_rate", "must be >= 0");
  if (f.has("rng_state")) out.rng_state = f.text("rng_state");
  if (!out.rng_state.empty() && !valid_rng_state(out.rng_state))
    f.fail("rng_state", "is not a valid engine state");
  if (f.has("history_csv")) out.history_csv = f.text("history_csv");
  if (f.has("order")) {
    const json& order = f.array("order");
    out.order.reserve(order.size());
    for (const json& v : order) {
      if (!v.is_number_unsigned()) f.fail("order", "must hold non-negative integers");
      out.order.push_back(v.get<std::size_t>());
    }
  }
  if (f.has("settings")) out.settings_json = j["settings"].dump();
  if (f.has("progress")) out.progress_json = f.object("progress").dump();
  if (f.has("states")) {
    for (const auto& item : f.object("states").items()) {
      if (!item.value().is_string())
        f.fail("states", "entry '" + item.key() + "' must be a string");
      out.states.emplace(item.key(), item.value().get<std::string>());
    }
  }

  return m;
}

}  // namespace

Checkpoint peek_checkpoint(const std::string& dir) { return read_manifest(dir).fields; }

namespace {

// The optimizer's saved state: same rule, same count, same shapes, finite.
std::vector<Array> read_optimizer_state(const Manifest& m, const std::string& dir,
                                        const optim::Optimizer& opt) {
  const std::string& path = m.path;
  auto bad = [&](const std::string& what) -> void { throw io_error(path + ": " + what); };
  const detail::Fields f(m.j, path);
  const detail::Fields fo = f.nested("optimizer");
  const std::string opt_name = fo.text("name");
  if (opt_name != opt.name())
    bad("saved with optimizer '" + opt_name + "' but resuming with '" + opt.name() + "'");
  const json& table = fo.array("state");
  const std::vector<Array> current = opt.state();
  if (table.size() != current.size())
    bad("holds " + std::to_string(table.size()) + " optimizer state arrays but the " + opt.name() +
        " optimizer has " + std::to_string(current.size()) + " (a different model?)");
  std::vector<Array> state;
  for (std::size_t k = 0; k < table.size(); ++k) {
    const json& e = table[k];
    if (!e.is_object() || !e.contains("file") || !e["file"].is_string())
      bad("optimizer state entry " + std::to_string(k) + " needs a string \"file\"");
    const std::string file = e["file"].get<std::string>();
    if (!file::is_plain_file_name(file))
      bad("optimizer state file \"" + file + "\" must be a plain file name");
    const std::string fpath = (fs::path(dir) / kOptimizerSubdir / file).string();
    std::string bytes;
    try {
      bytes =
          file::read_file_in(dir, std::string(kOptimizerSubdir) + "/" + file, std::size_t{1} << 40);
    } catch (const io_error& e) {
      throw io_error(std::string(e.what()) + " (listed in " + path + ")");
    }
    Array a = decode_npy(bytes, fpath);
    const auto& want = current[k].shape();
    if (!std::equal(want.begin(), want.end(), a.shape().begin(), a.shape().end()))
      throw io_error(fpath + ": optimizer state " + std::to_string(k) + " has shape " +
                     shape_str(a.shape()) + " but the optimizer's is " + shape_str(want));
    for (Scalar v : a)
      if (!std::isfinite(v)) throw io_error(fpath + ": contains NaN or Inf");
    state.push_back(std::move(a));
  }

  return state;
}

// The saved extra state of every stateful module, checked against `model`
// (exactly its stateful modules, each accepting its state). Version 1 saved
// only Dropout engines, as {"path": "<engine state>"}.
std::map<std::string, std::pair<nn::Module*, nn::Module::ExtraState>> read_module_states(
    const Manifest& m, nn::Module& model) {
  const std::string& path = m.path;
  const json& j = m.j;
  const long long version = m.version;
  auto bad = [&](const std::string& what) -> void { throw io_error(path + ": " + what); };
  ModuleStates current_states;
  std::map<std::string, nn::Module*> stateful;
  collect_states(model, "", current_states, &stateful);
  ModuleStates saved;
  const char* states_key = version == 1 ? "dropout_rng_states" : "module_states";
  if (j.contains(states_key)) {
    const json& js = j[states_key];
    if (!js.is_object()) bad(std::string("\"") + states_key + "\" must be an object");
    for (const auto& item : js.items()) {
      nn::Module::ExtraState state;
      if (version == 1) {
        if (!item.value().is_string())
          bad("dropout layer '" + item.key() + "': invalid engine state");
        state.emplace_back("rng", item.value().get<std::string>());
      } else {
        if (!item.value().is_object())
          bad("module '" + item.key() + "': its state must be an object of strings");
        for (const auto& e : item.value().items()) {
          if (!e.value().is_string())
            bad("module '" + item.key() + "': state '" + e.key() + "' must be a string");
          state.emplace_back(e.key(), e.value().get<std::string>());
        }
      }
      saved.emplace(item.key(), std::move(state));
    }
  }
  for (const auto& [p, m] : stateful)
    if (!saved.count(p))
      bad("no saved state for the model's module '" + p + "' (" + m->describe() + ")");
  for (const auto& [p, st] : saved)
    if (!stateful.count(p)) bad("state for module '" + p + "', which the model lacks");
  // Tried now, undone below: a state the module refuses is found before
  // anything else changes.
  for (const auto& [p, m] : stateful) {
    try {
      m->load_extra_state(saved.at(p));
      m->load_extra_state(current_states.at(p));
    } catch (const xg::error& e) {
      bad("module '" + p + "': invalid state: " + e.what());
    }
  }

  std::map<std::string, std::pair<nn::Module*, nn::Module::ExtraState>> out;
  for (const auto& [p, mod] : stateful) out[p] = {mod, saved.at(p)};
  return out;
}

}  // namespace

Checkpoint load_checkpoint(const std::string& dir, nn::Module& model, optim::Optimizer& opt) {
  Manifest m = read_manifest(dir);
  const std::vector<Array> state = read_optimizer_state(m, dir, opt);
  const auto states = read_module_states(m, model);
  // ---- parameters (checked against the model, nothing assigned yet)
  auto values = detail::read_parameters_for(model, dir, kModelSubdir);

  // ---- commit. load_state is the only step that can still refuse, and it
  // changes nothing when it does, so it goes first.
  try {
    opt.load_state(state);
  } catch (const xg::error& e) {
    throw io_error(m.path + ": the optimizer rejected the saved state: " + e.what());
  }
  opt.set_learning_rate(m.fields.learning_rate);
  detail::assign_parameters(values);
  for (const auto& [p, entry] : states) entry.first->load_extra_state(entry.second);
  return std::move(m.fields);
}

}  // namespace xg::io
