#include "admin_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace mgraph::node {
namespace {

using Clock = std::chrono::steady_clock;

/// How long mgraphctl waits for the whole answer: the node answers or closes within
/// admin_request_deadline; the rest is margin for a loaded host.
constexpr std::chrono::milliseconds answer_wait_max{5000};
/// Pending connections the kernel queues while the server is busy with others.
constexpr int listen_backlog_max = 16;

/// Closes a file descriptor when it goes out of scope, unless released.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

/// One connection being served.
struct Client {
  int fd;
  Clock::time_point deadline;  ///< computed once, when it was accepted
  std::string line;            ///< what it sent so far, without the '\n'
};

Result<sockaddr_un> address_of(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return Status(StatusCode::invalid_argument, "admin socket path must be 1 to " +
                                                    std::to_string(sizeof addr.sun_path - 1) +
                                                    " bytes: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

Status errno_status(const std::string& what) {
  return Status(StatusCode::io_error, what + ": " + std::strerror(errno));
}

Status served_elsewhere(const std::string& path) {
  return Status(StatusCode::io_error,
                "admin socket " + path + " is served by another process; not replacing it");
}

/// Sends all of `s`, without SIGPIPE when the peer has gone; false when it could not.
bool send_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t put = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    if (put <= 0) return false;
    done += static_cast<std::size_t>(put);
  }
  return true;
}

/// Answers a client and ends its connection. A client that has gone is no error.
void answer_and_close(int fd, const std::string& answer) {
  // Blocking from here, bounded by a send timeout: an answer larger than the socket's
  // buffer (a dot graph) goes out whole while mgraphctl reads it, and a client that does
  // not read costs at most admin_answer_send_timeout.
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) (void)::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  const auto ms = admin_answer_send_timeout.count();
  const timeval limit{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  (void)send_all(fd, answer + "\n");
  ::close(fd);
}

/// Takes PATH.lock (flock), held while the server lives: checking PATH and replacing a
/// stale socket is then race-free between nodes given the same path. The lock file stays
/// when the node stops: removing it would let two nodes lock two different files.
Result<int> lock_path(const std::string& path) {
  const std::string lock = path + ".lock";
  Fd fd{::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)};
  if (fd.fd < 0) return errno_status("admin socket lock file " + lock);
  if (::flock(fd.fd, LOCK_EX | LOCK_NB) != 0) {
    return errno == EWOULDBLOCK ? served_elsewhere(path) : errno_status("flock " + lock);
  }
  return fd.release();
}

/// Refuses `path` when something other than a socket is there (a file, a directory, a
/// link: the user's); *exists says whether anything is.
Status refuse_foreign(const std::string& path, bool* exists) {
  struct stat st {};
  *exists = ::lstat(path.c_str(), &st) == 0;
  if (!*exists) return errno == ENOENT ? Status::ok() : errno_status("admin socket " + path);
  if (S_ISSOCK(st.st_mode)) return Status::ok();
  return Status(StatusCode::invalid_argument,
                "admin socket " + path + " exists and is not a socket; not replacing it");
}

/// Makes `path` free to bind: nothing there, or a socket nobody serves (a node that died
/// left it; removed). A socket that accepts a connection is another process's. Call with
/// PATH.lock held.
Status clear_path(const std::string& path, const sockaddr_un& addr) {
  bool exists = false;
  if (Status s = refuse_foreign(path, &exists); !s.is_ok() || !exists) return s;
  const Fd probe{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (probe.fd < 0) return errno_status("admin socket probe");
  // EAGAIN: a listener whose queue is full, also a live one.
  if (::connect(probe.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 ||
      errno == EAGAIN) {
    return served_elsewhere(path);
  }
  if (errno != ECONNREFUSED) return errno_status("admin socket " + path);
  if (::unlink(path.c_str()) != 0) return errno_status("cannot remove stale socket " + path);
  return Status::ok();
}

/// A socket bound to `path` (created 0600: only the node's user may connect), listening.
Result<int> listen_on(const std::string& path, const sockaddr_un& addr) {
  Fd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (fd.fd < 0) return errno_status("admin socket");
  const mode_t old = ::umask(0177);
  const int bound = ::bind(fd.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (bound != 0 || ::listen(fd.fd, listen_backlog_max) != 0) {
    return errno_status("admin socket " + path);
  }
  return fd.release();
}

/// Reads what `c` sent; true when its connection is done with (answered, or gone).
/// A line without '\n' when the client stops sending is still answered.
bool receive(Client& c, const AdminServer::Handler& handle) {
  char buf[4096];
  const ssize_t got = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
  if (got < 0) {
    if (errno == EAGAIN || errno == EINTR) return false;
    ::close(c.fd);
    return true;
  }
  const char* end = std::find(buf, buf + got, '\n');
  c.line.append(buf, static_cast<std::size_t>(end - buf));
  if (c.line.size() > admin_command_max) {
    answer_and_close(
        c.fd, error_answer("command longer than " + std::to_string(admin_command_max) + " bytes"));
  } else if (end != buf + got || (got == 0 && !c.line.empty())) {
    answer_and_close(c.fd, handle(c.line));
  } else if (got == 0) {
    ::close(c.fd);
  } else {
    return false;
  }
  return true;
}

/// Milliseconds until the earliest deadline (rounded up), or -1 (none) without clients.
int wait_ms(const std::vector<Client>& clients, Clock::time_point now) {
  if (clients.empty()) return -1;
  Clock::time_point first = clients.front().deadline;
  for (const Client& c : clients) first = std::min(first, c.deadline);
  return static_cast<int>(
      std::max<std::int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(first - now).count()));
}

}  // namespace

std::string error_answer(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);
}

