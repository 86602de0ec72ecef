#pragma once
// xgrad's own threads inside one operation: the large matrix products and
// the optimizers' loops over large parameters are cut into pieces that run
// at once. Each piece is one single-thread BLAS call. With OpenBLAS's Haswell
// dgemm kernels every element is then the sum one thread forms, so a double
// run's numbers do not depend on the thread count; its AVX-512 dgemm kernels
// and its Haswell sgemm kernels sum some elements of a cut product in another
// order, to rounding (docs/distributed.md, "Threads or processes").
#include <algorithm>
#include <cstddef>
#include <functional>

namespace xg {

/// Threads xgrad may use inside one operation (n < 1 means 1; the default is
/// 1). With n > 1 xgrad cuts each large matrix product into n blocks of the
/// result and keeps OpenBLAS itself on one thread, so the two never compete
/// for cores. Small products (the book's 784-30-10) stay on one thread: they
/// are faster there. Set it before training, not from inside an operation.
void set_num_threads(int n);
/// The threads set by set_num_threads (1 unless changed).
int num_threads();

namespace detail {
void parallel_pieces(std::size_t n, std::size_t grain,
                     const std::function<void(std::size_t, std::size_t)>& fn);
}

/// Runs fn(begin, end) over [0, n) cut into at most num_threads() contiguous
/// pieces of at least `grain` indices each (all of [0, n) in one call when
/// n < 2·grain or one thread is set); the calling thread runs the first piece
/// and returns when every piece has ended. Pieces must write disjoint data.
/// Where the threads are busy — another thread of the program is inside
/// parallel_for, or this is called from inside a piece — fn(0, n) runs here
/// instead, with the same results. An exception thrown by a piece is
/// rethrown here after all pieces end (the first piece's, when several throw).
template <class Fn>
void parallel_for(std::size_t n, std::size_t grain, Fn&& fn) {
  if (num_threads() > 1 && n >= 2 * std::max<std::size_t>(grain, 1))
    detail::parallel_pieces(n, grain, std::function<void(std::size_t, std::size_t)>(std::ref(fn)));
  else if (n > 0)
    fn(std::size_t{0}, n);
}

}  // namespace xg
