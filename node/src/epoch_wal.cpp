#include "epoch_wal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "mgraph/graph/little_endian.hpp"
#include "mgraph/persistence/crc32c.hpp"

namespace mgraph::node {
namespace {

constexpr std::uint32_t kMagic = 0x4c57474d;  // "MGWL" read as little-endian bytes
/// Zeroes written at a time when the file is made.
constexpr std::size_t kFillChunk = std::size_t{1} << 20;

/// Writes all of `bytes` at `offset` (pwrite may write less than asked).
int write_all(int fd, const char* bytes, std::size_t size, off_t offset) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, bytes, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes += n;
    size -= static_cast<std::size_t>(n);
    offset += n;
  }
  return 0;
}

}  // namespace

std::size_t EpochWal::record_bytes(std::size_t batch_bytes) {
  return kEpochWalHeaderBytes + ((batch_bytes + 7) & ~std::size_t{7});
}

Result<std::unique_ptr<EpochWal>> EpochWal::open(const std::string& path, std::uint64_t store_id,
                                                 std::size_t capacity, Sync sync) {
  if (!sync) sync = [](int fd) { return ::fdatasync(fd) == 0 ? 0 : errno; };
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status(errno, path);
  std::unique_ptr<EpochWal> wal(new EpochWal(fd, path, store_id, capacity, std::move(sync)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_status(errno, path);
  if (!S_ISREG(st.st_mode))
    return Status(StatusCode::invalid_argument, path + ": not a regular file");
  if (static_cast<std::size_t>(st.st_size) < capacity) {
    // Zeroes, written, not only allocated: see the header.
    const std::string zeros(kFillChunk, '\0');
    for (std::size_t at = static_cast<std::size_t>(st.st_size); at < capacity; at += kFillChunk) {
      const std::size_t n = std::min(kFillChunk, capacity - at);
      if (int e = write_all(fd, zeros.data(), n, static_cast<off_t>(at)); e != 0)
        return errno_status(e, path);
    }
    if (::fsync(fd) != 0) return errno_status(errno, path);
    // The file's name lasts too: records synced into a file an OS crash unnames are lost.
    const std::string parent = std::filesystem::path(path).parent_path().string();
    const int dir =
        ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return errno_status(errno, parent);
    const int synced = ::fsync(dir) == 0 ? 0 : errno;
    ::close(dir);
    if (synced != 0) return errno_status(synced, parent);
  } else {
    wal->capacity_ = static_cast<std::size_t>(st.st_size);
  }
  return wal;
}

EpochWal::~EpochWal() { ::close(fd_); }

Result<std::vector<WalEntry>> EpochWal::read() const {
  // The whole file at once (read only when the log opens).
  std::string file(capacity_, '\0');
  std::size_t got = 0;
  while (got < file.size()) {
    const ssize_t n = ::pread(fd_, file.data() + got, file.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status(errno, path_);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  std::vector<WalEntry> out;
  std::size_t at = 0;
  // Each pass takes one record and moves past it: bounded by the file's size.
  while (at + kEpochWalHeaderBytes <= got) {
    const char* h = file.data() + at;
    if (get_le32(h) != kMagic || get_le64(h + 8) != store_id_) break;
    const std::uint64_t epoch = get_le64(h + 16);
    const std::uint32_t size = get_le32(h + 32);
    if (epoch == 0 || (!out.empty() && epoch <= out.back().epoch)) break;
    if (size > got || at + record_bytes(size) > got) break;
    const char* batch = h + kEpochWalHeaderBytes;
    std::uint32_t crc = persistence::crc32c_extend(0, h + 8, kEpochWalHeaderBytes - 8);
    crc = persistence::crc32c_extend(crc, batch, size);
    if (persistence::crc32c_mask(crc) != get_le32(h + 4)) break;
    out.push_back(WalEntry{epoch, get_le64(h + 24), std::string(batch, size)});
    at += record_bytes(size);
  }
  return out;
}

Status EpochWal::append(const std::vector<std::pair<codec::Epoch, std::string_view>>& epochs,
                        std::uint64_t time_ns) {
  if (broken_)
    return Status(StatusCode::io_error, path_ + ": a failed write could not be unwritten");
  std::size_t bytes = 0;
  for (const auto& [epoch, batch] : epochs) bytes += record_bytes(batch.size());
  if (!fits(bytes)) return Status(StatusCode::out_of_range, path_ + ": full");
  buffer_.assign(bytes, '\0');
  std::size_t at = 0;
  for (const auto& [epoch, batch] : epochs) {
    put_le32(buffer_.data() + at, kMagic);
    put_le64(buffer_.data() + at + 8, store_id_);
    put_le64(buffer_.data() + at + 16, epoch);
    put_le64(buffer_.data() + at + 24, time_ns);
    put_le32(buffer_.data() + at + 32, static_cast<std::uint32_t>(batch.size()));
    std::memcpy(buffer_.data() + at + kEpochWalHeaderBytes, batch.data(), batch.size());
    std::uint32_t crc =
        persistence::crc32c_extend(0, buffer_.data() + at + 8, kEpochWalHeaderBytes - 8);
    crc = persistence::crc32c_extend(crc, batch.data(), batch.size());
    put_le32(buffer_.data() + at + 4, persistence::crc32c_mask(crc));
    at += record_bytes(batch.size());
  }
  int error = write_all(fd_, buffer_.data(), buffer_.size(), static_cast<off_t>(used_));
  if (error == 0) error = sync_(fd_);
  if (error == 0) {
    used_ += bytes;
    return Status::ok();
  }
  // Unwritten: a zero magic ends the reading before these records.
  const std::string zeros(kEpochWalHeaderBytes, '\0');
  if (write_all(fd_, zeros.data(), zeros.size(), static_cast<off_t>(used_)) != 0 || sync_(fd_) != 0)
    broken_ = true;
  return errno_status(error, path_ + ": cannot log epochs " + std::to_string(epochs.front().first) + "-" +
                                 std::to_string(epochs.back().first));
}

}  // namespace mgraph::node
