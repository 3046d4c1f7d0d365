#pragma once
// A Store's state as plain data (see image.hpp for the Graph's part): what a checkpoint
// of an embedded schema session keeps. A Store of the same schema rebuilds the records'
// nodes from `records`, then takes the rest back.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mgraph/graph/image.hpp"

namespace mgraph::schema {

using RecordId = std::uint64_t;

/// A journaled change to Store-side state (memberships, min/max multisets).
struct StoreOpImage {
  bool membership = true;  ///< else a min/max multiset
  bool insert = true;
  RecordId record = 0;
  std::uint32_t index = 0;  ///< relation or aggregate index
  RecordId other = 0;       ///< membership
  double value = 0;         ///< multiset
};

struct RecordImage {
  std::uint32_t entity = 0;
  NodeId base = kNoNode;  ///< kNoNode: its creation failed
  bool has_collections = false;
  std::vector<std::vector<RecordId>> members;  ///< by relation index (many only)
  std::vector<std::vector<std::pair<double, std::uint32_t>>> bags;  ///< by aggregate (min/max)
};

struct StoreImage {
  std::vector<RecordImage> records;  ///< record id - 1
  std::vector<std::uint64_t> versions;
  std::vector<std::vector<StoreOpImage>> undo;  ///< oldest first
  std::vector<std::vector<StoreOpImage>> redo;
  GraphImage graph;
};

/// A script session: its Store and the record aliases its lines named.
struct RunnerImage {
  StoreImage store;
  std::vector<std::pair<std::string, RecordId>> aliases;
};

}  // namespace mgraph::schema
