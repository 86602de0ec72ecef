#pragma once
// Where tensor buffers and graph nodes get their memory: a per-thread cache of
// freed blocks in size classes, in front of aligned_alloc/free.
//
// Why: a training step or a long chain of small ops allocates and frees the
// same few sizes over and over (node, value, gradient, edge list). glibc's
// own per-thread cache holds only seven blocks of a size; every further free
// is merged with its free neighbours, and that bookkeeping (unlink_chunk,
// malloc_consolidate) was 60% of the time of a 200,000-node backward
// (docs/performance.md). A block freed here goes onto its size class's list
// and the next request of that class takes it back, with no merging.
//
// The engine also keeps up to 32 op nodes of finished graphs per thread, with
// their buffers, for the next graph (xg::release_kept_nodes frees them).
//
// Every block is 64-byte aligned, so vectorised loops split the same way
// whatever the address (results do not depend on where data landed).
// Each thread keeps at most cache_limit() bytes of freed blocks; beyond that
// blocks go straight back to the system. Blocks may be freed by any thread,
// into that thread's cache: a thread that only frees what others made (a
// consumer of tensors from a producer thread) collects blocks it may never
// reuse, up to its limit; lower it there with set_cache_limit().
#include <cstddef>
#include <new>
#include <xsimd/xsimd.hpp>

namespace xg::memory {

/// Alignment of every block, in bytes.
constexpr std::size_t alignment = 64;

/// A block of at least `bytes` bytes, 64-byte aligned; throws std::bad_alloc.
void* allocate(std::size_t bytes);
/// Gives back a block from allocate(bytes), with the same `bytes`.
void deallocate(void* block, std::size_t bytes) noexcept;

/// Bytes of freed blocks this thread holds for reuse.
std::size_t cached_bytes() noexcept;
/// Returns all of this thread's cached blocks to the system.
void release_cached() noexcept;
/// The most this thread may cache; 0 turns caching off. Default 256 MiB.
/// Lowering it below cached_bytes() releases the excess at once.
void set_cache_limit(std::size_t bytes) noexcept;
std::size_t cache_limit() noexcept;

/// Whether the cache is compiled in (it is left out under AddressSanitizer,
/// which must see every free to find use-after-free bugs).
bool caching_compiled_in() noexcept;

}  // namespace xg::memory

namespace xg {

/// Standard allocator over xg::memory, for Array storage and graph nodes.
template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() noexcept = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(memory::allocate(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { memory::deallocate(p, n * sizeof(T)); }
  std::size_t max_size() const noexcept { return static_cast<std::size_t>(-1) / sizeof(T); }

  template <class U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const PoolAllocator<U>&) const noexcept {
    return false;
  }
};

}  // namespace xg

// Every PoolAllocator block is 64-byte aligned, enough for any vector width
// xsimd targets (AVX-512 included): let it use aligned loads and stores on
// Array storage. Views still use unaligned ones (their start may be anywhere).
static_assert(xsimd::default_arch::alignment() <= xg::memory::alignment,
              "xg::memory's alignment is below the SIMD width of this target");
namespace xsimd {
template <class T>
struct allocator_alignment<xg::PoolAllocator<T>> {
  using type = aligned_mode;
};
}  // namespace xsimd
