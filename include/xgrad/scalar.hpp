#pragma once
// The one element type of xgrad. A float build is one CMake option away
// (-DXGRAD_FLOAT=ON); nothing else in the code names `double` for tensor data.
#include <xsimd/xsimd.hpp>
#include <xtensor/xarray.hpp>

namespace xg {

#if defined(XGRAD_FLOAT)
using Scalar = float;
#else
using Scalar = double;
#endif

/// Dense row-major n-dimensional array holding a tensor's value or gradient.
/// It keeps xtensor's 64-byte aligned allocator although plain malloc is
/// cheaper for small arrays: with unaligned buffers xsimd splits loops into a
/// scalar head and a vector body at address-dependent points, and vectorised
/// exp/log round differently from scalar ones, so results would depend on
/// where the allocator put the data (checkpoint/resume would not be exact).
/// The alignment is spelled out: xtensor's default follows the compiler's
/// target flags, and a program built without -march=native would otherwise
/// see a different Array type than the installed library.
using Array = xt::xarray<Scalar, xt::layout_type::row_major, xsimd::aligned_allocator<Scalar, 64>>;
/// Shape of an Array.
using Shape = std::vector<std::size_t>;

}  // namespace xg
