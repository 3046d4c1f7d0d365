#include "lmdb_partition_checkpoints.hpp"

#include <filesystem>
#include <limits>

#include "mgraph/persistence/checkpoint_writer.hpp"

namespace mgraph::node {
namespace {

std::string scope_of(std::uint32_t partition) { return "partition/" + std::to_string(partition); }

Status named(const std::string& directory, const Status& s) {
  return s.is_ok() ? s : Status(s.code(), directory + ": " + s.message());
}

}  // namespace

Result<std::shared_ptr<LmdbPartitionCheckpoints>> LmdbPartitionCheckpoints::open(const std::string& directory) {
  persistence::StoreOptions options;
  options.durability = persistence::Durability::sync;
  options.create_if_missing = true;
  options.checkpoints_only = true;
  Result<std::unique_ptr<persistence::Store>> store = persistence::Store::open(directory, options);
  if (!store.is_ok()) return Status(store.status().code(), directory + ": " + store.status().message());
  return std::shared_ptr<LmdbPartitionCheckpoints>(
      new LmdbPartitionCheckpoints(std::move(store).value(), directory));
}

Status LmdbPartitionCheckpoints::put(std::uint32_t partition, std::uint64_t epoch, std::string_view image,
                                     std::uint64_t keep_from) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string scope = scope_of(partition);
  Result<persistence::CheckpointWriter> writer = persistence::CheckpointWriter::begin(*store_, scope, epoch);
  if (!writer.is_ok()) return named(directory_, writer.status());
  if (Status s = writer->append(image); !s.is_ok()) return named(directory_, s);
  if (Status s = writer->finish(); !s.is_ok()) return named(directory_, s);
  return named(directory_, store_->drop_checkpoints_before(scope, keep_from));
}

Result<std::optional<std::string>> LmdbPartitionCheckpoints::get(std::uint32_t partition, std::uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mutex_);
  Result<std::optional<persistence::Checkpoint>> found = store_->checkpoint_at(scope_of(partition), epoch);
  if (!found.is_ok()) return named(directory_, found.status());
  if (!found->has_value()) return std::optional<std::string>();
  return std::optional<std::string>(std::move((*found)->state));
}

Status LmdbPartitionCheckpoints::clear(std::uint32_t partition) {
  std::lock_guard<std::mutex> lock(mutex_);
  return named(directory_,
               store_->drop_checkpoints_before(scope_of(partition), std::numeric_limits<std::uint64_t>::max()));
}

std::uint64_t LmdbPartitionCheckpoints::file_bytes() const {
  std::error_code ec;
  const std::uintmax_t bytes = std::filesystem::file_size(std::filesystem::path(directory_) / "data.mdb", ec);
  return ec ? 0 : static_cast<std::uint64_t>(bytes);
}

}  // namespace mgraph::node
