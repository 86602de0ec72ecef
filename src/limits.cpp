#include "xgrad/limits.hpp"

#include <unistd.h>

#include <cstdio>
#include <limits>

namespace xg {

std::size_t physical_memory_bytes() {
  static const std::size_t bytes = [] {
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page = ::sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return std::size_t{0};
    const auto p = static_cast<std::size_t>(pages), s = static_cast<std::size_t>(page);
    return p > std::numeric_limits<std::size_t>::max() / s ? std::numeric_limits<std::size_t>::max()
                                                           : p * s;
  }();
  return bytes;
}

std::string format_bytes(double bytes) {
  static const char* const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB",
                                      "PiB",   "EiB", "ZiB", "YiB"};
  std::size_t u = 0;
  while (bytes >= 1024.0 && u + 1 < sizeof units / sizeof *units) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[64];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%.0f bytes", bytes);
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", bytes, units[u]);
  return buf;
}

std::size_t checked_elements(const std::string& what, const std::vector<std::size_t>& shape) {
  std::size_t n = 1;
  bool zero = false;
  bool overflow = false;
  for (std::size_t d : shape) {
    if (d == 0) zero = true;
    if (!overflow && d != 0 && n > std::numeric_limits<std::size_t>::max() / d) overflow = true;
    if (!overflow) n *= d;
  }
  if (zero) return 0;  // an empty tensor, whatever the other dimensions
  if (overflow)
    throw resource_error(what + ": shape " + shape_str(shape) +
                         " has more elements than a size_t can count");
  return n;
}

void check_allocation(const std::string& what, std::size_t elements, std::size_t element_bytes,
                      std::size_t available) {
  const double needed = static_cast<double>(elements) * static_cast<double>(element_bytes);
  const bool overflow =
      element_bytes != 0 && elements > std::numeric_limits<std::size_t>::max() / element_bytes;
  if (overflow || (available != 0 && elements * element_bytes > available))
    throw resource_error(what + ": " + std::to_string(elements) + " elements would need " +
                         format_bytes(needed) + ", more than this machine's " +
                         format_bytes(static_cast<double>(available)) + " of memory");
}

}  // namespace xg
