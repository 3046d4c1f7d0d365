// DirectoryLock: flock(2) on DIR/mgraph.lock, the holder's pid inside.

#include "mgraph/persistence/directory_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mgraph::persistence {
namespace {

constexpr unsigned int file_mode = 0644;
constexpr unsigned int directory_mode = 0755;
/// Bytes of the lock file read to name the holder: a pid and a newline.
constexpr std::size_t holder_bytes_max = 32;

/// The pid the holder wrote into the lock file, or "" when it has not yet (or not a pid).
std::string holder_of(int fd) {
  char buf[holder_bytes_max] = {};
  const ssize_t got = ::pread(fd, buf, sizeof buf - 1, 0);
  if (got <= 0) return {};
  std::string pid(buf, static_cast<std::size_t>(got));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == '\0')) pid.pop_back();
  if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) return {};
  return pid;
}

/// Replaces the file's content by this process's pid.
Status write_pid(int fd, const std::string& path) {
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0) return errno_status(errno, "ftruncate " + path);
  const ssize_t put = ::pwrite(fd, pid.data(), pid.size(), 0);
  if (put != static_cast<ssize_t>(pid.size())) {
    return errno_status(put < 0 ? errno : EIO, "write " + path);
  }
  return Status::ok();
}

}  // namespace

Result<DirectoryLock> DirectoryLock::acquire(const std::string& directory) {
  if (directory.empty()) return Status(StatusCode::invalid_argument, "store directory is empty");
  if (::mkdir(directory.c_str(), directory_mode) != 0 && errno != EEXIST) {
    return errno_status(errno, "mkdir " + directory);
  }
  std::string path = directory + "/" + directory_lock_file;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, file_mode);
  if (fd < 0) {
    if (errno == ENOTDIR) {
      return Status(StatusCode::invalid_argument, directory + ": not a directory");
    }
    return errno_status(errno, "open " + path);
  }
  DirectoryLock lock(fd, std::move(path));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return errno_status(errno, "flock " + lock.path_);
    const std::string holder = holder_of(fd);
    return Status(StatusCode::failed_precondition,
                  directory + " is in use by " +
                      (holder.empty() ? std::string("another process") : "process " + holder) +
                      " (it holds " + lock.path_ +
                      "); one process at a time may use a store directory");
  }
  if (Status s = write_pid(fd, lock.path_); !s.is_ok()) return s;
  return lock;
}

DirectoryLock& DirectoryLock::operator=(DirectoryLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace mgraph::persistence
