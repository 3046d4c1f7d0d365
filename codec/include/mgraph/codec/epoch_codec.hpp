#pragma once
// Messages of the epoch protocol (docs/EPOCHS.md) and their bytes: a Cap'n Proto message
// (codec/schema/epoch.capnp) after an 8-byte prefix, "MGEP" and the format version. The
// same bytes travel between actors in one process and between nodes. Decoding bounds the
// reader and validates every value and enum; bad bytes give a Status, never a crash.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mgraph/graph/status.hpp"
#include "mgraph/graph/value.hpp"

namespace mgraph::codec {

using FieldId = std::uint64_t;  ///< a field's cluster-wide id
using PartitionId = std::uint32_t;
using Epoch = std::uint64_t;
inline constexpr PartitionId kCoordinator = ~PartitionId{0};

inline constexpr std::uint32_t kEpochFormatVersion = 1;

enum class MessageKind : std::uint8_t { begin, mark, compute, resolve, idle, commit, abort };
const char* message_kind_name(MessageKind kind);

struct FieldWrite {
  FieldId field = 0;
  Value value;
  friend bool operator==(const FieldWrite&, const FieldWrite&) = default;
};

struct FieldResolution {
  FieldId field = 0;
  bool changed = false;
  Value value;  ///< when changed
  friend bool operator==(const FieldResolution&, const FieldResolution&) = default;
};

/// Everything the protocol sends. Which members are used depends on `kind`.
struct EpochMessage {
  MessageKind kind = MessageKind::begin;
  Epoch epoch = 0;
  PartitionId from = kCoordinator;
  PartitionId to = kCoordinator;
  std::vector<FieldWrite> writes;            ///< begin
  std::vector<FieldId> fields;               ///< mark: remote fields now stale
  std::vector<FieldResolution> resolutions;  ///< resolve
  std::vector<std::uint32_t> credit;         ///< shares 2^-k, by exponent k
  std::string reason;                        ///< abort, and idle after a failure
  friend bool operator==(const EpochMessage&, const EpochMessage&) = default;
};

/// Fails (out_of_range) only on a list longer than the format holds (2^29 - 1).
Result<std::string> encode_epoch_message(const EpochMessage& message);
Result<EpochMessage> decode_epoch_message(std::string_view bytes);

}  // namespace mgraph::codec
