#pragma once
// The one schema that the image fuzz target (image_fuzz.cpp) imports every input into,
// and the sessions over it whose images seed its corpus (image_seeds.cpp). Shared so
// that the seeds always match the schema: an image of another schema stops at the shape
// check, and the fuzzer would have to guess a 64-bit fingerprint to get past it.
//
// The schema has what a session image can hold: entities with many-relations (one of
// them many-to-many), count, sum, min and max aggregates (min/max keep multisets in the
// Store), effects, a cycle group (keep flags) and lazy fields (stale after a commit).

#include <cstddef>
#include <string_view>

namespace mgraph::fuzz {

inline constexpr std::string_view kImageSchemaName = "image_fuzz.mgs";

inline constexpr std::string_view kImageSchema = R"(
entity Order {
  discount: float = 0
  items: many Item via order
  tags: many Tag via many orders
  n: int = count(items)
  qty: int = sum(items[*].qty)
  subtotal: float = sum(items[*].price)
  cheapest: float = min(items[*].price)
  dearest: float = max(items[*].price)
  total: float = subtotal * (1 - discount)
  big: bool = total > 100
  label: string = if big then "big" else "small"  @lazy
  doubled: float = total * 2  @lazy
  effect shipped: counter when big
  effect alert: bool when total > 500 @on_completion
}
entity Item {
  price: float = 0
  qty: int = 1
  start: float = 0
  end: float = 10
  duration: float = 10
  cycle schedule(start, end, duration) {
    start = end - duration
    end = start + duration  @default
    duration = end - start
  }
  late: bool = end > 20
  line: float = price * qty
}
entity Tag {
  weight: float = 1
  heaviest: float = max(orders[*].total)
  lightest: float = min(orders[*].total)
}
)";

/// Committed revisions a session keeps, in the seeds and in the target alike.
inline constexpr std::size_t kImageHistoryLimit = 8;

}  // namespace mgraph::fuzz
