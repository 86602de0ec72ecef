#include "xgrad/data/mnist.hpp"

#include <filesystem>
#include <string>
#include <vector>

#include "xgrad/data/idx.hpp"
#include "xgrad/error.hpp"

namespace xg::data {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t mnist_classes = 10;
const char* const how_to_get =
    "run scripts/fetch-mnist to download MNIST into data/mnist/, or put the four IDX files "
    "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
    "t10k-labels-idx1-ubyte, optionally .gz) there by hand";

// dir/name, else dir/name.gz: the uncompressed file wins so a fetched copy is
// preferred over a stale compressed one.
std::string find_file(const std::string& dir, const std::string& name) {
  std::error_code ec;
  const fs::path plain = fs::path(dir) / name;
  if (fs::is_regular_file(plain, ec)) return plain.string();
  const fs::path gz = fs::path(dir) / (name + ".gz");
  if (fs::is_regular_file(gz, ec)) return gz.string();
  throw io_error("mnist: " + plain.string() + " (or " + name + ".gz) not found; " + how_to_get);
}

// An image file and its label file, checked against each other.
struct Part {
  std::string images_path, labels_path;
  IdxArray images, labels;

  std::size_t count() const { return images.shape[0]; }
  std::size_t pixels() const { return images.shape[1] * images.shape[2]; }
};

Part read_part(const std::string& dir, const std::string& prefix) {
  Part p;
  p.images_path = find_file(dir, prefix + "-images-idx3-ubyte");
  p.labels_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  p.images = read_idx(p.images_path);
  p.labels = read_idx(p.labels_path);
  if (p.images.shape.size() != 3)
    throw io_error("mnist: " + p.images_path +
                   ": images must be rank 3 (count, rows, cols), got shape " +
                   shape_str(p.images.shape));
  if (p.labels.shape.size() != 1)
    throw io_error("mnist: " + p.labels_path + ": labels must be rank 1 (count,), got shape " +
                   shape_str(p.labels.shape));
  if (p.labels.shape[0] != p.count())
    throw io_error("mnist: " + p.images_path + " has " + std::to_string(p.count()) +
                   " images but " + p.labels_path + " has " + std::to_string(p.labels.shape[0]) +
                   " labels");
  for (std::size_t i = 0; i < p.labels.data.size(); ++i)
    if (p.labels.data[i] >= mnist_classes)
      throw io_error("mnist: " + p.labels_path + ": label at index " + std::to_string(i) + " is " +
                     std::to_string(p.labels.data[i]) + ", expected < " +
                     std::to_string(mnist_classes));
  return p;
}

// Samples [start, start + count) of a part: pixels scaled to [0, 1] (or kept
// as bytes), one-hot targets. With bytes and `take_pixels`, the part's pixel
// buffer itself becomes the inputs (cut to `count` rows, capacity kept):
// no second copy of the file's largest part exists even for a moment.
Dataset to_dataset(Part& p, std::size_t start, std::size_t count, InputStorage storage,
                   bool take_pixels = false) {
  const std::size_t width = p.pixels();
  Dataset d;
  const std::uint8_t* src = p.images.data.data() + start * width;
  if (storage == InputStorage::bytes) {
    if (take_pixels && start == 0) {
      d.byte_inputs.codes = std::move(p.images.data);
      d.byte_inputs.codes.resize(count * width);
      // A small training set (the book's 1,000 images) should not pin 47 MB.
      if (d.byte_inputs.codes.capacity() > 2 * d.byte_inputs.codes.size())
        d.byte_inputs.codes.shrink_to_fit();
    } else {
      d.byte_inputs.codes.assign(src, src + count * width);
    }
    d.byte_inputs.rows = count;
    d.byte_inputs.cols = width;
    d.byte_inputs.divisor = Scalar(255);
  } else {
    d.inputs = Array::from_shape({count, width});
    Scalar* dst = d.inputs.data();
    // A true division, not a multiplication by 1/255, so values equal numpy's
    // x / 255 (and Dataset's decoding of byte_inputs).
    for (std::size_t i = 0; i < count * width; ++i) dst[i] = Scalar(src[i]) / Scalar(255);
  }
  d.labels.assign(p.labels.data.begin() + start, p.labels.data.begin() + start + count);
  d.targets = one_hot(d.labels, mnist_classes);
  return d;
}

}  // namespace

Mnist load_mnist(const std::string& dir, std::size_t train_size, std::size_t validation_size,
                 InputStorage storage) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw io_error("mnist: directory " + dir + " not found; " + how_to_get);
  Part train = read_part(dir, "train");
  Part test = read_part(dir, "t10k");
  if (test.images.shape[1] != train.images.shape[1] ||
      test.images.shape[2] != train.images.shape[2])
    throw io_error(
        "mnist: " + test.images_path + " holds images of shape " +
        shape_str(std::vector<std::size_t>{test.images.shape[1], test.images.shape[2]}) + " but " +
        train.images_path + " holds " +
        shape_str(std::vector<std::size_t>{train.images.shape[1], train.images.shape[2]}));

  const std::size_t n = train.count();
  if (validation_size >= n)
    throw value_error("load_mnist: validation_size " + std::to_string(validation_size) +
                      " leaves no training images out of the " + std::to_string(n) + " in " +
                      train.images_path);
  const std::size_t available = n - validation_size;
  if (train_size == 0 || train_size > available)
    throw value_error("load_mnist: train_size " + std::to_string(train_size) +
                      " is not within 1 to the " + std::to_string(available) +
                      " training images left after the validation set of " +
                      std::to_string(validation_size));

  Mnist m;
  // Validation first: the training set may take over the file's pixel buffer.
  m.validation = to_dataset(train, available, validation_size, storage);
  m.training = to_dataset(train, 0, train_size, storage, /*take_pixels=*/true);
  m.test = to_dataset(test, 0, test.count(), storage, /*take_pixels=*/true);
  return m;
}

}  // namespace xg::data
