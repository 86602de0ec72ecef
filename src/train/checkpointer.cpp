#include "xgrad/train/checkpointer.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/json_file.hpp"
#include "xgrad/dist.hpp"
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

// The state name under which a run's data transform is saved: its parameters
// and seed, all a resumed run needs to distort exactly as before
// (Transform::apply_indexed draws nothing from a shared engine).
constexpr const char* kAugmentState = "augment";

std::string augment_json(const data::Transform* t, std::uint64_t seed) {
  if (!t) return "";
  return json{{"transform", json::parse(t->to_json())}, {"seed", seed}}.dump();
}

// A resumed run must distort as the saved one did, or it is another run: the
// state is verified, never restored ("" = no transform, saved as nothing).
StateProvider augment_state(const FitOptions& options) {
  const data::Transform* t = options.transform;
  const std::uint64_t seed = options.augment_seed;
  return {
      [t, seed] { return augment_json(t, seed); }, nullptr,
      [t, seed](const std::string& saved) {
        const std::string augment = augment_json(t, seed);
        if (saved != augment)
          throw value_error(
              "the checkpoint was trained " +
              (saved.empty() ? "without a data transform" : "with the data transform " + saved) +
              ", and this run asks for " + (augment.empty() ? "none" : augment) +
              " (FitOptions::transform and augment_seed must be set as in the saved run, "
              "before resume())");
      }};
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
  register_state(name, std::move(provider), false);
}

void Checkpointer::register_state(const std::string& name, StateProvider provider, bool own) {
  if (name.empty()) throw value_error("Checkpointer::add_state: the name must not be empty");
  if (!provider.save || (!provider.restore && !provider.verify))
    throw value_error("Checkpointer::add_state: '" + name + "' needs both save and restore");
  if (provider.restore && provider.verify)
    throw value_error("Checkpointer::add_state: '" + name +
                      "' has both restore and verify (a state is restored or verified, not both)");
  if (!own && name == kAugmentState)
    throw value_error("Checkpointer::add_state: '" + name +
                      "' is reserved for FitOptions::transform, which checkpoints save themselves");
  if (own)  // attach and resume register the state again for their options
    providers_[name] = std::move(provider);
  else if (!providers_.emplace(name, std::move(provider)).second)
    throw value_error("Checkpointer::add_state: '" + name + "' is already registered");
}

Resumed Checkpointer::resume(const std::string& dir, FitOptions& options) {
  const std::string file = (std::filesystem::path(dir) / io::kCheckpointManifest).string();
  // Everything the io floor does not check is checked before it commits.
  io::Checkpoint ck = io::peek_checkpoint(dir);
  const FitProgress progress = read_progress(ck.progress_json, file);
  register_state(kAugmentState, augment_state(options), true);
  for (const auto& [name, p] : providers_)
    if (!p.verify && !ck.states.count(name))
      throw io_error(file + ": \"states\": no saved state '" + name + "' (registered by this run)");
  for (const auto& [name, p] : providers_) {
    if (!p.verify) continue;
    const auto saved = ck.states.find(name);
    try {
      p.verify(saved == ck.states.end() ? std::string() : saved->second);
    } catch (const xg::error& e) {
      throw value_error(file + ": " + e.what());
    }
  }
  for (const auto& [name, text] : ck.states)
    if (!providers_.count(name))
      throw io_error(file + ": \"states\": state '" + name + "' is not registered by this run");
  Rng rng;
  if (!ck.rng_state.empty()) rng.restore(ck.rng_state);  // io checked it

  ck = io::load_checkpoint(dir, model_, optimizer_);
  for (const auto& [name, p] : providers_) {
    if (!p.restore) continue;  // verified above
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
  register_state(kAugmentState, augment_state(options), true);
  if (!resumed_) rng_ = Rng(options.seed);
  options.rng = &rng_;
  auto next = std::move(options.on_epoch_end);
  options.on_epoch_end = [this, next](const EpochRecord& r, const FitState& st) {
    // One writer: under mpirun every rank holds the same state (fit keeps
    // them in step), and rank 0 writes it.
    if (!dir_.empty() && dist::rank() == 0) save(dir_, r, st);
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
  for (const auto& [name, p] : providers_) {
    std::string text = p.save();
    if (p.restore || !text.empty()) ck.states[name] = std::move(text);  // "" verifies as absent
  }
  io::save_checkpoint(dir, model_, optimizer_, ck);
}

}  // namespace xg::train
