#pragma once
// Small text helpers for messages (internal, not installed).
#include <string>
#include <vector>

namespace xg::text {

/// A number as people write it: 1e-08, 0.5, -2 ("%g"; std::to_string would
/// print 0.000000 for 1e-8).
std::string number(double v);

/// "a, b, c": the list after "(known: " in an unknown-name message.
std::string joined(const std::vector<std::string>& names);

}  // namespace xg::text