Result<std::unique_ptr<AdminServer>> AdminServer::start(const std::string& path, Handler handle) {
  Result<sockaddr_un> addr = address_of(path);
  if (!addr.is_ok()) return addr.status();
  bool exists = false;  // checked again with the lock held; here so a refusal leaves no lock
  if (Status s = refuse_foreign(path, &exists); !s.is_ok()) return s;
  Result<int> locked = lock_path(path);
  if (!locked.is_ok()) return locked.status();
  Fd lock{*locked};
  if (Status cleared = clear_path(path, *addr); !cleared.is_ok()) return cleared;
  Result<int> listening = listen_on(path, *addr);
  if (!listening.is_ok()) return listening.status();
  Fd fd{*listening};
  auto server = std::unique_ptr<AdminServer>(
      new AdminServer(path, fd.release(), lock.release(), std::move(handle)));
  if (server->wake_[0] < 0) return errno_status("admin socket pipe");
  return server;
}

AdminServer::AdminServer(std::string path, int fd, int lock_fd, Handler handle)
    : path_(std::move(path)), fd_(fd), lock_fd_(lock_fd), handle_(std::move(handle)) {
  if (::pipe2(wake_, O_CLOEXEC) != 0) return;  // start() reports it; no thread to stop
  thread_ = std::thread([this] { serve(); });
}

AdminServer::~AdminServer() {
  if (thread_.joinable()) {
    const char stop = 1;
    [[maybe_unused]] const ssize_t woken = ::write(wake_[1], &stop, 1);
    thread_.join();
  }
  for (const int pipe_end : wake_) {
    if (pipe_end >= 0) ::close(pipe_end);
  }
  ::close(fd_);
  ::unlink(path_.c_str());
  ::close(lock_fd_);  // after the unlink: the next node finds no socket of this one
}

void AdminServer::serve() {
  std::vector<Client> clients;
  // Until the destructor writes to the pipe; each pass serves what poll reported.
  for (;;) {
    const Clock::time_point now = Clock::now();
    std::erase_if(clients, [&](const Client& c) {
      if (c.deadline > now) return false;
      answer_and_close(c.fd, error_answer("no command line within " +
                                          std::to_string(admin_request_deadline.count()) + " ms"));
      return true;
    });
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {fd_, POLLIN, 0}};
    for (const Client& c : clients) fds.push_back({c.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), wait_ms(clients, now)) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;
    for (std::size_t i = clients.size(); i-- > 0;) {
      if (fds[2 + i].revents != 0 && receive(clients[i], handle_)) {
        clients.erase(clients.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    if ((fds[1].revents & POLLIN) == 0) continue;
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) continue;
    if (clients.size() < admin_clients_max) {
      // Now, not the `now` from before poll, which may have waited for minutes: a deadline
      // from then would have passed already.
      clients.push_back({client, Clock::now() + admin_request_deadline, {}});
    } else {
      answer_and_close(client, error_answer("busy: " + std::to_string(admin_clients_max) +
                                            " admin clients connected; try again"));
    }
  }
  for (const Client& c : clients) ::close(c.fd);
}

Result<std::string> admin_request(const std::string& path, const std::string& command) {
  Result<sockaddr_un> addr = address_of(path);
  if (!addr.is_ok()) return addr.status();
  const Fd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (fd.fd < 0) return errno_status("socket");
  if (::connect(fd.fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    return errno_status("cannot reach the node's admin socket " + path);
  }
  // A send that fails still reads: the node may have answered first (busy, too long).
  (void)send_all(fd.fd, command + "\n");
  std::string answer;
  char buf[4096];
  const Clock::time_point deadline = Clock::now() + answer_wait_max;
  // Until the node closes the connection, bounded by the answer's size and a deadline.
  while (answer.size() < admin_answer_max) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd pfd{fd.fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t got = ::read(fd.fd, buf, sizeof buf);
    if (got <= 0) break;
    answer.append(buf, static_cast<std::size_t>(got));
  }
  while (!answer.empty() && answer.back() == '\n') answer.pop_back();
  if (answer.empty()) return Status(StatusCode::io_error, path + ": the node gave no answer");
  return answer;
}

}  // namespace mgraph::node
