#include "xgrad/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "xgrad/error.hpp"

namespace xg::data {

namespace {

std::size_t rows(const Array& a) { return a.dimension() == 2 ? a.shape(0) : 0; }
std::size_t cols(const Array& a) { return a.dimension() == 2 ? a.shape(1) : 0; }

Array uninitialized(std::size_t rows, std::size_t cols) { return Array::from_shape({rows, cols}); }

// Rows [start, stop) of a row-major matrix, as one block copy.
Array copy_rows(const Array& a, std::size_t start, std::size_t stop) {
  const std::size_t width = cols(a);
  Array out = uninitialized(stop - start, width);
  std::copy(a.data() + start * width, a.data() + stop * width, out.data());
  return out;
}

void check_range(const char* what, std::size_t start, std::size_t stop, std::size_t size) {
  if (start > stop || stop > size)
    throw value_error(std::string(what) + ": range [" + std::to_string(start) + ", " +
                      std::to_string(stop) + ") is not within the " + std::to_string(size) +
                      " samples");
}

}  // namespace

std::size_t Dataset::size() const { return stores_bytes() ? byte_inputs.rows : rows(inputs); }
std::size_t Dataset::features() const { return stores_bytes() ? byte_inputs.cols : cols(inputs); }
std::size_t Dataset::classes() const { return cols(targets); }

void Dataset::check_inputs() const {
  if (stores_bytes()) {
    // A default Array is 0-d (one element); any shape at all means data.
    if (inputs.dimension() != 0)
      throw shape_error("Dataset: inputs " + shape_str(inputs.shape()) +
                        " and byte_inputs both hold data; keep one of them");
    const ByteInputs& b = byte_inputs;
    if (b.cols != 0 && b.rows > static_cast<std::size_t>(-1) / b.cols)
      throw shape_error("Dataset: byte_inputs of " + std::to_string(b.rows) + " × " +
                        std::to_string(b.cols) + " overflow a size_t");
    if (b.codes.size() != b.rows * b.cols)
      throw shape_error("Dataset: byte_inputs of " + std::to_string(b.rows) + " × " +
                        std::to_string(b.cols) + " need " + std::to_string(b.rows * b.cols) +
                        " codes, got " + std::to_string(b.codes.size()));
    if (!(b.divisor > Scalar(0)) || !std::isfinite(b.divisor))
      throw value_error("Dataset: byte_inputs divisor must be positive and finite, got " +
                        std::to_string(b.divisor));
  } else if (inputs.dimension() != 2) {
    throw shape_error("Dataset: inputs must be a matrix (one sample per row), got " +
                      shape_str(inputs.shape()));
  }
}

void Dataset::check_finite(const std::string& what) const {
  auto scan = [&](const Array& a, const char* name) {
    if (a.dimension() != 2) return;
    const std::size_t width = a.shape(1);
    const Scalar* p = a.data();
    for (std::size_t k = 0; k < a.size(); ++k)
      if (!std::isfinite(p[k]))
        throw numeric_error(what + ": " + name + " of sample " + std::to_string(k / width) +
                            ", column " + std::to_string(k % width) + " is " +
                            std::to_string(p[k]) + "; clean or drop that sample");
  };
  if (!stores_bytes()) scan(inputs, "input");
  scan(targets, "target");
}

void Dataset::check() const {
  check_inputs();
  if (targets.dimension() != 2)
    throw shape_error("Dataset: targets must be a matrix (one sample per row), got " +
                      shape_str(targets.shape()));
  const std::size_t n = size();
  if (n != targets.shape(0))
    throw shape_error(
        "Dataset: " + std::to_string(n) + " input rows (" +
        (stores_bytes() ? std::string("byte_inputs") : "inputs " + shape_str(inputs.shape())) +
        ") but targets " + shape_str(targets.shape()) + " has " + std::to_string(targets.shape(0)));
  if (!labels.empty() && labels.size() != n)
    throw shape_error("Dataset: " + std::to_string(labels.size()) + " labels for " +
                      std::to_string(n) + " samples");
}

void Dataset::copy_input_row(std::size_t i, Scalar* out) const {
  const std::size_t f = features();
  if (!stores_bytes()) {
    std::copy_n(inputs.data() + i * f, f, out);
    return;
  }
  // A true division, as load_mnist's Scalar path does: the same values.
  const std::uint8_t* __restrict src = byte_inputs.codes.data() + i * f;
  Scalar* __restrict dst = out;
  const Scalar divisor = byte_inputs.divisor;
  for (std::size_t j = 0; j < f; ++j) dst[j] = Scalar(src[j]) / divisor;
}

Array Dataset::input_rows(std::size_t start, std::size_t stop) const {
  check_range("Dataset::input_rows", start, stop, size());
  if (!stores_bytes()) return copy_rows(inputs, start, stop);
  const std::size_t f = features();
  Array out = uninitialized(stop - start, f);
  for (std::size_t i = start; i < stop; ++i) copy_input_row(i, out.data() + (i - start) * f);
  return out;
}

Dataset Dataset::slice(std::size_t start, std::size_t stop) const {
  check();
  check_range("Dataset::slice", start, stop, size());
  Dataset out;
  if (stores_bytes()) {
    const std::size_t f = features();
    out.byte_inputs.rows = stop - start;
    out.byte_inputs.cols = f;
    out.byte_inputs.divisor = byte_inputs.divisor;
    out.byte_inputs.codes.assign(byte_inputs.codes.begin() + static_cast<std::ptrdiff_t>(start * f),
                                 byte_inputs.codes.begin() + static_cast<std::ptrdiff_t>(stop * f));
  } else {
    out.inputs = copy_rows(inputs, start, stop);
  }
  out.targets = copy_rows(targets, start, stop);
  if (!labels.empty()) out.labels.assign(labels.begin() + start, labels.begin() + stop);
  return out;
}

Dataset Dataset::take(std::size_t n) const {
  if (n > size())
    throw value_error("Dataset::take: asked for " + std::to_string(n) +
                      " samples, the data set has " + std::to_string(size()));
  return slice(0, n);
}

Array one_hot(const std::vector<std::size_t>& labels, std::size_t classes) {
  if (classes == 0) throw value_error("one_hot: classes must be positive, got 0");
  Array out = Array::from_shape({labels.size(), classes});
  std::fill(out.begin(), out.end(), Scalar(0));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= classes)
      throw value_error("one_hot: label at index " + std::to_string(i) + " is " +
                        std::to_string(labels[i]) + ", expected < " + std::to_string(classes));
    out.data()[i * classes + labels[i]] = Scalar(1);
  }
  return out;
}

