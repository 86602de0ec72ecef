#pragma once
// A training history as files: a CSV table and the chapter-style SVG plots.
#include <string>

#include "xgrad/train/fit.hpp"

namespace xg::train {

/// One row per epoch: epoch, learning_rate, seconds, training_cost,
/// training_accuracy, evaluation_cost, evaluation_accuracy (accuracies in
/// percent; empty cells for monitors that were off).
std::string history_csv(const History& h);

/// io_error if write_history could not write into `dir` because of the path
/// alone (it, or a parent on the way, is a file). Touches nothing.
void check_history_target(const std::string& dir);

/// Writes `dir`/history.csv, `dir`/cost.svg and `dir`/accuracy.svg (training
/// vs evaluation per epoch, as the book's figures), creating `dir`. Each file
/// is written atomically; io_error naming the path on failure.
void write_history(const std::string& dir, const History& h,
                   const std::string& eval_name = "evaluation");

}  // namespace xg::train
