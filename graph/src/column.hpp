#pragma once
// Storage of the per-node columns and the edge arena: a std::vector whose large buffers
// sit on transparent huge pages.
//
// A commit on a big graph touches a few scattered nodes, each in several columns; with
// 4 KiB pages every such access is a TLB miss as well as a cache miss (a page walk that
// may miss the cache itself). A column of at least kHugeColumnBytes is allocated on a
// 2 MiB boundary, in whole 2 MiB units, and advised MADV_HUGEPAGE before anything touches
// it, so that the kernel backs it with huge pages when it can (Linux with transparent huge
// pages "madvise" or "always"); a TLB entry then covers 2 MiB instead of 4 KiB
// (DECISIONS.md "Engine locality"). Smaller columns come from operator new as before: a
// graph that fits in the cache gains nothing, and a 2 MiB unit would waste memory there.
// Where the advice is refused or unknown, the buffer is an ordinary one.

#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace mgraph {

/// Columns (and edge arenas) at least this large go on huge pages.
inline constexpr std::size_t kHugeColumnBytes = std::size_t{4} << 20;
/// The huge page size the allocation is aligned and rounded to.
inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

template <class T>
struct ColumnAllocator {
  using value_type = T;

  ColumnAllocator() = default;
  template <class U>
  ColumnAllocator(const ColumnAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugeColumnBytes) {
      if constexpr (alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
        return static_cast<T*>(::operator new(bytes, std::align_val_t{alignof(T)}));
      } else {
        return static_cast<T*>(::operator new(bytes));
      }
    }
    static_assert(kHugePageBytes % alignof(T) == 0);
    const std::size_t rounded = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    void* p = std::aligned_alloc(kHugePageBytes, rounded);
    if (p == nullptr) throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
    (void)madvise(p, rounded, MADV_HUGEPAGE);  // advice: an ordinary buffer if refused
#endif
    return static_cast<T*>(p);
  }

  void deallocate(T* p, std::size_t n) noexcept {
    // `n` is what allocate() was given, so it picks the same branch.
    if (n * sizeof(T) < kHugeColumnBytes) {
      if constexpr (alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
        ::operator delete(p, std::align_val_t{alignof(T)});
      } else {
        ::operator delete(p);
      }
    } else {
      std::free(p);
    }
  }

  friend bool operator==(const ColumnAllocator&, const ColumnAllocator&) { return true; }
};

/// A per-node column (GraphState) or the edge arena's entries.
template <class T>
using Column = std::vector<T, ColumnAllocator<T>>;

}  // namespace mgraph