std::size_t count_correct(const Array& outputs, const std::vector<std::size_t>& labels) {
  if (outputs.dimension() != 2)
    throw shape_error("count_correct: outputs must be n × classes, got " +
                      shape_str(outputs.shape()));
  if (outputs.shape(0) != labels.size())
    throw shape_error("count_correct: outputs " + shape_str(outputs.shape()) + " has " +
                      std::to_string(outputs.shape(0)) + " rows but there are " +
                      std::to_string(labels.size()) + " labels");
  const std::size_t width = outputs.shape(1);
  if (width == 0) return 0;
  std::size_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const Scalar* row = outputs.data() + i * width;
    // max_element returns the first of equal maxima, like numpy's argmax.
    const auto predicted = static_cast<std::size_t>(std::max_element(row, row + width) - row);
    correct += predicted == labels[i];
  }
  return correct;
}

Batches::Batches(const Dataset& data, std::size_t batch_size, Rng* rng)
    : data_(&data), batch_size_(batch_size), rng_(rng) {
  data.check();
  const std::size_t n = data.size();
  if (batch_size == 0 || batch_size > n)
    throw value_error("Batches: batch size " + std::to_string(batch_size) +
                      " is not within 1 to the data set size " + std::to_string(n));
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), std::size_t{0});
  // Both buffers are allocated here, once; next() only copies into them.
  auto allocate = [&](Batch& b, std::size_t m) {
    b.inputs = uninitialized(m, data.features());
    b.targets = uninitialized(m, data.classes());
    b.labels.resize(data.labels.empty() ? 0 : m);
  };
  allocate(full_, batch_size);
  allocate(partial_, n % batch_size);
}

std::size_t Batches::batches_per_epoch() const {
  return (data_->size() + batch_size_ - 1) / batch_size_;
}

bool Batches::advance(std::size_t& first, std::size_t& m) {
  if (cursor_ == not_started) {
    if (rng_) rng_->shuffle(order_.begin(), order_.end());
    cursor_ = 0;
    ++epoch_;
  }
  const std::size_t n = order_.size();
  if (cursor_ >= n) {
    cursor_ = not_started;
    return false;
  }
  first = cursor_;
  m = std::min(batch_size_, n - cursor_);
  cursor_ += batch_size_;
  return true;
}

bool Batches::next() {
  std::size_t first = 0, m = 0;
  if (!advance(first, m)) return false;
  in_partial_ = m < batch_size_;
  Batch& b = in_partial_ ? partial_ : full_;
  fill(b.inputs, b.targets, b.labels.empty() ? nullptr : &b.labels, first, m);
  prefetch(cursor_, batch_size_);
  return true;
}

bool Batches::next_into(Array& inputs, Array& targets) {
  std::size_t first = 0, m = 0;
  if (!advance(first, m)) return false;
  const std::size_t f = data_->features(), c = data_->classes();
  if (inputs.dimension() != 2 || inputs.shape()[0] != m || inputs.shape()[1] != f)
    inputs = uninitialized(m, f);
  if (targets.dimension() != 2 || targets.shape()[0] != m || targets.shape()[1] != c)
    targets = uninitialized(m, c);
  fill(inputs, targets, nullptr, first, m);
  prefetch(cursor_, batch_size_);
  return true;
}

