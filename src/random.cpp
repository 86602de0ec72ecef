#include "xgrad/random.hpp"

#include <cmath>
#include <sstream>

#include "xgrad/error.hpp"

namespace xg {

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double k = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * k;
  has_spare_ = true;
  return u * k;
}

std::uint64_t Rng::below(std::uint64_t n) {
  if (n == 0) throw value_error("Rng::below: n must be positive");
  // Rejection sampling: draw from the largest multiple of n below 2^64.
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  std::uint64_t x;
  do {
    x = engine_();
  } while (x >= limit);
  return x % n;
}

Array Rng::normal_array(const Shape& shape, double mean, double stddev) {
  Array a = Array::from_shape(shape);
  for (auto& x : a) x = static_cast<Scalar>(normal(mean, stddev));
  return a;
}

Array Rng::uniform_array(const Shape& shape, double lo, double hi) {
  Array a = Array::from_shape(shape);
  for (auto& x : a) x = static_cast<Scalar>(uniform(lo, hi));
  return a;
}

std::string Rng::state() const {
  std::ostringstream out;
  out.precision(17);
  out << engine_ << ' ' << has_spare_ << ' ' << std::hexfloat << spare_;
  return out.str();
}

void Rng::restore(const std::string& state) {
  std::istringstream in(state);
  std::mt19937_64 engine;
  bool has_spare = false;
  double spare = 0.0;
  in >> engine >> has_spare;
  std::string spare_text;
  in >> spare_text;
  if (!in) throw value_error("Rng::restore: malformed engine state");
  spare = std::strtod(spare_text.c_str(), nullptr);
  engine_ = engine;
  has_spare_ = has_spare;
  spare_ = spare;
}

}  // namespace xg
