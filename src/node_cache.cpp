// Op nodes kept from finished graphs (see node_cache.hpp for why).
#include "node_cache.hpp"

#include <new>
#include <vector>

#include "xgrad/memory.hpp"

namespace xg::detail {

namespace {

void destroy(Node* n) noexcept {
  n->~Node();  // unlinks any inputs left, iteratively
  PoolAllocator<Node>().deallocate(n, 1);
}

struct Kept {
  std::vector<Node*> free;   // ready for reuse, the most recently kept last
  std::vector<Node*> dying;  // last owner gone, waiting to be unlinked
  bool draining = false;
  // Nodes made by this thread to be kept, minus those it destroyed instead:
  // once kept_nodes are in circulation, further nodes are ordinary ones.
  long circulating = 0;
  Kept() {
    free.reserve(kept_nodes);  // keeping a node never allocates
    dying.reserve(64);
  }
  ~Kept();
};

// Nodes freed after this thread's Kept is destroyed (a Tensor in another
// thread_local or static object) are destroyed at once: a trivially
// destructible flag stays readable until the thread is gone.
thread_local bool t_kept_gone = false;
thread_local Kept t_kept;

Kept::~Kept() {
  t_kept_gone = true;
  for (Node* n : free) destroy(n);
  free.clear();
}

// Without xg::memory's cache (AddressSanitizer) every node is freed, so a
// use after free stays detectable.
bool keeps_nodes() {
  static const bool on = memory::caching_compiled_in();
  return on;
}

bool small_enough(const Node& n) {
  return n.value.size() <= kept_elements && n.grad.size() <= kept_elements;
}

// Drops everything the node points to: its edges, its rule (a closure may own
// tensors) and its gradient's graph. Nodes whose last owner this was come back
// to Recycle, which queues them in `dying` instead of recursing.
void unlink(Node& n) {
  for (auto& in : n.inputs) in.reset();
  n.inputs.clear();  // keeps the edge list's storage
  n.backward = nullptr;
  n.grad_graph.reset();
}

// An Array whose buffer does not match its shape: a move-assignment's source
// keeps its shape and loses its buffer (xtensor 0.24). A node taken back
// relies on "same shape, so nothing to allocate".
void drop_if_hollow(Array& a) {
  if (a.size() != xt::compute_size(a.shape())) a = Array();
}

// A leaf's flags; value, gradient and edge-list storage stay.
void reset_flags(Node& n) {
  n.has_grad = false;
  n.requires_grad = false;
  n.retain_grad = false;
  n.released = false;
  n.op = "leaf";
  n.mark = 0;
  n.step = Node::StepInBackward{};
}

bool has_shape(const Array& a, const std::size_t* dims, std::size_t rank) {
  const auto& s = a.shape();
  if (s.size() != rank) return false;
  for (std::size_t i = 0; i < rank; ++i)
    if (s[i] != dims[i]) return false;
  return true;
}

/// The deleter of acquire_node's nodes.
struct Recycle {
  void operator()(Node* n) const noexcept {
    if (t_kept_gone) return destroy(n);
    Kept& k = t_kept;
    if (k.draining) {  // freed while unlinking another node: queue it
      try {
        k.dying.push_back(n);
      } catch (...) {
        destroy(n);
      }
      return;
    }
    k.draining = true;
    for (;;) {
      unlink(*n);
      if (k.free.size() < kept_nodes && small_enough(*n)) {
        reset_flags(*n);
        drop_if_hollow(n->value);  // (grad_buffer checks a gradient's buffer itself)
        k.free.push_back(n);
      } else {
        destroy(n);
        --k.circulating;
      }
      if (k.dying.empty()) break;
      n = k.dying.back();
      k.dying.pop_back();
    }
    k.draining = false;
  }
};

}  // namespace

namespace {
std::shared_ptr<Node> ordinary_node(Array* value) {
  // (Constructed with its value: a default one would allocate, only to be freed.)
  return value != nullptr ? std::allocate_shared<Node>(PoolAllocator<Node>(), std::move(*value))
                          : std::allocate_shared<Node>(PoolAllocator<Node>());
}
}  // namespace

std::shared_ptr<Node> acquire_node(const std::size_t* dims, std::size_t rank, Array* value) {
  // An ordinary node is one block with its shared count: a kept one needs its
  // own, and a graph of thousands of them ran 1.4-2x slower per node
  // (docs/performance.md). So only kept_nodes of them circulate per thread.
  if (!keeps_nodes() || t_kept_gone) return ordinary_node(value);
  Kept& k = t_kept;
  Node* n = nullptr;
  if (!k.free.empty()) {
    std::vector<Node*>& f = k.free;
    std::size_t pick = f.size() - 1;
    if (dims != nullptr)
      for (std::size_t j = f.size(); j-- > 0;)
        if (has_shape(f[j]->value, dims, rank)) {
          pick = j;
          break;
        }
    n = f[pick];
    f.erase(f.begin() + static_cast<std::ptrdiff_t>(pick));
    if (value != nullptr) n->value = std::move(*value);
  } else if (k.circulating < static_cast<long>(kept_nodes)) {
    void* block = PoolAllocator<Node>().allocate(1);
    try {
      n = value != nullptr ? ::new (block) Node(std::move(*value)) : ::new (block) Node();
    } catch (...) {
      PoolAllocator<Node>().deallocate(static_cast<Node*>(block), 1);
      throw;
    }
    n->recycled = true;
    ++k.circulating;
  } else {
    return ordinary_node(value);
  }
  // (If the control block cannot be allocated, shared_ptr calls Recycle on n.)
  return std::shared_ptr<Node>(n, Recycle{}, PoolAllocator<Node>());
}

void release_kept_nodes() noexcept {
  if (t_kept_gone) return;
  for (Node* n : t_kept.free) destroy(n);
  t_kept.circulating -= static_cast<long>(t_kept.free.size());
  t_kept.free.clear();
}

std::size_t kept_node_count() noexcept { return t_kept_gone ? 0 : t_kept.free.size(); }

}  // namespace xg::detail

namespace xg {
void release_kept_nodes() noexcept { detail::release_kept_nodes(); }
}  // namespace xg
