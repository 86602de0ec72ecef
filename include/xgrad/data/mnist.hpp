#pragma once
// MNIST and the data sets that share its layout (Fashion-MNIST, KMNIST):
// four IDX files of unsigned bytes under their standard names.
#include <cstddef>
#include <string>

#include "xgrad/data/dataset.hpp"

namespace xg::data {

/// How load_mnist keeps the pixels: as Scalars in Dataset::inputs (pixels / 255),
/// or as the file's bytes in Dataset::byte_inputs (divisor 255), decoded to the
/// same values when a mini-batch is made: 66 MB instead of 425 MB (double) for
/// the whole of MNIST, and faster shuffled mini-batches.
enum class InputStorage { scalars, bytes };

/// The book's three-way split of MNIST.
struct Mnist {
  Dataset training;
  Dataset validation;
  Dataset test;
};

/// Reads train-images-idx3-ubyte, train-labels-idx1-ubyte,
/// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte from `dir` (each may be
/// gzip-compressed instead, with ".gz" appended; the uncompressed file wins
/// when both exist). Inputs are pixels / 255 flattened to rows of rows×cols,
/// targets one-hot over 10 classes, labels kept.
///
/// Split as in the book: the last `validation_size` training images form the
/// validation set, the first `train_size` of the rest the training set (the
/// book uses 50,000 and 10,000; its small-data experiments use train_size
/// 1,000); t10k is the test set.
///
/// Throws xg::io_error (saying to run scripts/fetch-mnist) for a missing
/// directory or file, and naming the file for malformed contents: images not
/// rank 3, labels not rank 1, image and label counts that differ, a label
/// >= 10, or test images of another size than the training images. Throws
/// xg::value_error if train_size is 0 or exceeds the images left after
/// taking the validation set.
Mnist load_mnist(const std::string& dir, std::size_t train_size = 50000,
                 std::size_t validation_size = 10000, InputStorage storage = InputStorage::scalars);

}  // namespace xg::data
