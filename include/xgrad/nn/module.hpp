#pragma once
// The base of every layer: a Module owns named parameters and named
// sub-modules, and maps a batch (one sample per row) to a batch.
// How to write your own: docs/extending.md.
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "xgrad/nn/config.hpp"
#include "xgrad/tensor.hpp"

namespace xg::nn {

class LayerArgs;  // nn/registry.hpp: what a layer factory receives

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Copying a module would silently share its parameter tensors (they are
  // handles), so two "copies" would train as one. Build a new one instead.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  /// Short type name: "Linear", "Sequential", "Dropout"; for activations the
  /// registry name ("sigmoid"), so make_activation(type_name()) rebuilds it.
  virtual std::string type_name() const = 0;
  /// One-line description: "Linear(784, 30)", "Dropout(p=0.5)".
  virtual std::string describe() const { return type_name(); }

  // ---- describing itself, for model files and checkpoints (nn/registry.hpp)
  /// The hyper-parameters its registered factory rebuilds it from
  /// (Linear: in, out; Dropout: p). Sub-modules are not part of it: a model
  /// file lists children() itself.
  virtual Config config() const { return {}; }
  /// Named state beyond the parameters that training changes and a resumed
  /// run needs (Dropout: its mask engine "rng"), as text. Checkpoints save it
  /// for every module of the tree.
  using ExtraState = std::vector<std::pair<std::string, std::string>>;
  virtual ExtraState extra_state() const { return {}; }
  /// Restores extra_state() output. value_error for an unknown name or an
  /// invalid text, and then nothing has changed.
  virtual void load_extra_state(const ExtraState& state);

  /// Every parameter, this module's own first (registration order), then each
  /// child's in registration order, recursively. Same order as named_parameters().
  std::vector<Tensor> parameters() const;
  /// Stable dotted names: "weight", "0.bias", "block.fc.weight".
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  /// The parameters L1/L2 regularisation applies to (registered with
  /// decay = true: Linear's weights, never biases), in parameters() order.
  std::vector<Tensor> weights() const;
  /// Total number of scalars in all parameters.
  std::size_t num_parameters() const;

  /// Sets training mode on this module and every descendant (dropout reads it).
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  /// Forgets the gradient of every parameter.
  void zero_grad();

  /// Direct sub-modules with their names, in registration order.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children() const {
    return children_;
  }

 protected:
  /// Registers a parameter under `name` (no dots, unique within this module),
  /// marks it requires_grad, and returns the stored handle. `decay` marks it as
  /// a weight for L1/L2. The module may keep a copy of the handle: both refer
  /// to the same node, so in-place updates by optimizers are seen by both.
  Tensor& register_parameter(const std::string& name, Tensor t, bool decay = false);

  /// Registers a sub-module under `name`; its parameters appear as "name.xxx".
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    static_assert(std::is_base_of<Module, M>::value, "register_module: M must derive from Module");
    add_child(name, m);
    return m;
  }

  /// Called on this module by train()/eval() before descending to the children.
  virtual void on_train_mode_change(bool /*training*/) {}

 private:
  struct Parameter {
    std::string name;
    Tensor tensor;
    bool decay;
  };

  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name, const char* what) const;
  void collect(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const;

  std::deque<Parameter> params_;  // a deque keeps returned references valid
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace xg::nn
