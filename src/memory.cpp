// The per-thread block cache behind PoolAllocator (see memory.hpp for why).
#include "xgrad/memory.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#define XGRAD_POOL_DISABLED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XGRAD_POOL_DISABLED 1
#endif
#endif

namespace xg::memory {

namespace {

// Size classes: every multiple of 64 bytes up to 1 KiB, then steps of about
// 1.25x up to 16 MiB (at most 25% of a block unused). Larger blocks (data
// sets) go straight to the system. The classes reach that far because
// blocks of a few MiB come back every step or chunk — 784-800-10's 1,000-row
// evaluation chunks are 6.4 MB — and glibc hands those out as fresh pages
// that fault in on first touch: caching them took a 4-epoch `xgrad-book
// train` of 784-800-10 from 4.5 s to 2.5 s of wall time.
constexpr std::size_t kSmallStep = 64;
constexpr std::size_t kSmallLimit = 1024;
constexpr std::size_t kLargestClass = 16 * 1024 * 1024;

/// The class after `s` above 1 KiB: about 1.25x, rounded up to 64 bytes.
constexpr std::size_t next_class(std::size_t s) {
  return std::min(kLargestClass, (s + s / 4 + kSmallStep - 1) / kSmallStep * kSmallStep);
}

constexpr std::size_t count_classes() {
  std::size_t n = kSmallLimit / kSmallStep;
  for (std::size_t s = kSmallLimit; s < kLargestClass; s = next_class(s)) ++n;
  return n;
}
constexpr std::size_t kClasses = count_classes();

constexpr std::array<std::size_t, kClasses> make_class_sizes() {
  std::array<std::size_t, kClasses> sizes{};
  std::size_t i = 0;
  for (std::size_t s = kSmallStep; s <= kSmallLimit; s += kSmallStep) sizes[i++] = s;
  for (std::size_t s = next_class(kSmallLimit); i < kClasses; s = next_class(s)) sizes[i++] = s;
  return sizes;
}
constexpr std::array<std::size_t, kClasses> kClassSize = make_class_sizes();
static_assert(kClassSize[kClasses - 1] == kLargestClass, "the last class is the largest block");

/// Index of the smallest class holding `bytes`; kClasses when none does.
std::size_t class_of(std::size_t bytes) noexcept {
  if (bytes <= kSmallLimit) return bytes == 0 ? 0 : (bytes - 1) / kSmallStep;
  return static_cast<std::size_t>(
      std::lower_bound(kClassSize.begin() + kSmallLimit / kSmallStep, kClassSize.end(), bytes) -
      kClassSize.begin());
}

void* system_allocate(std::size_t bytes) {
  // aligned_alloc wants a multiple of the alignment.
  const std::size_t rounded =
      (std::max<std::size_t>(bytes, 1) + alignment - 1) / alignment * alignment;
  if (rounded < bytes) throw std::bad_alloc();
  void* p = std::aligned_alloc(alignment, rounded);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

struct FreeBlock {
  FreeBlock* next;
};

struct Cache {
  std::array<FreeBlock*, kClasses> heads{};
  std::size_t bytes = 0;
  std::size_t limit = std::size_t(256) << 20;

  void release() noexcept {
    for (auto& head : heads) {
      while (head != nullptr) {
        FreeBlock* b = head;
        head = b->next;
        std::free(b);
      }
    }
    bytes = 0;
  }
  /// Frees blocks, largest classes first, until at most `target` bytes stay.
  void trim_to(std::size_t target) noexcept {
    for (std::size_t c = kClasses; c-- > 0 && bytes > target;) {
      while (heads[c] != nullptr && bytes > target) {
        FreeBlock* b = heads[c];
        heads[c] = b->next;
        bytes -= kClassSize[c];
        std::free(b);
      }
    }
  }
  ~Cache();
};

// Blocks freed while the thread's cache is being destroyed (a Tensor in
// another thread_local or static object outliving it) go to the system: a
// trivially destructible flag stays readable until the thread is gone.
thread_local bool t_cache_gone = false;
thread_local Cache t_cache;

Cache::~Cache() {
  release();
  t_cache_gone = true;
}

}  // namespace

#if defined(XGRAD_POOL_DISABLED)

void* allocate(std::size_t bytes) { return system_allocate(bytes); }
void deallocate(void* block, std::size_t) noexcept { std::free(block); }
std::size_t cached_bytes() noexcept { return 0; }
void release_cached() noexcept {}
void set_cache_limit(std::size_t) noexcept {}
std::size_t cache_limit() noexcept { return 0; }
bool caching_compiled_in() noexcept { return false; }

#else

void* allocate(std::size_t bytes) {
  const std::size_t c = class_of(bytes);
  if (c == kClasses) return system_allocate(bytes);
  if (!t_cache_gone) {
    Cache& cache = t_cache;
    if (FreeBlock* b = cache.heads[c]) {
      cache.heads[c] = b->next;
      cache.bytes -= kClassSize[c];
      return b;
    }
  }
  return system_allocate(kClassSize[c]);
}

void deallocate(void* block, std::size_t bytes) noexcept {
  if (block == nullptr) return;
  const std::size_t c = class_of(bytes);
  if (c == kClasses || t_cache_gone) {
    std::free(block);
    return;
  }
  Cache& cache = t_cache;
  if (cache.bytes + kClassSize[c] > cache.limit) {
    std::free(block);
    return;
  }
  auto* b = static_cast<FreeBlock*>(block);
  b->next = cache.heads[c];
  cache.heads[c] = b;
  cache.bytes += kClassSize[c];
}

std::size_t cached_bytes() noexcept { return t_cache_gone ? 0 : t_cache.bytes; }

void release_cached() noexcept {
  if (!t_cache_gone) t_cache.release();
}

void set_cache_limit(std::size_t bytes) noexcept {
  if (t_cache_gone) return;
  t_cache.limit = bytes;
  t_cache.trim_to(bytes);
}

std::size_t cache_limit() noexcept { return t_cache_gone ? 0 : t_cache.limit; }

bool caching_compiled_in() noexcept { return true; }

#endif

}  // namespace xg::memory
