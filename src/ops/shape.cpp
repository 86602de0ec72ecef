// Shape ops: they move elements around; backward moves gradients back.
#include <cstring>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xstrided_view.hpp>
#include <xtensor/xview.hpp>

#include "ops/backward.hpp"
#include "ops/broadcast.hpp"
#include "xgrad/ops.hpp"

namespace xg {

namespace {
std::size_t row_size(const Array& x) {
  std::size_t n = 1;
  for (std::size_t d = 1; d < x.dimension(); ++d) n *= x.shape()[d];
  return n;
}
/// The index ranges selecting [begin, begin + len) along `ax`.
xt::xstrided_slice_vector slab(std::size_t ax, std::size_t begin, std::size_t len) {
  xt::xstrided_slice_vector sv(ax, xt::all());
  sv.push_back(xt::range(begin, begin + len));
  return sv;
}

}  // namespace

namespace kernels {

Array narrow(const Array& x, std::size_t axis, std::size_t start, std::size_t length) {
  return Array(xt::strided_view(x, slab(axis, start, length)));
}

Array embed(const Array& g, std::size_t axis, std::size_t start, std::size_t full) {
  Shape s(g.shape().begin(), g.shape().end());
  s[axis] = full;
  Array out = xt::zeros<Scalar>(s);
  if (axis == 0) {  // contiguous rows: one copy
    std::copy(g.begin(), g.end(), out.data() + start * row_size(out));
  } else {
    xt::strided_view(out, slab(axis, start, g.shape()[axis])) = g;
  }
  return out;
}

Array scatter_rows(const Array& g, const std::vector<std::size_t>& indices, std::size_t rows) {
  Shape s(g.shape().begin(), g.shape().end());
  s[0] = rows;
  Array out = xt::zeros<Scalar>(s);
  const std::size_t w = row_size(out);
  const Scalar* gy = g.data();
  for (std::size_t k = 0; k < indices.size(); ++k) {
    Scalar* row = out.data() + indices[k] * w;
    for (std::size_t j = 0; j < w; ++j) row[j] += gy[k * w + j];
  }
  return out;
}

Array gather_rows(const Array& x, const std::vector<std::size_t>& indices) {
  const std::size_t w = row_size(x);
  Shape s(x.shape().begin(), x.shape().end());
  s[0] = indices.size();
  Array y = Array::from_shape(s);
  for (std::size_t k = 0; k < indices.size(); ++k)
    std::memcpy(y.data() + k * w, x.data() + indices[k] * w, w * sizeof(Scalar));
  return y;
}

}  // namespace kernels

// Y = Xᵀ;  dX = Gᵀ
Tensor transpose(const Tensor& x) {
  detail::require_rank("transpose", x.value(), 2);
  return record("transpose", Array(xt::transpose(x.value())), {x},
                [](auto& c) { c.add(0, bw::transpose(c.gy())); });
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
  return record("reshape", std::move(y), {x},
                [](auto& c) { c.add(0, bw::reshape(c.take_gy(), c.x(0).shape())); });
}

// Y = X[start:stop];  dX = embed(G): G at rows [start, stop), 0 elsewhere
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
  return record("slice_rows", std::move(y), {x},
                [start, rows](auto& c) { c.add(0, bw::embed(c.gy(), 0, start, rows)); });
}

// Y_k = X[idx_k];  dX = scatter_rows(G): dX[idx_k] += G_k
Tensor gather_rows(const Tensor& x, const std::vector<std::size_t>& indices) {
  if (x.dim() < 1) throw shape_error("gather_rows: a 0-d tensor has no rows");
  const std::size_t rows = x.value().shape()[0];
  for (std::size_t k = 0; k < indices.size(); ++k)
    if (indices[k] >= rows)
      throw shape_error("gather_rows: index " + std::to_string(indices[k]) + " at position " +
                        std::to_string(k) + " is out of range for shape " +
                        shape_str(x.value().shape()));
  return record("gather_rows", kernels::gather_rows(x.value(), indices), {x},
                [indices, rows](auto& c) { c.add(0, bw::scatter_rows(c.gy(), indices, rows)); });
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
                        " does not match tensor 0 of shape " + shape_str(first) + " outside axis " +
                        std::to_string(ax));
    offsets.push_back(out[ax]);
    out[ax] += s[ax];
  }
  Array y = Array::from_shape(out);
  for (std::size_t i = 0; i < xs.size(); ++i)
    xt::strided_view(y, slab(ax, offsets[i], xs[i].value().shape()[ax])) = xs[i].value();
  // dX_i = narrow(G) at input i's offset
  return record("concat", std::move(y), xs, [offsets, ax](auto& c) {
    for (std::size_t i = 0; i < offsets.size(); ++i)
      if (c.needs(i)) c.add(i, bw::narrow(c.gy(), ax, offsets[i], bw::value(c.x(i)).shape()[ax]));
  });
}

// Y = X[..., start:start+length, ...] along axis;  dX = embed(G)
Tensor narrow(const Tensor& x, int axis, std::size_t start, std::size_t length) {
  const std::size_t ax = detail::normalize_axis("narrow", axis, x.dim());
  const std::size_t full = x.value().shape()[ax];
  if (start > full || length > full - start)
    throw shape_error("narrow: [" + std::to_string(start) + ", " + std::to_string(start + length) +
                      ") along axis " + std::to_string(ax) + " is out of range for shape " +
                      shape_str(x.value().shape()));
  return record("narrow", kernels::narrow(x.value(), ax, start, length), {x},
                [ax, start, full](auto& c) { c.add(0, bw::embed(c.gy(), ax, start, full)); });
}

// Y = zeros with X at [start, start+len) along axis;  dX = narrow(G)
Tensor embed(const Tensor& x, int axis, std::size_t start, std::size_t full) {
  const std::size_t ax = detail::normalize_axis("embed", axis, x.dim());
  const std::size_t len = x.value().shape()[ax];
  if (start > full || len > full - start)
    throw shape_error("embed: " + std::to_string(len) + " elements at offset " +
                      std::to_string(start) + " along axis " + std::to_string(ax) +
                      " do not fit in size " + std::to_string(full));
  return record("embed", kernels::embed(x.value(), ax, start, full), {x},
                [ax, start, len](auto& c) { c.add(0, bw::narrow(c.gy(), ax, start, len)); });
}

// Y = scatter-add of X's rows at `indices`;  dX = gather_rows(G)
Tensor scatter_rows(const Tensor& x, const std::vector<std::size_t>& indices, std::size_t rows) {
  if (x.dim() < 1 || x.value().shape()[0] != indices.size())
    throw shape_error("scatter_rows: " + std::to_string(indices.size()) +
                      " indices for a tensor of shape " + shape_str(x.value().shape()));
  for (std::size_t k = 0; k < indices.size(); ++k)
    if (indices[k] >= rows)
      throw shape_error("scatter_rows: index " + std::to_string(indices[k]) + " at position " +
                        std::to_string(k) + " is out of range for " + std::to_string(rows) +
                        " rows");
  return record("scatter_rows", kernels::scatter_rows(x.value(), indices, rows), {x},
                [indices](auto& c) { c.add(0, bw::gather_rows(c.gy(), indices)); });
}

}  // namespace xg