bool Batches::next_part_into(
    Array& inputs, Array& targets,
    const std::function<std::pair<std::size_t, std::size_t>(std::size_t)>& part,
    std::size_t& batch_rows, std::size_t& part_begin) {
  std::size_t first = 0, m = 0;
  if (!advance(first, m)) return false;
  const auto [begin, count] = part(m);
  if (begin > m || count > m - begin)
    throw value_error("Batches::next_part_into: rows [" + std::to_string(begin) + ", " +
                      std::to_string(begin + count) + ") are not inside a mini-batch of " +
                      std::to_string(m));
  const std::size_t f = data_->features(), c = data_->classes();
  if (inputs.dimension() != 2 || inputs.shape()[0] != count || inputs.shape()[1] != f)
    inputs = uninitialized(count, f);
  if (targets.dimension() != 2 || targets.shape()[0] != count || targets.shape()[1] != c)
    targets = uninitialized(count, c);
  if (count) fill(inputs, targets, nullptr, first + begin, count);
  // The next batch's part is part(m') for its own size m'; for every batch
  // but the one before a short last batch that is this [begin, begin + count),
  // and a hint need not be exact, so `part` is not called a second time.
  prefetch(cursor_ + begin, count);
  batch_rows = m;
  part_begin = begin;
  return true;
}

void Batches::set_order(std::vector<std::size_t> order) {
  const std::size_t n = data_->size();
  std::vector<bool> seen(n, false);
  bool ok = order.size() == n;
  for (std::size_t k = 0; ok && k < n; ++k) {
    ok = order[k] < n && !seen[order[k]];
    if (ok) seen[order[k]] = true;
  }
  if (!ok)
    throw value_error("Batches::set_order: not a permutation of the " + std::to_string(n) +
                      " sample indices (got " + std::to_string(order.size()) + " entries)");
  order_ = std::move(order);
  cursor_ = not_started;
}

void Batches::fill(Array& inputs, Array& targets, std::vector<std::size_t>* labels,
                   std::size_t first, std::size_t m) const {
  const Dataset& d = *data_;
  const std::size_t f = d.features(), c = d.classes();
  const Scalar* y = d.targets.data();
  Scalar* bx = inputs.data();
  Scalar* by = targets.data();
  for (std::size_t r = 0; r < m; ++r) {
    const std::size_t i = order_[first + r];
    d.copy_input_row(i, bx + r * f);
    std::copy_n(y + i * c, c, by + r * c);
    if (labels) (*labels)[r] = d.labels[i];
  }
}

namespace {
// A hint to bring the cache line holding *p in; no value is read. On x86-64
// an asm volatile, because GCC 12 at -O1 and above deleted the whole of
// Batches::prefetch built on __builtin_prefetch (tree DCE removed the
// prefetches, -fno-tree-dce kept them; seen in the object code).
inline void prefetch_line(const char* p) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  asm volatile("prefetcht0 %0" : : "m"(*p));
#elif defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

// One prefetch per 64-byte cache line of [p, p + bytes), each address inside
// the range: the line of every 64th byte, then the line of the last byte (a
// row need not start on a line boundary, so it can touch one line more).
inline void prefetch_bytes(const char* p, std::size_t bytes) {
  if (bytes == 0) return;
  for (std::size_t off = 0; off < bytes; off += 64) prefetch_line(p + off);
  prefetch_line(p + bytes - 1);
}
}  // namespace

// Why: with a shuffled order each mini-batch gathers rows scattered over the
// whole data set (39 MB of MNIST bytes), and copying them waited on memory for
// 18 % of a batch-10 epoch (docs/performance.md, "Where the time goes now").
// Asking for the next batch's lines now lets them arrive while the gemms of
// this one run. Rows are requested in the order fill() will read them.
void Batches::prefetch(std::size_t first, std::size_t m) const {
  const std::size_t n = order_.size();
  if (first >= n) return;  // the next batch starts a new epoch: order not drawn yet
  m = std::min(m, n - first);
  const Dataset& d = *data_;
  const bool bytes = d.stores_bytes();
  const std::size_t f = d.features(), c = d.classes();
  const std::size_t row_bytes = bytes ? f : f * sizeof(Scalar);
  const char* x = bytes ? reinterpret_cast<const char*>(d.byte_inputs.codes.data())
                        : reinterpret_cast<const char*>(d.inputs.data());
  const char* y = reinterpret_cast<const char*>(d.targets.data());
  const std::size_t target_bytes = c * sizeof(Scalar);
  for (std::size_t r = 0; r < m; ++r) {
    const std::size_t i = order_[first + r];
    prefetch_bytes(x + i * row_bytes, row_bytes);
    prefetch_bytes(y + i * target_bytes, target_bytes);
  }
}

}  // namespace xg::data
