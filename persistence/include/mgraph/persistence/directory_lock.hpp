#pragma once
// DirectoryLock: one process at a time in a store directory.
//
// LMDB lets several processes open one environment, but a store has one writer by design
// (the epoch sequence, the session's replayed state): a second process would diverge from
// the first and fail at its first commit. The lock is an flock(2) on DIR/mgraph.lock,
// which the kernel drops when its holder exits, however it exits; the holder's pid is
// written inside so that a refused process can name it.

#include <string>

#include "mgraph/graph/status.hpp"

namespace mgraph::persistence {

/// Name of the lock file inside a store directory.
inline constexpr const char* directory_lock_file = "mgraph.lock";

/// Held while it lives; move-only. Thread-safety: none.
class DirectoryLock {
 public:
  /// Creates `directory` when missing (its parent must exist), then takes its lock without
  /// waiting. Fails with failed_precondition "DIR is in use by process PID" when another
  /// holder (another process, or another DirectoryLock of this one) has it.
  static Result<DirectoryLock> acquire(const std::string& directory);

  DirectoryLock(DirectoryLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
    other.fd_ = -1;
  }
  DirectoryLock& operator=(DirectoryLock&& other) noexcept;
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  /// Releases the lock; the file stays (removing it would race with a new holder).
  ~DirectoryLock();

  /// DIR/mgraph.lock.
  const std::string& path() const { return path_; }

 private:
  DirectoryLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  int fd_ = -1;
  std::string path_;
};

}  // namespace mgraph::persistence
