#pragma once
// The book's ten reference experiments (chapters 1 and 3), and three after them
// from the paper chapter 3 quotes (Simard et al. 2003), as plain data, so that the
// xgrad-book program, the tests and the docs all quote one table. Each entry records
// the run's hyper-parameters and the result the book published for it.
//
// Conventions:
//  - sizes are the layer widths, input first: {784, 30, 10} is the book's 784-30-10 net.
//  - every hidden layer of 1–10 is sigmoid ("activation" is "sigmoid"), 11–13 use
//    "relu"; the output layer is sigmoid, except for 11–13 ("output" is "softmax").
//  - cost is "quadratic" or "cross-entropy" (1–10) or "log-likelihood" (11–13); init is "large"
//    (weights and biases N(0, 1), chapter 1), "default" (weights N(0, 1/n_in), biases
//    N(0, 1), chapter 3) or "he" (11–13: weights N(0, 2/n_in)).
//  - lambda is the L2 coefficient λ of the book's (λ/2n) Σ w², with n = train_size.
//  - train_size is 50000 (the book's training split) or 1000 (its first 1,000 images,
//    the overfitting runs #5 and #6); eval_set is "test" or "validation".
//  - book_accuracy is the published accuracy in percent on eval_set; book_result keeps
//    the table's wording, which for #5, #6 and #10 says more than one number can.
//  - Experiment 10 compares "large" with "default" init. Its entry is the "default" run;
//    the comparison run is the same entry with init = "large" (see its note).
#include <cstddef>
#include <string>
#include <vector>

namespace xg::book {

/// One of the book's published training runs.
struct Experiment {
  int id;                          ///< 1..10 the row of the book.md table; 11..13 the paper's
  std::vector<std::size_t> sizes;  ///< layer widths, input first
  std::string activation;          ///< "sigmoid" (1–10) | "relu" (11–13)
  std::string cost;                ///< "quadratic" | "cross-entropy"
  std::string init;                ///< "large" | "default" | "he"
  double eta;                      ///< learning rate η
  double lambda;                   ///< L2 coefficient λ (0 = none)
  int epochs;
  std::size_t batch;        ///< mini-batch size m
  std::size_t train_size;   ///< 50000 or 1000 training images
  std::string eval_set;     ///< "test" | "validation"
  std::string book_result;  ///< the published result, as worded in the table
  double book_accuracy;     ///< the published accuracy in percent on eval_set
  std::string note;         ///< what the run demonstrates / how to read book_result
  // Settings the book's ten runs leave at their defaults (experiments 11–13).
  std::string output = "";   ///< output activation ("" = sigmoid)
  double momentum = 0.0;     ///< momentum coefficient (0 = plain SGD)
  double eta_decay = 1.0;    ///< η multiplied by this after every epoch
  std::string augment = "";  ///< data transform applied on the fly ("" = none)
  int threads = 1;           ///< BLAS threads the run uses
  double tolerance = 0.5;    ///< points from book_accuracy that count as reproduced
};

/// All thirteen experiments, ordered by id.
const std::vector<Experiment>& experiments();

/// The experiment with this id; throws xg::value_error naming the valid range.
const Experiment& experiment(int id);

}  // namespace xg::book
