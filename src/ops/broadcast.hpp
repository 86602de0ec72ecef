#pragma once
// Internal helpers shared by the op files: shape checks and axis handling.
#include <string>

#include "xgrad/error.hpp"
#include "xgrad/scalar.hpp"

namespace xg::detail {

/// numpy broadcasting of two shapes; throws shape_error naming the op.
template <class S1, class S2>
Shape broadcast_shape(const char* op, const S1& a, const S2& b) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::size_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw shape_error(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                        " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

/// A possibly negative axis as an index into a rank-`rank` shape.
inline std::size_t normalize_axis(const char* op, int axis, std::size_t rank) {
  const int r = static_cast<int>(rank);
  if (axis < -r || axis >= r)
    throw shape_error(std::string(op) + ": axis " + std::to_string(axis) +
                      " is out of range for a tensor of rank " + std::to_string(rank));
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

inline void require_rank(const char* op, const Array& x, std::size_t rank,
                         const char* what = "input") {
  if (x.dimension() != rank)
    throw shape_error(std::string(op) + ": " + what + " of shape " + shape_str(x.shape()) +
                      " has rank " + std::to_string(x.dimension()) + ", expected rank " +
                      std::to_string(rank));
}

}  // namespace xg::detail
