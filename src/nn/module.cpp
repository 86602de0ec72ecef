#include "xgrad/nn/module.hpp"

#include "xgrad/error.hpp"

namespace xg::nn {

void Module::check_new_name(const std::string& name, const char* what) const {
  const std::string where = type_name() + ": " + what + " name '" + name + "'";
  if (name.empty()) throw value_error(type_name() + ": " + what + " name must not be empty");
  // Dots separate levels in named_parameters(); a dot inside a name would make
  // "a.b.weight" ambiguous.
  if (name.find('.') != std::string::npos) throw value_error(where + " must not contain '.'");
  for (const auto& p : params_)
    if (p.name == name) throw value_error(where + " is already used by a parameter");
  for (const auto& c : children_)
    if (c.first == name) throw value_error(where + " is already used by a sub-module");
}

Tensor& Module::register_parameter(const std::string& name, Tensor t, bool decay) {
  check_new_name(name, "parameter");
  if (!t.defined())
    throw value_error(type_name() + ": parameter '" + name + "' is an undefined tensor");
  t.requires_grad_(true);  // throws graph_error for a non-leaf
  params_.push_back(Parameter{name, std::move(t), decay});
  return params_.back().tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_new_name(name, "sub-module");
  if (!m) throw value_error(type_name() + ": sub-module '" + name + "' is null");
  if (m.get() == this)
    throw value_error(type_name() + ": sub-module '" + name + "' is the module itself");
  children_.emplace_back(name, std::move(m));
}

void Module::collect(const std::string& prefix,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& p : params_) out.emplace_back(prefix + p.name, p.tensor);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

std::vector<Tensor> Module::weights() const {
  std::vector<Tensor> out;
  for (const auto& p : params_)
    if (p.decay) out.push_back(p.tensor);
  for (const auto& c : children_)
    for (auto& w : c.second->weights()) out.push_back(std::move(w));
  return out;
}

std::size_t Module::num_parameters() const {
  std::size_t n = 0;
  for (const auto& t : parameters()) n += t.size();
  return n;
}

void Module::load_extra_state(const ExtraState& state) {
  if (!state.empty())
    throw value_error(type_name() + ": has no extra state, got '" + state.front().first + "'");
}

void Module::train(bool on) {
  training_ = on;
  on_train_mode_change(on);
  for (auto& c : children_) c.second->train(on);
}

void Module::zero_grad() {
  for (auto& t : parameters()) t.zero_grad();
}

}  // namespace xg::nn
