#pragma once
// Helpers shared by src/dist/*.cpp (not installed).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/dist.hpp"

namespace xg::dist::detail {

/// FNV-1a of the count, ranks and dimensions of the arrays.
std::uint64_t shapes_hash(const std::vector<const Array*>& arrays);
/// "3 arrays: (30, 784) (30,) (10, 30)" for messages.
std::string shapes_text(const std::vector<const Array*>& arrays);
/// A value every rank must hold: (what it is, (this rank's value as text, as a
/// number exactly representable in a double)).
using Agreed = std::pair<std::string, std::pair<std::string, double>>;
/// An Agreed for a count or an index.
template <class N>
Agreed agreed(const std::string& name, N n) {
  return {name, {std::to_string(n), static_cast<double>(n)}};
}
/// Throws dist_error on every rank unless every value is the same on every
/// rank, naming the first that is not and this rank's value (one small
/// message; nothing when not distributed).
void agree(const char* what, const std::vector<Agreed>& values);
/// agree() on the arrays' shapes plus `extra` values.
void agree_on_shapes(const char* what, const std::vector<const Array*>& arrays,
                     std::vector<Agreed> extra);
/// The reused packing buffer, at least n Scalars.
Scalar* window_buffer(std::size_t n);
/// bucket_bytes() in Scalars (at least 1).
std::size_t window_elements();

}  // namespace xg::dist::detail
