#pragma once
// Every error xgrad throws derives from xg::error, so callers can catch one type.
#include <stdexcept>
#include <string>
#include <vector>

namespace xg {

/// Base of every exception thrown by xgrad.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Shapes that do not fit an operation; the message names the op and the shapes.
class shape_error : public error {
 public:
  using error::error;
};

/// A bad argument value (negative size, unknown name, out-of-range label...).
class value_error : public error {
 public:
  using error::error;
};

/// Misuse of the autograd graph (backward twice through a released graph...).
class graph_error : public error {
 public:
  using error::error;
};

/// A NaN or Inf met while anomaly detection is on, or a diverged training run.
class numeric_error : public error {
 public:
  using error::error;
};

/// A file that cannot be read or written, or whose contents are malformed.
class io_error : public error {
 public:
  using error::error;
};

/// "(10, 784)" for error messages.
template <class S>
std::string shape_str(const S& shape) {
  std::string s = "(";
  bool first = true;
  for (auto d : shape) {
    if (!first) s += ", ";
    s += std::to_string(d);
    first = false;
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

}  // namespace xg
