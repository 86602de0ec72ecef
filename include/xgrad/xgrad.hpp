#pragma once
// Everything at once. Include single headers for faster builds.
#include <xtensor/xio.hpp>  // printing Arrays with <<

#include "xgrad/error.hpp"
#include "xgrad/gradcheck.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/random.hpp"
#include "xgrad/scalar.hpp"
#include "xgrad/tensor.hpp"
