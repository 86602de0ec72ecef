#pragma once
// Op nodes of finished graphs, kept for the next graph (engine internal).
//
// Why: a training step records the same few nodes every mini-batch and frees
// them after backward. Making one cost a node and an edge list from the
// allocator, a value Array built and moved in (xtensor's shape vectors are
// copied element by element), a default gradient; freeing it, the same again.
// With mini-batches of 10 that bookkeeping was a visible share of a step
// (docs/performance.md). A node whose last owner lets go is instead unlinked
// from its inputs and kept, with its value, gradient and edge-list storage,
// and the next op of the same output shape takes it back: an op that writes
// its value in place (record_into) then allocates nothing.
//
// Bounded: at most kept_nodes per thread, each Array at most kept_elements
// elements; anything else is freed as before. Only kept_nodes nodes per
// thread are made to be kept at all: those need a shared count of their own,
// which made a graph of thousands of nodes slower; the rest are made and freed
// as before. Under AddressSanitizer (no
// xg::memory cache) nothing is kept, so every free stays visible to it.
#include <cstddef>
#include <memory>

#include "xgrad/tensor.hpp"

namespace xg::detail {

constexpr std::size_t kept_nodes = 32;
constexpr std::size_t kept_elements = std::size_t(1) << 14;

/// A node with no inputs, no rule and a leaf's flags. A kept one whose value
/// has the shape `dims[0..rank)` when there is one (nothing to reallocate),
/// else another kept one, else a new one (to be kept when freed, while fewer
/// than kept_nodes of those exist on this thread). dims == nullptr: any shape.
/// `value`, if given, is moved in as the node's value.
std::shared_ptr<Node> acquire_node(const std::size_t* dims, std::size_t rank,
                                   Array* value = nullptr);

/// Frees the nodes this thread keeps.
void release_kept_nodes() noexcept;
/// How many nodes this thread keeps (for tests).
std::size_t kept_node_count() noexcept;

}  // namespace xg::detail
