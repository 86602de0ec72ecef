// Shape ops: they move elements around; backward moves gradients back.
#include <cstring>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xstrided_view.hpp>
#include <xtensor/xview.hpp>

#include "ops/broadcast.hpp"
#include "xgrad/ops.hpp"

namespace xg {

namespace {
std::size_t row_size(const Array& x) {
  std::size_t n = 1;
  for (std::size_t d = 1; d < x.dimension(); ++d) n *= x.shape()[d];
  return n;
}
}  // namespace

// Y = Xᵀ;  dX = Gᵀ
Tensor transpose(const Tensor& x) {
  detail::require_rank("transpose", x.value(), 2);
  return record("transpose", Array(xt::transpose(x.value())), {x},
                [](BackwardContext& c) { c.add(0, Array(xt::transpose(c.gy()))); });
}

// Y = X with a new shape;  dX = G with X's shape
Tensor reshape(const Tensor& x, const Shape& shape) {
  std::size_t n = 1;
  for (auto d : shape) n *= d;
  if (n != x.size())
    throw shape_error("reshape: cannot reshape " + shape_str(x.value().shape()) + " (" +
                      std::to_string(x.size()) + " elements) to " + shape_str(shape) + " (" +
                      std::to_string(n) + " elements)");
  Array y = x.value();
  y.reshape(shape);
  return record("reshape", std::move(y), {x}, [](BackwardContext& c) {
    Array g = c.take_gy();
    g.reshape(c.x(0).shape());
    c.add(0, std::move(g));
  });
}

// Y = X[start:stop];  dX[start:stop] = G, 0 elsewhere
Tensor slice_rows(const Tensor& x, std::size_t start, std::size_t stop) {
  if (x.dim() < 1) throw shape_error("slice_rows: a 0-d tensor has no rows");
  const std::size_t rows = x.value().shape()[0];
  if (start > stop || stop > rows)
    throw shape_error("slice_rows: rows [" + std::to_string(start) + ", " + std::to_string(stop) +
                      ") out of range for shape " + shape_str(x.value().shape()));
  const std::size_t w = row_size(x.value());
  Shape s(x.value().shape().begin(), x.value().shape().end());
  s[0] = stop - start;
  Array y = Array::from_shape(s);
  std::copy(x.value().data() + start * w, x.value().data() + stop * w, y.data());
  return record("slice_rows", std::move(y), {x}, [start, w](BackwardContext& c) {
    Array g = xt::zeros<Scalar>(c.x(0).shape());
    std::copy(c.gy().begin(), c.gy().end(), g.data() + start * w);
    c.add(0, std::move(g));
  });
}

// Y_k = X[idx_k];  dX[idx_k] += G_k
Tensor gather_rows(const Tensor& x, const std::vector<std::size_t>& indices) {
  if (x.dim() < 1) throw shape_error("gather_rows: a 0-d tensor has no rows");
  const std::size_t rows = x.value().shape()[0];
  for (std::size_t k = 0; k < indices.size(); ++k)
    if (indices[k] >= rows)
      throw shape_error("gather_rows: index " + std::to_string(indices[k]) + " at position " +
                        std::to_string(k) + " is out of range for shape " +
                        shape_str(x.value().shape()));
  const std::size_t w = row_size(x.value());
  Shape s(x.value().shape().begin(), x.value().shape().end());
  s[0] = indices.size();
  Array y = Array::from_shape(s);
  for (std::size_t k = 0; k < indices.size(); ++k)
    std::memcpy(y.data() + k * w, x.value().data() + indices[k] * w, w * sizeof(Scalar));
  return record("gather_rows", std::move(y), {x}, [indices, w](BackwardContext& c) {
    Array g = xt::zeros<Scalar>(c.x(0).shape());
    const Scalar* gy = c.gy().data();
    for (std::size_t k = 0; k < indices.size(); ++k) {
      Scalar* row = g.data() + indices[k] * w;
      for (std::size_t j = 0; j < w; ++j) row[j] += gy[k * w + j];
    }
    c.add(0, std::move(g));
  });
}

// Y = [X_1 | X_2 | ...] along axis;  dX_i = the matching slab of G
Tensor concat(const std::vector<Tensor>& xs, int axis) {
  if (xs.empty()) throw value_error("concat: needs at least one tensor");
  const auto& first = xs[0].value().shape();
  const std::size_t ax = detail::normalize_axis("concat", axis, first.size());
  Shape out(first.begin(), first.end());
  out[ax] = 0;
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const auto& s = xs[i].value().shape();
    bool fits = s.size() == first.size();
    for (std::size_t d = 0; fits && d < s.size(); ++d) fits = d == ax || s[d] == first[d];
    if (!fits)
      throw shape_error("concat: tensor " + std::to_string(i) + " of shape " + shape_str(s) +
                        " does not match tensor 0 of shape " + shape_str(first) +
                        " outside axis " + std::to_string(ax));
    offsets.push_back(out[ax]);
    out[ax] += s[ax];
  }
  auto slab = [ax](std::size_t begin, std::size_t len) {
    xt::xstrided_slice_vector sv(ax, xt::all());
    sv.push_back(xt::range(begin, begin + len));
    return sv;
  };
  Array y = Array::from_shape(out);
  for (std::size_t i = 0; i < xs.size(); ++i)
    xt::strided_view(y, slab(offsets[i], xs[i].value().shape()[ax])) = xs[i].value();
  return record("concat", std::move(y), xs, [offsets, slab, ax](BackwardContext& c) {
    for (std::size_t i = 0; i < offsets.size(); ++i)
      if (c.needs(i))
        c.add(i, Array(xt::strided_view(c.gy(), slab(offsets[i], c.x(i).shape()[ax]))));
  });
}

}  // namespace xg
