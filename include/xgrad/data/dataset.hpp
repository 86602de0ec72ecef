#pragma once
// In-memory data sets and the mini-batches that training walks through.
#include <cstddef>
#include <vector>

#include "xgrad/random.hpp"
#include "xgrad/scalar.hpp"

namespace xg::data {

/// n samples, one per row. For classification `targets` is the one-hot
/// encoding of `labels`; for regression `labels` is empty.
struct Dataset {
  Array inputs;                     ///< n × features
  Array targets;                    ///< n × classes (or n × outputs)
  std::vector<std::size_t> labels;  ///< n class indices, or empty

  /// Number of samples (0 for a default-constructed Dataset).
  std::size_t size() const;
  /// Columns of `inputs`.
  std::size_t features() const;
  /// Columns of `targets`.
  std::size_t classes() const;

  /// Throws xg::shape_error unless inputs and targets are both rank 2 with the
  /// same number of rows and labels is empty or has one entry per row.
  void check() const;

  /// Copy of samples [start, stop); throws xg::value_error unless
  /// start <= stop <= size().
  Dataset slice(std::size_t start, std::size_t stop) const;
  /// Copy of the first n samples; throws xg::value_error if n > size().
  Dataset take(std::size_t n) const;
};

/// n × classes matrix with a 1 at (i, labels[i]). Throws xg::value_error if
/// classes is 0 or a label is >= classes (naming its index and value).
Array one_hot(const std::vector<std::size_t>& labels, std::size_t classes);

/// How many rows of `outputs` (n × classes) have their largest entry (the
/// first one on ties) at the column given by `labels`. Throws xg::shape_error
/// if outputs is not rank 2 or its row count differs from labels.size().
std::size_t count_correct(const Array& outputs, const std::vector<std::size_t>& labels);

/// One mini-batch: contiguous row-major copies of the selected samples.
struct Batch {
  Array inputs;                     ///< m × features
  Array targets;                    ///< m × classes
  std::vector<std::size_t> labels;  ///< m entries, or empty if the data set has none
  std::size_t size() const { return inputs.dimension() == 2 ? inputs.shape(0) : 0; }
};

/// Walks a Dataset in mini-batches, one epoch per pass, as the book's SGD does:
/// optionally shuffle, then take consecutive slices of batch_size samples; the
/// last batch holds the remainder when batch_size does not divide the size.
///
///     Batches batches(training, 10, &rng);
///     for (int epoch = 0; epoch < 30; ++epoch)
///       while (batches.next()) step(batches.batch());
///
/// next() returns false once at the end of each epoch; the call after that
/// starts the next epoch, reshuffling (the permutation of the previous epoch
/// is shuffled again, as random.shuffle(training_data) does in the book). The
/// batch buffers are allocated once, in the constructor, and refilled in
/// place: a Batch reference stays valid but its contents change with each
/// next(). The Dataset and the Rng must outlive the Batches.
class Batches {
 public:
  /// Throws xg::value_error if batch_size is 0 or larger than data.size()
  /// (a larger batch is almost always a mistake, e.g. swapped arguments), and
  /// xg::shape_error if data is inconsistent (see Dataset::check). Without an
  /// rng the samples come in their stored order every epoch.
  Batches(const Dataset& data, std::size_t batch_size, Rng* rng = nullptr);

  /// Fills batch() with the next mini-batch; false at the end of an epoch.
  bool next();
  /// Like next(), but copies the mini-batch straight into caller-owned arrays
  /// (resized only when the batch size changes): a training loop can fill its
  /// input tensors' own buffers and copy each sample once. batch() is not
  /// updated by this call.
  bool next_into(Array& inputs, Array& targets);
  /// The mini-batch the last successful next() produced.
  const Batch& batch() const { return in_partial_ ? partial_ : full_; }

  /// Abandons the current epoch; the next next() starts a new one.
  void restart() { cursor_ = not_started; }

  std::size_t batch_size() const { return batch_size_; }
  /// Mini-batches per epoch: ceil(size / batch_size).
  std::size_t batches_per_epoch() const;
  /// Epochs started so far (1 during the first epoch).
  std::size_t epoch() const { return epoch_; }
  /// The sample order of the current epoch (indices into the Dataset).
  const std::vector<std::size_t>& order() const { return order_; }
  /// Continues from a saved order (a checkpoint's): the next epoch reshuffles
  /// this permutation, exactly as after the epoch that produced it. Abandons
  /// the current epoch; value_error unless `order` is a permutation of 0..size-1.
  void set_order(std::vector<std::size_t> order);

 private:
  static constexpr std::size_t not_started = static_cast<std::size_t>(-1);
  /// Advances the cursor; returns the first row of the next batch and its size.
  bool advance(std::size_t& first, std::size_t& m);
  void fill(Array& inputs, Array& targets, std::vector<std::size_t>* labels, std::size_t first,
            std::size_t m) const;

  const Dataset* data_;
  std::size_t batch_size_;
  Rng* rng_;
  std::vector<std::size_t> order_;
  std::size_t cursor_ = not_started;
  std::size_t epoch_ = 0;
  Batch full_;     // batch_size rows
  Batch partial_;  // size % batch_size rows (unused when it divides exactly)
  bool in_partial_ = false;
};

}  // namespace xg::data
