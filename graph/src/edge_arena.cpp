#include "edge_arena.hpp"

#include <algorithm>
#include <cstring>

namespace mgraph {

const std::array<std::uint32_t, EdgeArena::kClasses>& EdgeArena::class_capacity() {
  static const std::array<std::uint32_t, kClasses> table = [] {
    std::array<std::uint32_t, kClasses> t{};
    std::uint64_t cap = 0;
    for (std::size_t i = 0; i < kClasses; ++i) {
      cap = i < 16 ? i + 1 : std::min<std::uint64_t>((cap * 5 + 3) / 4, list_max);
      t[i] = static_cast<std::uint32_t>(cap);
    }
    MG_ASSERT(t[kClasses - 1] == list_max);
    return t;
  }();
  return table;
}

std::uint32_t EdgeArena::class_for(std::uint32_t n) {
  MG_ASSERT(n >= 1 && n <= list_max);
  if (n <= 16) return n - 1;
  const auto& t = class_capacity();
  return static_cast<std::uint32_t>(std::lower_bound(t.begin() + 16, t.end(), n) - t.begin());
}

std::uint32_t EdgeArena::allocate(std::uint32_t cls) {
  auto& free = free_[cls];
  if (!free.empty()) {
    const std::uint32_t offset = free.back();
    free.pop_back();
    return offset;
  }
  const std::size_t offset = data_.size();
  const std::size_t cap = class_capacity()[cls];
  MG_ASSERT_MSG(offset + cap <= UINT32_MAX, "edge arena exceeds 2^32 entries");
  data_.resize(offset + cap);
  return static_cast<std::uint32_t>(offset);
}

void EdgeArena::release(std::uint32_t offset, std::uint32_t cls) { free_[cls].push_back(offset); }

void EdgeArena::grow(Span& s) {
  // Small lists grow one entry at a time (exact fit); larger ones by a class (~1.25x).
  const std::uint32_t cls = s.count == 0 ? 0 : s.cls + 1;
  MG_ASSERT(cls < kClasses);
  const std::uint32_t offset = allocate(cls);
  if (s.count > 0) {
    std::memmove(data_.data() + offset, data_.data() + s.offset, s.count * sizeof(NodeId));
    release(s.offset, s.cls);
  }
  s.offset = offset;
  s.cls = cls;
}

void EdgeArena::remove_one(Span& s, NodeId id) {
  NodeId* begin = data_.data() + s.offset;
  NodeId* end = begin + s.count;
  NodeId* it = std::find(begin, end, id);
  MG_ASSERT(it != end);
  *it = *(end - 1);
  s.count = s.count - 1;
  if (s.count == 0) {
    release(s.offset, s.cls);
    s.offset = 0;
    s.cls = 0;
  }
}

void EdgeArena::assign(Span& s, std::span<const NodeId> ids) {
  MG_ASSERT(ids.size() <= list_max);
  const auto n = static_cast<std::uint32_t>(ids.size());
  if (s.count > 0) release(s.offset, s.cls);
  s = Span{};
  if (n == 0) return;
  s.cls = class_for(n);
  s.offset = allocate(s.cls);
  std::memcpy(data_.data() + s.offset, ids.data(), n * sizeof(NodeId));
  s.count = n;
}

std::size_t EdgeArena::bytes() const {
  std::size_t total = data_.capacity() * sizeof(NodeId);
  for (const auto& f : free_) total += f.capacity() * sizeof(std::uint32_t);
  return total;
}

}  // namespace mgraph
