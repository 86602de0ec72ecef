// The book's reference experiments as data: ids, spot-checked fields, unknown ids.
#include <catch2/catch.hpp>

#include "xgrad/book/experiments.hpp"
#include "xgrad/error.hpp"

using xg::book::experiment;
using xg::book::experiments;

TEST_CASE("the book experiments are numbered 1..13 and self-consistent", "[book]") {
  const auto& all = experiments();
  REQUIRE(all.size() == 13);
  for (std::size_t i = 0; i < 10; ++i) {
    const auto& e = all[i];
    INFO("experiment " << e.id);
    CHECK(e.id == static_cast<int>(i) + 1);
    CHECK(&experiment(e.id) == &e);
    REQUIRE(e.sizes.size() == 3);
    CHECK(e.sizes.front() == 784);
    CHECK(e.sizes.back() == 10);
    CHECK(e.activation == "sigmoid");
    CHECK((e.cost == "quadratic" || e.cost == "cross-entropy"));
    CHECK((e.init == "large" || e.init == "default"));
    CHECK((e.eval_set == "test" || e.eval_set == "validation"));
    CHECK((e.train_size == 50000 || e.train_size == 1000));
    CHECK(e.batch == 10);
    CHECK(e.eta > 0);
    CHECK(e.lambda >= 0);
    CHECK(e.epochs > 0);
    CHECK(e.book_accuracy > 80);
    CHECK(e.book_accuracy < 100);
    CHECK_FALSE(e.book_result.empty());
    CHECK_FALSE(e.note.empty());
    // The book's ten use plain mini-batch SGD at a constant η on stored data.
    CHECK(e.momentum == 0.0);
    CHECK(e.eta_decay == 1.0);
    CHECK(e.augment.empty());
    CHECK(e.threads == 1);
    CHECK(e.tolerance == 0.5);
  }
  // The paper's three: one network, three kinds of data, its published figures.
  const char* augments[] = {"", "affine", "elastic"};
  const double paper[] = {98.4, 98.9, 99.3};
  for (int k = 0; k < 3; ++k) {
    const auto& e = experiment(11 + k);
    INFO("experiment " << e.id);
    CHECK(&e == &all[10 + k]);
    CHECK(e.sizes == std::vector<std::size_t>{784, 800, 10});
    CHECK(e.cost == "log-likelihood");  // the cross-entropy of a 10-way softmax
    CHECK(e.output == "softmax");
    CHECK(e.augment == augments[k]);
    CHECK(e.book_accuracy == paper[k]);
    CHECK(e.eval_set == "test");
    CHECK(e.train_size == 50000);
    CHECK(e.tolerance == 0.2);
    CHECK((e.eta_decay > 0 && e.eta_decay <= 1));
    CHECK_THAT(e.book_result, Catch::Contains("Simard"));
  }
  // Only the overfitting pair trains on the first 1,000 images.
  CHECK(experiment(5).train_size == 1000);
  CHECK(experiment(6).train_size == 1000);
  CHECK(experiment(6).lambda == 0.1);
  CHECK(experiment(5).book_accuracy == 82.27);
  CHECK(experiment(6).book_accuracy == 87.1);
  CHECK(experiment(10).book_accuracy == 96.0);
  CHECK(experiment(10).init == "default");
  CHECK_THAT(experiment(10).note, Catch::Contains("large"));
}

TEST_CASE("book experiments #1 and #9 match the published table", "[book]") {
  const auto& one = experiment(1);
  CHECK(one.sizes == std::vector<std::size_t>{784, 30, 10});
  CHECK(one.cost == "quadratic");
  CHECK(one.init == "large");
  CHECK(one.eta == 3.0);
  CHECK(one.lambda == 0.0);
  CHECK(one.epochs == 30);
  CHECK(one.batch == 10);
  CHECK(one.train_size == 50000);
  CHECK(one.eval_set == "test");
  CHECK(one.book_result == "95.42%");
  CHECK(one.book_accuracy == 95.42);

  const auto& nine = experiment(9);
  CHECK(nine.sizes == std::vector<std::size_t>{784, 100, 10});
  CHECK(nine.cost == "cross-entropy");
  CHECK(nine.init == "large");
  CHECK(nine.eta == 0.1);
  CHECK(nine.lambda == 5.0);
  CHECK(nine.epochs == 60);
  CHECK(nine.train_size == 50000);
  CHECK(nine.eval_set == "validation");
  CHECK(nine.book_accuracy == 98.04);
}

TEST_CASE("an unknown book experiment id is a value_error naming the range", "[book]") {
  for (int bad : {0, 14, -3}) {
    INFO("id " << bad);
    CHECK_THROWS_AS(experiment(bad), xg::value_error);
    CHECK_THROWS_WITH(experiment(bad),
                      Catch::Contains("1..13") && Catch::Contains(std::to_string(bad)));
  }
}
