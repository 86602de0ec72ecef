// xgrad-book list: the book's reference experiments.
#include <fmt/core.h>

#include <string>

#include "common.hpp"

namespace book_cli {

int cmd_list() {
  fmt::print("{:>2}  {:<12} {:<14} {:<8} {:>5} {:>5} {:>6} {:>5} {:>6} {:<10}  {}\n", "#",
             "network", "cost", "init", "eta", "lambda", "epochs", "batch", "train", "eval",
             "book result");
  for (const auto& e : xg::book::experiments()) {
    std::string net;
    for (std::size_t i = 0; i < e.sizes.size(); ++i)
      net += (i ? "-" : "") + std::to_string(e.sizes[i]);
    fmt::print("{:>2}  {:<12} {:<14} {:<8} {:>5} {:>6} {:>6} {:>5} {:>6} {:<10}  {}\n", e.id, net,
               e.cost, e.init, e.eta, e.lambda, e.epochs, e.batch, e.train_size, e.eval_set,
               e.book_result);
  }
  return 0;
}

}  // namespace book_cli
