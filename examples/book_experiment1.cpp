// The book's experiment 1 in user code: 784-30-10 sigmoid, quadratic cost,
// η = 3, mini-batches of 10, 30 epochs, evaluated on the test set.
#include <iostream>
#include <xgrad/data/mnist.hpp>
#include <xgrad/nn.hpp>
#include <xgrad/optim.hpp>
#include <xgrad/train/fit.hpp>
#include <xgrad/train/progress.hpp>

int main(int argc, char** argv) try {
  const std::string data = argc > 1 ? argv[1] : "data/mnist";
  auto mnist = xg::data::load_mnist(data);  // 50,000 / 10,000 / 10,000
  xg::Rng rng(0);
  auto model = xg::nn::mlp({784, 30, 10}, "sigmoid", rng, xg::nn::Init::large);
  auto cost = xg::make_cost("quadratic");
  xg::optim::SGD sgd(model->parameters(), /*eta=*/3.0);

  xg::train::Progress progress(std::cout, xg::train::stdout_is_terminal(), "test");
  xg::train::FitOptions opt;
  opt.epochs = argc > 2 ? std::stoul(argv[2]) : 30;
  opt.batch_size = 10;
  opt.evaluation = &mnist.test;
  opt.monitor = &progress;
  auto history = xg::train::fit(*model, *cost, sgd, mnist.training, opt);
  std::cout << "best epoch " << history.best_epoch << ": " << history.best_correct << "/10000\n";
} catch (const xg::error& e) {
  std::cerr << e.what() << "\n";
  return 2;
}
