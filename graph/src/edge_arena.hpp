#pragma once
// Storage for all dependency and dependent lists of a graph in one array.
//
// Each list is a block inside `data_` whose capacity comes from a fixed table of size
// classes: exact sizes up to 16, then steps of about 1.25x. A node keeps only a Span
// (offset, count, class). Freed blocks go to a free list per class and are reused, so
// no list owns a heap allocation, and a list wastes at most a quarter of its block.

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "column.hpp"
#include "mgraph/graph/assert.hpp"
#include "mgraph/graph/graph.hpp"

namespace mgraph {

struct Span {
  std::uint32_t offset = 0;
  std::uint32_t count : 25 = 0;
  std::uint32_t cls : 7 = 0;  ///< capacity is kClassCapacity[cls] when count > 0
};
static_assert(sizeof(Span) == 8);

class EdgeArena {
 public:
  /// Entries one list can hold (a node read by more than this many fields).
  static constexpr std::uint32_t list_max = (1u << 25) - 1;
  static constexpr std::size_t kClasses = 96;

  static const std::array<std::uint32_t, kClasses>& class_capacity();
  /// The smallest class holding `n` entries. REQUIRES: 1 <= n <= list_max.
  static std::uint32_t class_for(std::uint32_t n);

  std::span<const NodeId> get(Span s) const { return {data_.data() + s.offset, s.count}; }
  std::span<NodeId> get_mut(Span s) { return {data_.data() + s.offset, s.count}; }
  /// Entry `s.offset + k` is entry k of list `s`; valid until the arena changes.
  const NodeId* data() const { return data_.data(); }

  void push_back(Span& s, NodeId id) {
    MG_ASSERT(s.count < list_max);
    if (s.count == 0 || s.count == class_capacity()[s.cls]) grow(s);
    data_[s.offset + s.count] = id;
    s.count = s.count + 1;
  }

  /// Removes one occurrence of `id` (order is not kept). REQUIRES: present.
  void remove_one(Span& s, NodeId id);
  /// Replaces the list with `ids`, in a block of exactly fitting class.
  /// REQUIRES: `ids` does not point into this arena.
  void assign(Span& s, std::span<const NodeId> ids);
  void reserve(std::size_t entries) { data_.reserve(entries); }
  void shrink_to_fit() { data_.shrink_to_fit(); }
  std::size_t bytes() const;

 private:
  void grow(Span& s);
  std::uint32_t allocate(std::uint32_t cls);
  void release(std::uint32_t offset, std::uint32_t cls);

  Column<NodeId> data_;  // on huge pages when large (column.hpp)
  std::array<std::vector<std::uint32_t>, kClasses> free_;
};

}  // namespace mgraph
