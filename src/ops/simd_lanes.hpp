#pragma once
// The vector pieces xgrad's own small-product kernels share
// (weight_gradient.cpp, short_product.cpp): a fused multiply-add that rounds
// once whatever the compiler does, and loads and stores of a vector's first
// lanes that touch nothing past them.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <xsimd/xsimd.hpp>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "xgrad/scalar.hpp"

// Inlined into its caller, a block's accumulators stay in registers; called,
// GCC keeps the arrays of them on the stack and every block stores and
// reloads them (40 % slower in the training step).
// The loops over a block's rows are unrolled before that decision, too.
#if defined(__clang__)
#define XGRAD_BLOCK_INLINE inline __attribute__((always_inline))
#define XGRAD_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define XGRAD_BLOCK_INLINE inline __attribute__((always_inline))
#define XGRAD_UNROLL _Pragma("GCC unroll 16")
#else
#define XGRAD_BLOCK_INLINE inline
#define XGRAD_UNROLL
#endif

namespace xg::detail::simd {

using Batch = xsimd::batch<Scalar>;
constexpr std::size_t kLanes = Batch::size;

// a·b + c (Sign = +1) or c − a·b (Sign = −1), rounded once. xsimd 8.1 has
// no AVX-512 fma: its generic fallback is a·b + c, fused only where the
// compiler contracts it (GCC at -O2, not at -O1), and the kernels' bits must
// not depend on that. (A template, so that only the branch of B's scalar type
// is compiled.)
template <int Sign, class B>
inline B fused(const B& a, const B& b, const B& c) {
  static_assert(Sign == 1 || Sign == -1, "a·b + c or c − a·b");
#if defined(__AVX512F__)
  if constexpr (sizeof(B) == 64) {
    constexpr bool single = std::is_same<typename B::value_type, float>::value;
    if constexpr (Sign == 1 && single) return B(_mm512_fmadd_ps(a, b, c));
    if constexpr (Sign == 1 && !single) return B(_mm512_fmadd_pd(a, b, c));
    if constexpr (Sign == -1 && single) return B(_mm512_fnmadd_ps(a, b, c));
    if constexpr (Sign == -1 && !single) return B(_mm512_fnmadd_pd(a, b, c));
  }
#endif
  if constexpr (Sign == 1)
    return xsimd::fma(a, b, c);
  else
    return xsimd::fnma(a, b, c);
}

// Lanes j < cols of the vector at p, zeros after, and the store of those
// lanes only: AVX-512's masked moves, or a copy through a vector on the stack
// elsewhere. Nothing past p + cols is touched. (Templates, as fused.)
template <class B = Batch, class T>
inline B load_lanes(const T* p, std::size_t cols) {
#if defined(__AVX512F__)
  if constexpr (sizeof(B) == 64) {
    const auto mask = static_cast<std::uint32_t>((1u << cols) - 1);
    if constexpr (std::is_same<T, float>::value)
      return B(_mm512_maskz_loadu_ps(static_cast<__mmask16>(mask), p));
    else
      return B(_mm512_maskz_loadu_pd(static_cast<__mmask8>(mask), p));
  }
#endif
  alignas(sizeof(B)) T lanes[B::size];
  for (std::size_t j = 0; j < B::size; ++j) lanes[j] = j < cols ? p[j] : T(0);
  return B::load_aligned(lanes);
}

template <class B, class T>
inline void store_lanes(T* p, std::size_t cols, const B& v) {
#if defined(__AVX512F__)
  if constexpr (sizeof(B) == 64) {
    const auto mask = static_cast<std::uint32_t>((1u << cols) - 1);
    if constexpr (std::is_same<T, float>::value)
      return _mm512_mask_storeu_ps(p, static_cast<__mmask16>(mask), v);
    else
      return _mm512_mask_storeu_pd(p, static_cast<__mmask8>(mask), v);
  }
#endif
  alignas(sizeof(B)) T lanes[B::size];
  v.store_aligned(lanes);
  std::copy_n(lanes, cols, p);
}

// Calls f(std::integral_constant<int, rows>()) for 0 < rows ≤ R: a kernel's
// last rows (fewer than a whole block) with a block of exactly that height,
// its accumulators then a compile-time count.
template <int R, class F>
inline void with_rows(std::size_t rows, F&& f) {
  if constexpr (R > 0) {
    if (rows == R) return f(std::integral_constant<int, R>());
    with_rows<R - 1>(rows, std::forward<F>(f));
  }
}

}  // namespace xg::detail::simd
