#include "admin_server.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace mgraph::node {
namespace {

/// Longest command line the server reads.
constexpr std::size_t kCommandMax = 4096;
/// How long a connected client may take to send its command.
constexpr int kClientTimeoutMs = 5000;

Result<sockaddr_un> address_of(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return Status(StatusCode::invalid_argument,
                  "admin socket path must be 1 to " + std::to_string(sizeof addr.sun_path - 1) +
                      " bytes: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

Status errno_status(const std::string& what) {
  return Status(StatusCode::io_error, what + ": " + std::strerror(errno));
}

/// Reads one line (without its '\n') from `fd`, waiting at most the client timeout.
bool read_line(int fd, std::string* line) {
  line->clear();
  char c = 0;
  while (line->size() < kCommandMax) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, kClientTimeoutMs) <= 0) return false;
    const ssize_t got = ::read(fd, &c, 1);
    if (got <= 0) return !line->empty();
    if (c == '\n') return true;
    line->push_back(c);
  }
  return false;
}

void write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t put = ::write(fd, s.data() + done, s.size() - done);
    if (put <= 0) return;
    done += static_cast<std::size_t>(put);
  }
}

}  // namespace

Result<std::unique_ptr<AdminServer>> AdminServer::start(const std::string& path, Handler handle) {
  Result<sockaddr_un> addr = address_of(path);
  if (!addr.is_ok()) return addr.status();
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_status("admin socket");
  ::unlink(path.c_str());  // a socket left by a node that died
  // Only the node's user may connect: the socket is created 0600.
  const mode_t old = ::umask(0177);
  const int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
  ::umask(old);
  if (bound != 0 || ::listen(fd, 16) != 0) {
    Status s = errno_status("admin socket " + path);
    ::close(fd);
    return s;
  }
  return std::unique_ptr<AdminServer>(new AdminServer(path, fd, std::move(handle)));
}

AdminServer::AdminServer(std::string path, int fd, Handler handle)
    : path_(std::move(path)), fd_(fd), handle_(std::move(handle)) {
  thread_ = std::thread([this] { serve(); });
}

AdminServer::~AdminServer() {
  stopping_ = true;
  ::shutdown(fd_, SHUT_RDWR);
  thread_.join();
  ::close(fd_);
  ::unlink(path_.c_str());
}

void AdminServer::serve() {
  // One connection at a time, until the server is destroyed.
  while (!stopping_) {
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 200);
    if (ready <= 0 || stopping_) continue;
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::string command;
    if (read_line(client, &command)) write_all(client, handle_(command) + "\n");
    ::close(client);
  }
}

Result<std::string> admin_request(const std::string& path, const std::string& command) {
  Result<sockaddr_un> addr = address_of(path);
  if (!addr.is_ok()) return addr.status();
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_status("socket");
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    Status s = errno_status("cannot reach the node's admin socket " + path);
    ::close(fd);
    return s;
  }
  write_all(fd, command + "\n");
  std::string answer;
  char buf[4096];
  // Until the node closes the connection, bounded by the answer's size and a timeout.
  while (answer.size() < (1u << 20)) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, kClientTimeoutMs) <= 0) break;
    const ssize_t got = ::read(fd, buf, sizeof buf);
    if (got <= 0) break;
    answer.append(buf, static_cast<std::size_t>(got));
  }
  ::close(fd);
  while (!answer.empty() && answer.back() == '\n') answer.pop_back();
  if (answer.empty()) return Status(StatusCode::io_error, path + ": the node gave no answer");
  return answer;
}

}  // namespace mgraph::node
