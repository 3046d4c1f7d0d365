#pragma once
// Storage for all dependency and dependent lists of a graph in one array.
//
// Each list is a block of power-of-two capacity inside `data_`; a node keeps only a
// Span (offset, count, capacity class). Freed blocks go to a free list per class and
// are reused, so no list ever owns a heap allocation of its own.

#include <cstdint>
#include <span>
#include <vector>

#include "mgraph/graph/assert.hpp"
#include "mgraph/graph/graph.hpp"

namespace mgraph {

struct Span {
  std::uint32_t offset = 0;
  std::uint32_t count : 27 = 0;
  std::uint32_t cls : 5 = 0;  ///< capacity is 1 << cls when count > 0
};
static_assert(sizeof(Span) == 8);

class EdgeArena {
 public:
  /// Entries one list can hold.
  static constexpr std::uint32_t list_max = (1u << 27) - 1;

  std::span<const NodeId> get(Span s) const { return {data_.data() + s.offset, s.count}; }
  std::span<NodeId> get_mut(Span s) { return {data_.data() + s.offset, s.count}; }

  void push_back(Span& s, NodeId id) {
    MG_ASSERT(s.count < list_max);
    if (s.count == 0 || s.count == (1u << s.cls)) grow(s);
    data_[s.offset + s.count] = id;
    s.count = s.count + 1;
  }

  /// Removes one occurrence of `id` (order is not kept). REQUIRES: present.
  void remove_one(Span& s, NodeId id);
  /// Replaces the list with `ids`.
  void assign(Span& s, std::span<const NodeId> ids);
  void reserve(std::size_t entries) { data_.reserve(entries); }
  std::size_t bytes() const;

 private:
  void grow(Span& s);
  std::uint32_t allocate(std::uint32_t cls);
  void release(std::uint32_t offset, std::uint32_t cls);

  std::vector<NodeId> data_;
  std::vector<std::uint32_t> free_[28];
};

}  // namespace mgraph
