// xgrad-book eval: a saved model on one of the MNIST sets.
#include <iostream>

#include "common.hpp"
#include "xgrad/data/dataset.hpp"
#include "xgrad/io/model.hpp"

namespace book_cli {

int cmd_eval(const std::string& model_dir, const std::string& data_dir, const std::string& set) {
  auto loaded = xg::io::load_model(model_dir);
  const xg::data::Mnist mnist =
      xg::data::load_mnist(data_dir, 50000, 10000, xg::data::InputStorage::bytes);
  const xg::data::Dataset& data = pick_set(mnist, set);
  const xg::Array out = xg::train::predict(*loaded.model, data);
  const std::size_t correct = xg::data::count_correct(out, data.labels);
  std::cout << "model: " << loaded.model->describe() << "\n";
  std::cout << accuracy_line(set, correct, data.size()) << std::endl;
  return 0;
}

}  // namespace book_cli
