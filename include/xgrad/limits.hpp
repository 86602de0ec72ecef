#pragma once
// How much memory a requested size would take, checked before it is taken.
//
// Why: a layer of 784 × 4,000,000,000 weights or a tensor whose shape's
// product overflows used to end in std::bad_alloc (or, with a wrapped
// negative size, std::bad_array_new_length) deep inside xtensor, reported as
// "unexpected error". The request is refused here instead, with the number of
// bytes it would need and what the machine has.
#include <cstddef>
#include <string>
#include <vector>

#include "xgrad/error.hpp"
#include "xgrad/scalar.hpp"

namespace xg {

/// A request for more memory than the machine has (or than a size_t can count).
/// A value_error: the argument is at fault, not the library.
class resource_error : public value_error {
 public:
  using value_error::value_error;
};

/// Physical memory of this machine in bytes (sysconf(_SC_PHYS_PAGES) ×
/// page size), read once; 0 when the system cannot tell (then only overflow
/// is checked).
std::size_t physical_memory_bytes();

/// The product of `shape`'s dimensions; throws resource_error naming `what`
/// when it does not fit in a size_t.
std::size_t checked_elements(const std::string& what, const std::vector<std::size_t>& shape);

/// Throws resource_error when `elements` items of `element_bytes` bytes each
/// overflow a size_t or exceed `available` bytes (default: the physical
/// memory). The message names `what`, the bytes needed and the bytes there are.
void check_allocation(const std::string& what, std::size_t elements,
                      std::size_t element_bytes = sizeof(Scalar),
                      std::size_t available = physical_memory_bytes());

/// "1.5 GiB", "640 KiB", "12 bytes": sizes in messages.
std::string format_bytes(double bytes);

}  // namespace xg
