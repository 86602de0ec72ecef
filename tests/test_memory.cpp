// xg::memory: the per-thread block cache behind Array storage and graph nodes.
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <thread>
#include <vector>

#include "xgrad/memory.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/tensor.hpp"

using namespace xg;

namespace {
bool aligned64(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 64 == 0; }

/// Restores the thread's cache limit at scope exit.
struct LimitGuard {
  std::size_t saved = memory::cache_limit();
  ~LimitGuard() { memory::set_cache_limit(saved); }
};
}  // namespace

TEST_CASE("every block is 64-byte aligned and writable to its full size", "[memory]") {
  for (std::size_t bytes :
       {std::size_t(0), std::size_t(1), std::size_t(8), std::size_t(63), std::size_t(64),
        std::size_t(65), std::size_t(1000), std::size_t(1025), std::size_t(70000),
        std::size_t(262144), std::size_t(262145), std::size_t(3000000)}) {
    void* p = memory::allocate(bytes);
    REQUIRE(p != nullptr);
    CHECK(aligned64(p));
    if (bytes > 0) {
      auto* c = static_cast<unsigned char*>(p);
      c[0] = 1;
      c[bytes - 1] = 2;
    }
    memory::deallocate(p, bytes);
  }
  Array a = xt::ones<Scalar>({3, 5});
  CHECK(aligned64(a.data()));
}

TEST_CASE("a freed block is reused by the next request of its size class", "[memory]") {
  if (!memory::caching_compiled_in())
    SUCCEED("cache left out of this build (sanitizer)");
  else {
    LimitGuard guard;
    memory::set_cache_limit(std::size_t(64) << 20);
    memory::release_cached();
    void* p = memory::allocate(200);
    memory::deallocate(p, 200);
    CHECK(memory::cached_bytes() >= 200);
    void* q = memory::allocate(250);  // same class (193 to 256 bytes)
    CHECK(q == p);
    CHECK(memory::cached_bytes() == 0);
    memory::deallocate(q, 250);
  }
}

TEST_CASE("the cache holds at most its limit and gives everything back on request", "[memory]") {
  LimitGuard guard;
  memory::release_cached();
  CHECK(memory::cached_bytes() == 0);
  memory::set_cache_limit(4096);
  std::vector<void*> blocks;
  for (int i = 0; i < 100; ++i) blocks.push_back(memory::allocate(512));
  for (void* b : blocks) memory::deallocate(b, 512);
  CHECK(memory::cached_bytes() <= 4096);
  if (memory::caching_compiled_in()) CHECK(memory::cached_bytes() == 4096);
  memory::set_cache_limit(1024);  // lowering the limit trims at once
  CHECK(memory::cached_bytes() <= 1024);
  memory::release_cached();
  CHECK(memory::cached_bytes() == 0);
  memory::set_cache_limit(0);  // caching off
  void* p = memory::allocate(64);
  memory::deallocate(p, 64);
  CHECK(memory::cached_bytes() == 0);
}

TEST_CASE("blocks may be freed by another thread, and threads' caches are separate", "[memory]") {
  memory::release_cached();
  std::vector<Tensor> made(8);
  std::thread maker([&] {
    for (auto& t : made) t = Tensor::full({4, 4}, 2.0, true) * 3.0;
  });
  maker.join();  // the maker's cache died with it; its blocks stay valid
  for (auto& t : made) CHECK(t.value()(3, 3) == Approx(6.0));
  made.clear();  // freed here, into this thread's cache
  if (memory::caching_compiled_in()) CHECK(memory::cached_bytes() > 0);
  std::size_t other = 1;
  std::thread reader([&] { other = memory::cached_bytes(); });
  reader.join();
  CHECK(other == 0);
}

TEST_CASE("tensors that outlive their thread's cache are freed safely", "[memory]") {
  // `holder` is constructed before the thread's first allocation creates its
  // cache, so it is destroyed after the cache: its tensors are freed while the
  // cache is gone, and must go straight back to the system (ASan checks it).
  std::thread t([] {
    thread_local std::vector<Tensor> holder;
    for (int i = 0; i < 4; ++i) holder.push_back(Tensor::full({8, 8}, 1.0, true) * 2.0);
    sum(holder.back()).backward();
  });
  t.join();
  SUCCEED("thread exited cleanly");
}

TEST_CASE("impossible sizes throw std::bad_alloc instead of returning garbage", "[memory]") {
  PoolAllocator<double> alloc;
  CHECK_THROWS_AS(alloc.allocate(std::numeric_limits<std::size_t>::max() / 4),
                  std::bad_array_new_length);
  // AddressSanitizer aborts on such a request instead of failing it.
  if (memory::caching_compiled_in())
    CHECK_THROWS_AS(memory::allocate(std::numeric_limits<std::size_t>::max() - 8), std::bad_alloc);
}

TEST_CASE("a reused block gives the same results as a fresh one", "[memory]") {
  // Values must not depend on where the allocator put them (exact resume).
  // Every block is 64-byte aligned, which is what makes this hold; the test
  // guards that property against future changes of the allocator.
  auto run = [] {
    Tensor x = Tensor::full({7, 13}, 0.37, true);
    Tensor y = sum(exp(x) * sqrt(x * 2.0) + log(x + 1.0));
    y.backward();
    return std::make_pair(y.item(), Array(x.grad()));
  };
  memory::release_cached();
  const auto fresh = run();
  const auto reused = run();
  CHECK(fresh.first == reused.first);
  CHECK(fresh.second == reused.second);
}
