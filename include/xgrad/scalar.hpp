#pragma once
// The one element type of xgrad. A float build is one CMake option away
// (-DXGRAD_FLOAT=ON); nothing else in the code names `double` for tensor data.
#include <xtensor/xarray.hpp>

namespace xg {

#if defined(XGRAD_FLOAT)
using Scalar = float;
#else
using Scalar = double;
#endif

/// Dense row-major n-dimensional array holding a tensor's value or gradient.
using Array = xt::xarray<Scalar>;
/// Shape of an Array.
using Shape = std::vector<std::size_t>;

}  // namespace xg
