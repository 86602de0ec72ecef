#pragma once
// The network xgrad-bench trains, shared by its measurements and its
// lock-step mode (serve.cpp), so both train exactly the same thing.
#include <cstddef>
#include <memory>

#include "xgrad/cost.hpp"
#include "xgrad/data/mnist.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/train/fit.hpp"

namespace xg::bench {

/// The book's chapter-1 network: 784-hidden-10 sigmoid, N(0,1) weights,
/// quadratic cost, plain SGD with η = 3 (with `fused`, SGD's steps inside
/// backward: optim::SGD::set_fused).
struct Network {
  std::shared_ptr<nn::Sequential> model;
  std::unique_ptr<Cost> cost = make_cost("quadratic");
  std::unique_ptr<optim::SGD> sgd;

  Network(std::size_t hidden, Rng& init_rng, bool fused = false)
      : model(nn::mlp({784, hidden, 10}, "sigmoid", init_rng, nn::Init::large)),
        sgd(std::make_unique<optim::SGD>(model->parameters(), 3.0)) {
    sgd->set_fused(fused);
  }
};

/// Training only: every monitor off, no evaluation set.
inline train::FitOptions training_only(std::size_t batch, Rng& shuffle) {
  train::FitOptions o;
  o.epochs = 1;
  o.batch_size = batch;
  o.evaluation = nullptr;
  o.monitor_training_cost = false;
  o.monitor_training_accuracy = false;
  o.monitor_evaluation_cost = false;
  o.monitor_evaluation_accuracy = false;
  o.rng = &shuffle;  // one engine across calls: each epoch gets a new shuffle
  return o;
}

/// The lock-step mode (`xgrad-bench --serve`, protocol in lockstep.hpp) that
/// bench/peers.py drives together with the PyTorch and libtorch programs.
/// `epoch` runs one training epoch, then one gemm-floor epoch, and replies
/// `epoch <wall> <cpu> <floor wall> <floor cpu>`. With `fused` the network's
/// SGD steps inside backward (`--serve --fused`).
int serve(const data::Mnist& mnist, bool fused);

}  // namespace xg::bench
