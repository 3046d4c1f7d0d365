#pragma once
// A node's partition checkpoints (actors::PartitionCheckpoints) in an LMDB store of
// checkpoints only (persistence::StoreOptions::checkpoints_only): the directory
// `--data DIR`/partitions, one scope per partition ("partition/P"), each image written in
// parts (persistence::CheckpointWriter) and synced before put() returns. The epochs they
// are of are the coordinator's: its log, not this store, says which one the cluster
// restores (docs/CLUSTER.md, "Checkpoints").
//
// Thread-safety: every call takes one lock (the node's partition actors run on several
// threads); the store allows one writer at a time anyway.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "mgraph/actors/partitioned.hpp"
#include "mgraph/persistence/store.hpp"

namespace mgraph::node {

class LmdbPartitionCheckpoints final : public actors::PartitionCheckpoints {
 public:
  /// Opens (creating when missing) the store in `directory`; errors name it.
  static Result<std::shared_ptr<LmdbPartitionCheckpoints>> open(const std::string& directory);

  Status put(std::uint32_t partition, std::uint64_t epoch, std::string_view image,
             std::uint64_t keep_from) override;
  Result<std::optional<std::string>> get(std::uint32_t partition, std::uint64_t epoch) override;
  Status clear(std::uint32_t partition) override;

  /// The store's data file's size in bytes (0 when it cannot be read).
  std::uint64_t file_bytes() const;

 private:
  LmdbPartitionCheckpoints(std::unique_ptr<persistence::Store> store, std::string directory)
      : store_(std::move(store)), directory_(std::move(directory)) {}

  std::mutex mutex_;
  std::unique_ptr<persistence::Store> store_;
  std::string directory_;
};

}  // namespace mgraph::node
