// Data-parallel training of the book's network on MNIST with a hand-written
// loop over xg::dist (train::fit does not run data-parallel yet):
//
//   mpirun -np 2 build/bin/dist_train --data data/mnist --epochs 1
//   build/bin/dist_train --threads 2 ...      (one process, two BLAS threads)
//
// Every rank walks the same seeded sequence of global mini-batches as a single
// process, back-propagates its contiguous shard, averages the gradients (one
// allreduce) and takes the same optimizer step. Only rank 0 prints. The epoch
// time printed is the slowest rank's; docs/distributed.md has measurements.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <sstream>
#include <xgrad/cost.hpp>
#include <xgrad/data/mnist.hpp>
#include <xgrad/dist.hpp>
#include <xgrad/nn.hpp>
#include <xgrad/ops.hpp>
#include <xgrad/optim.hpp>
#include <xgrad/threads.hpp>
#include <xtensor/xview.hpp>

namespace {

using namespace xg;

xg::Array rows(const xg::Array& a, std::size_t begin, std::size_t end) {
  return xg::Array(xt::view(a, xt::range(begin, end), xt::all()));
}

std::vector<std::size_t> parse_sizes(const std::string& text) {
  std::vector<std::size_t> sizes;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) sizes.push_back(std::stoul(item));
  return sizes;
}

// Correct test classifications, each rank counting its shard of the test set.
std::uint64_t correct(nn::Module& model, const data::Dataset& test) {
  model.eval();
  const dist::Shard s = dist::shard(test.size());
  std::uint64_t n = 0;
  if (s.size() > 0) {
    NoGradGuard no_grad;
    const Array out = model(Tensor(test.input_rows(s.begin, s.end))).value();
    n = data::count_correct(out, {test.labels.begin() + s.begin, test.labels.begin() + s.end});
  }
  model.train();
  return dist::sum(n);
}

}  // namespace

int main(int argc, char** argv) {
  return dist::run(argc, argv, [&] {
    CLI::App app{"Data-parallel training of the book's network over Open MPI"};
    std::string dir = "data/mnist", sizes_text = "784,30,10", cost_name = "quadratic";
    std::size_t train_size = 50000, batch = 10, epochs = 1;
    double lr = 3.0;
    int threads = 1;
    std::uint64_t seed = 1;
    app.add_option("--data", dir, "MNIST directory");
    app.add_option("--train-size", train_size, "training images (of 50,000)");
    app.add_option("--sizes", sizes_text, "layer sizes, e.g. 784,800,10");
    app.add_option("--batch", batch, "GLOBAL mini-batch size (split across the ranks)");
    app.add_option("--epochs", epochs, "epochs");
    app.add_option("--lr", lr, "learning rate η");
    app.add_option("--cost", cost_name, "quadratic or cross-entropy");
    app.add_option("--threads", threads, "threads per process (xg::set_num_threads)");
    app.add_option("--seed", seed, "seed of the initial weights and the batch order");
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return dist::rank() == 0 ? app.exit(e) : (e.get_exit_code() ? 2 : 0);
    }
    set_num_threads(threads);
    const bool talk = dist::rank() == 0;

    auto mnist = data::load_mnist(dir, train_size, 10000, data::InputStorage::bytes);
    Rng init(seed);
    auto model = nn::mlp(parse_sizes(sizes_text), "sigmoid", init);
    const auto params = model->parameters();
    dist::broadcast(params);  // the same start on every rank, whatever its initialisation
    auto cost = make_cost(cost_name);
    optim::SGD sgd(params, lr);
    Rng order(seed + 1);  // the same seed on every rank: the same global batches
    data::Batches batches(mnist.training, batch, &order);
    if (talk)
      fmt::print("{} rank(s) x {} thread(s), {} on {} images, global batch {}\n", dist::size(),
                 num_threads(), model->describe(), mnist.training.size(), batch);

    for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
      const auto t0 = std::chrono::steady_clock::now();
      double total = 0;
      while (batches.next()) {
        const data::Batch& b = batches.batch();
        const dist::Shard s = dist::shard(b.size());
        sgd.zero_grad();
        if (s.size() > 0) {
          Tensor loss = (*cost)((*model)(Tensor(rows(b.inputs, s.begin, s.end))),
                                Tensor(rows(b.targets, s.begin, s.end)));
          total += loss.item() * static_cast<double>(s.size());
          loss.backward();
        }
        dist::average_gradients(params, s.size(), b.size());
        sgd.step();
      }
      const double seconds =
          dist::max(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      const double mean_cost = dist::sum(total) / static_cast<double>(mnist.training.size());
      const std::uint64_t hits = correct(*model, mnist.test);
      if (talk)
        fmt::print("epoch {}/{}: {:.3f} s, training cost {:.6f}, test {}/{}\n", epoch, epochs,
                   seconds, mean_cost, hits, mnist.test.size());
    }
    if (!dist::in_sync(params)) throw dist::dist_error("dist_train: the ranks' weights diverged");
    const std::uint64_t hits = correct(*model, mnist.test);
    if (talk)
      fmt::print("accuracy: test {}/{} {:.2f}%\n", hits, mnist.test.size(),
                 100.0 * static_cast<double>(hits) / static_cast<double>(mnist.test.size()));
    return 0;
  });
}
