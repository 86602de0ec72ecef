#include "xgrad/train/checkpointer.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/json_file.hpp"
#include "xgrad/error.hpp"
#include "xgrad/io/checkpoint.hpp"

namespace xg::train {

namespace {

using json = nlohmann::ordered_json;

std::string progress_json(const FitProgress& p) {
  return json{{"epochs_since_best", p.epochs_since_best},
              {"epochs_since_schedule", p.epochs_since_schedule},
              {"best_correct", p.best_correct ? json(*p.best_correct) : json(nullptr)},
              {"best_epoch", p.best_epoch},
              {"initial_learning_rate", p.initial_learning_rate}}
      .dump();
}

// Checkpoints written before "progress" existed load with the defaults.
FitProgress read_progress(const std::string& text, const std::string& file) {
  FitProgress p;
  if (text.empty()) return p;
  const json j = json::parse(text);  // io wrote it from a parsed object
  const io::detail::Fields f(j, file, "\"progress\": ");
  p.epochs_since_best = f.count("epochs_since_best");
  p.epochs_since_schedule = f.count("epochs_since_schedule");
  p.best_epoch = f.count("best_epoch");
  p.best_correct = f.optional_count("best_correct");
  p.initial_learning_rate = f.number("initial_learning_rate");
  if (p.initial_learning_rate < 0) f.fail("initial_learning_rate", "must be >= 0");
  return p;
}

}  // namespace

Checkpointer::Checkpointer(nn::Sequential& model, optim::Optimizer& optimizer, std::string dir)
    : model_(model), optimizer_(optimizer), dir_(std::move(dir)) {}

void Checkpointer::set_settings(const std::string& settings_json) {
  if (!settings_json.empty() && !json::accept(settings_json))
    throw value_error("Checkpointer: the settings are not valid JSON");
  settings_ = settings_json;
}

void Checkpointer::add_state(const std::string& name, StateProvider provider) {
  if (name.empty()) throw value_error("Checkpointer::add_state: the name must not be empty");
  if (!provider.save || !provider.restore)
    throw value_error("Checkpointer::add_state: '" + name + "' needs both save and restore");
  if (!providers_.emplace(name, std::move(provider)).second)
    throw value_error("Checkpointer::add_state: '" + name + "' is already registered");
}

Resumed Checkpointer::resume(const std::string& dir, FitOptions& options) {
  const std::string file = (std::filesystem::path(dir) / io::kCheckpointManifest).string();
  // Everything the io floor does not check is checked before it commits.
  io::Checkpoint ck = io::peek_checkpoint(dir);
  const FitProgress progress = read_progress(ck.progress_json, file);
  for (const auto& [name, p] : providers_)
    if (!ck.states.count(name))
      throw io_error(file + ": \"states\": no saved state '" + name + "' (registered by this run)");
  for (const auto& [name, text] : ck.states)
    if (!providers_.count(name))
      throw io_error(file + ": \"states\": state '" + name + "' is not registered by this run");
  Rng rng;
  if (!ck.rng_state.empty()) rng.restore(ck.rng_state);  // io checked it

  ck = io::load_checkpoint(dir, model_, optimizer_);
  for (const auto& [name, p] : providers_) {
    try {
      p.restore(ck.states.at(name));
    } catch (const xg::error& e) {
      throw io_error(file + ": \"states\": '" + name + "' was refused: " + e.what());
    }
  }
  if (!ck.rng_state.empty())
    rng_ = rng;
  else
    rng_ = Rng(options.seed);
  resumed_ = true;
  order_ = std::move(ck.order);
  progress_ = progress;
  options.first_epoch = ck.epoch;
  options.rng = &rng_;
  options.resume_order = order_.empty() ? nullptr : &order_;
  options.resume_progress = &progress_;
  return Resumed{ck.epoch, ck.settings_json};
}

void Checkpointer::attach(FitOptions& options) {
  if (!resumed_) rng_ = Rng(options.seed);
  options.rng = &rng_;
  auto next = std::move(options.on_epoch_end);
  options.on_epoch_end = [this, next](const EpochRecord& r, const FitState& st) {
    if (!dir_.empty()) save(dir_, r, st);
    return next ? next(r, st) : true;
  };
}

void Checkpointer::save(const std::string& dir, const EpochRecord& record,
                        const FitState& state) const {
  io::Checkpoint ck;
  ck.epoch = record.epoch;
  ck.rng_state = state.rng.state();
  ck.order = state.order;
  ck.progress_json = progress_json(state.progress);
  ck.learning_rate = optimizer_.learning_rate();
  ck.settings_json = settings_;
  for (const auto& [name, p] : providers_) ck.states[name] = p.save();
  io::save_checkpoint(dir, model_, optimizer_, ck);
}

}  // namespace xg::train
