#pragma once
// What a subscription names (docs/CLUSTER.md, "Subscriptions"; actors/watch.hpp): a field
// of one record, "Entity#N.field", or every field of an entity, "Entity". Parsed alike by
// the client (mgraph watch) and the cluster.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mgraph/graph/status.hpp"

namespace mgraph::codec {

/// Names one subscription may watch: a subscriber follows a handful of fields or entities;
/// the bound keeps each epoch's filtering small.
inline constexpr std::size_t kWatchTargetsMax = 256;

/// What a subscription names: a field of one record, or every field of every record of an
/// entity (record 0).
struct WatchTarget {
  std::string entity;
  std::uint64_t record = 0;
  std::string field;
  friend bool operator==(const WatchTarget&, const WatchTarget&) = default;
};
/// A field the compiler adds to an entity (`risk@request`, `risk@done`, the global
/// `@clock`): its name has an '@', which no declared name has. A subscription never sees
/// one: it follows what the schema declares, and the partitions do not report them.
inline bool hidden_field(std::string_view name) { return name.find('@') != std::string_view::npos; }

/// "Entity#N.field" or "Entity"; invalid_argument otherwise, and for a hidden field.
Result<WatchTarget> parse_watch_target(std::string_view text);
Result<std::vector<WatchTarget>> parse_watch_targets(const std::vector<std::string>& texts);

}  // namespace mgraph::codec
