#pragma once
// In-memory data sets and the mini-batches that training walks through.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/random.hpp"
#include "xgrad/scalar.hpp"

namespace xg::data {

/// Inputs kept one byte per value and decoded on use: value = code / divisor.
/// For byte-valued data such as MNIST's pixels (divisor 255, giving exactly
/// the values of pixels / 255 in Scalar) this is an eighth of the memory of
/// double inputs, and a shuffled mini-batch reads 784 bytes per image from
/// memory instead of 6,272 (docs/performance.md).
struct ByteInputs {
  std::vector<std::uint8_t> codes;  ///< rows × cols, row-major
  std::size_t rows = 0;
  std::size_t cols = 0;
  Scalar divisor = 1;
};

/// n samples, one per row. For classification `targets` is the one-hot
/// encoding of `labels`; for regression `labels` is empty.
///
/// The inputs live either in `inputs` (Scalars) or, more compactly, in
/// `byte_inputs` with `inputs` left empty (load_mnist with
/// InputStorage::bytes). Code that should work with both reads them through
/// input_rows(); Batches, fit, evaluate and predict(model, Dataset) do.
struct Dataset {
  Array inputs;                     ///< n × features (empty when byte_inputs holds them)
  Array targets;                    ///< n × classes (or n × outputs)
  std::vector<std::size_t> labels;  ///< n class indices, or empty
  ByteInputs byte_inputs;           ///< the inputs as bytes, or empty

  /// Number of samples (0 for a default-constructed Dataset).
  std::size_t size() const;
  /// Columns of the inputs.
  std::size_t features() const;
  /// Columns of `targets`.
  std::size_t classes() const;
  /// Whether the inputs are stored in byte_inputs.
  /// (A byte data set with no rows still counts: its cols say its width.)
  bool stores_bytes() const {
    return byte_inputs.rows != 0 || byte_inputs.cols != 0 || !byte_inputs.codes.empty();
  }

  /// Throws xg::shape_error unless the inputs (either storage, not both) and
  /// targets are matrices with the same number of rows and labels is empty or
  /// has one entry per row; xg::value_error for a byte divisor that is not
  /// positive and finite.
  void check() const;
  /// The part of check() about the inputs alone (for prediction, which needs no targets).
  void check_inputs() const;
  /// Throws xg::numeric_error naming the array, sample, column and value of
  /// the first NaN or infinity in the Scalar inputs or the targets (byte
  /// inputs are always finite). `what` starts the message, e.g. "fit: training set".
  void check_finite(const std::string& what) const;

  /// Inputs of samples [start, stop) as an (stop − start) × features matrix
  /// of Scalars, decoded if stored as bytes; xg::value_error unless
  /// start <= stop <= size().
  Array input_rows(std::size_t start, std::size_t stop) const;
  /// Writes the inputs of sample i, decoded, to out[0 .. features()).
  void copy_input_row(std::size_t i, Scalar* out) const;

  /// Copy of samples [start, stop), in the same storage; throws
  /// xg::value_error unless start <= stop <= size().
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
///
/// After copying a mini-batch, next(), next_into() and next_part_into() ask
/// the CPU to prefetch the rows of the *next* mini-batch of the same epoch
/// (for next_part_into the same part of it), so that those scattered rows
/// arrive in cache while the caller trains on the current one. Only when
/// memory is read changes, never what is copied; nothing is prefetched across
/// the end of an epoch, whose next order is not drawn yet (docs/performance.md).
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
  /// Like next_into(), but copies only rows [begin, begin + count) of the next
  /// mini-batch, where {begin, count} = part(m) for the batch's size m, and
  /// sets `batch_rows` to m and `part_begin` to begin. A data-parallel rank
  /// copies its shard this way; count may be 0. value_error if the part does
  /// not lie inside the batch.
  bool next_part_into(Array& inputs, Array& targets,
                      const std::function<std::pair<std::size_t, std::size_t>(std::size_t)>& part,
                      std::size_t& batch_rows, std::size_t& part_begin);
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
  /// Prefetches the inputs and targets of the samples order_[first .. first + m),
  /// clipped to the epoch; a hint only, no value is read or written.
  void prefetch(std::size_t first, std::size_t m) const;

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
