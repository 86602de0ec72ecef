#pragma once
// The one element type of xgrad. A float build is one CMake option away
// (-DXGRAD_FLOAT=ON); nothing else in the code names `double` for tensor data.
#include <xtensor/xarray.hpp>

#include "xgrad/memory.hpp"

namespace xg {

#if defined(XGRAD_FLOAT)
using Scalar = float;
#else
using Scalar = double;
#endif

/// Dense row-major n-dimensional array holding a tensor's value or gradient.
/// Its storage comes from xg::memory (a per-thread cache of freed blocks,
/// every block 64-byte aligned). The fixed alignment matters for
/// reproducibility: with unaligned buffers xsimd splits loops into a scalar
/// head and a vector body at address-dependent points, and vectorised exp/log
/// round differently from scalar ones, so results would depend on where the
/// data landed (checkpoint/resume would not be exact).
using Array = xt::xarray<Scalar, xt::layout_type::row_major, PoolAllocator<Scalar>>;
/// Shape of an Array.
using Shape = std::vector<std::size_t>;

}  // namespace xg
