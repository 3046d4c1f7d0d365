#include "edge_arena.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace mgraph {

std::uint32_t EdgeArena::allocate(std::uint32_t cls) {
  auto& free = free_[cls];
  if (!free.empty()) {
    std::uint32_t offset = free.back();
    free.pop_back();
    return offset;
  }
  const std::size_t offset = data_.size();
  MG_ASSERT_MSG(offset + (std::size_t{1} << cls) <= UINT32_MAX, "edge arena exceeds 2^32 entries");
  data_.resize(offset + (std::size_t{1} << cls));
  return static_cast<std::uint32_t>(offset);
}

void EdgeArena::release(std::uint32_t offset, std::uint32_t cls) { free_[cls].push_back(offset); }

void EdgeArena::grow(Span& s) {
  const std::uint32_t cls = s.count == 0 ? 0 : s.cls + 1;
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
  const bool fits = n == 0 ? false : (s.count > 0 && n <= (1u << s.cls));
  if (!fits) {
    if (s.count > 0) release(s.offset, s.cls);
    s = Span{};
    if (n > 0) {
      const auto cls = static_cast<std::uint32_t>(std::bit_width(std::bit_ceil(n)) - 1);
      s.offset = allocate(cls);
      s.cls = cls;
    }
  }
  if (n > 0) std::memmove(data_.data() + s.offset, ids.data(), n * sizeof(NodeId));
  s.count = n;
}

std::size_t EdgeArena::bytes() const {
  std::size_t total = data_.capacity() * sizeof(NodeId);
  for (const auto& f : free_) total += f.capacity() * sizeof(std::uint32_t);
  return total;
}

}  // namespace mgraph
