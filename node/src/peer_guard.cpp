#include "peer_guard.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace mgraph::node {

namespace {

using Clock = std::chrono::steady_clock;

/// Bytes buffered per direction of a connection: enough for loopback throughput, small
/// enough that connections_max of them cost little (32 connections: 4 MiB).
constexpr std::size_t buffer_bytes = 64 * 1024;
/// Pending connections the kernel queues for the guard's listener.
constexpr int listen_backlog = 64;

/// Offset of payload_len in a BASP header.
constexpr std::size_t payload_len_offset = 4;

std::uint32_t read_be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

Status errno_status(const std::string& what) {
  return Status(StatusCode::io_error, what + ": " + std::strerror(errno));
}

void set_nodelay(int fd) {
  const int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/// A listening socket on host:port, non-blocking; its fd, or the reason it failed.
Result<int> listen_on(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return Status(StatusCode::io_error, "cannot resolve " + host + ": " + ::gai_strerror(rc));
  }
  Status last(StatusCode::io_error, "no address for " + host);
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, listen_backlog) != 0) {
      last = errno_status("cannot listen on " + host + ":" + service);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) return last;
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

/// "HOST:PORT" of the far end of a connected socket.
std::string peer_name(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  char host[INET6_ADDRSTRLEN] = "?";
  std::uint16_t port = 0;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    if (addr.ss_family == AF_INET6) {
      const auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
      port = ntohs(a->sin6_port);
    } else {
      const auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
      port = ntohs(a->sin_port);
    }
  }
  return std::string(host) + ":" + std::to_string(port);
}

/// Starts a non-blocking connection to the socket address in `address`; the fd, or -1.
int connect_to(const std::vector<char>& address) {
  const auto* addr = reinterpret_cast<const sockaddr*>(address.data());
  const int fd = ::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, addr, static_cast<socklen_t>(address.size())) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  set_nodelay(fd);
  return fd;
}

/// The socket address of 127.0.0.1:port.
std::vector<char> loopback_address(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const char* bytes = reinterpret_cast<const char*>(&addr);
  return std::vector<char>(bytes, bytes + sizeof addr);
}

/// The first socket address of host:port; resolved once, when the guard starts.
Result<std::vector<char>> resolve(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return Status(StatusCode::io_error, "cannot resolve " + host + ": " + ::gai_strerror(rc));
  }
  const char* bytes = reinterpret_cast<const char*>(found->ai_addr);
  std::vector<char> out(bytes, bytes + found->ai_addrlen);
  ::freeaddrinfo(found);
  return out;
}

bool would_block() { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

}  // namespace

bool BaspFrameReader::feed(const char* data, std::size_t size) {
  // Each iteration consumes at least one byte: bounded by `size`.
  while (size > 0 && !failed_) {
    if (payload_left_ > 0) {
      const std::size_t skip =
          static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, size));
      payload_left_ -= skip;
      data += skip;
      size -= skip;
      continue;
    }
    const std::size_t take = std::min(size, basp_header_bytes - header_got_);
    std::memcpy(header_ + header_got_, data, take);
    header_got_ += take;
    data += take;
    size -= take;
    if (header_got_ < basp_header_bytes) break;
    header_got_ = 0;
    ++frames_;
    last_claim_ = read_be32(header_ + payload_len_offset);
    if (last_claim_ > frame_bytes_max_) failed_ = true;
    payload_left_ = last_claim_;
  }
  return !failed_;
}

std::string oversized_frame_text(std::uint32_t claim, std::uint32_t max) {
  return "a frame claims " + std::to_string(claim) + " bytes, more than peer_frame_bytes_max (" +
         std::to_string(max) + ")";
}

std::string slow_frame_text(std::chrono::milliseconds max) {
  return "no complete frame within " + std::to_string(max.count()) + " ms";
}

/// One relayed connection: `outer` is the peer, `inner` CAF on 127.0.0.1.
struct PeerGuard::Slot {
  /// Bytes read from one side, not yet written to the other: [begin, end) of data.
  struct Pipe {
    std::unique_ptr<char[]> data = std::make_unique_for_overwrite<char[]>(buffer_bytes);
    std::size_t begin = 0, end = 0;
    bool eof = false;
    bool empty() const { return begin == end; }
    bool room() const { return end < buffer_bytes; }
  };
  int outer = -1, inner = -1;
  bool connecting = false;  ///< the dialed side (inner inbound, outer outbound) connects
  bool outer_dialed = false;
  Pipe up;    ///< outer to inner (BASP frames towards CAF, checked)
  Pipe down;  ///< inner to outer
  std::unique_ptr<TlsStream> tls;  ///< with TLS: the peer side's session
  Pipe cipher;                     ///< with TLS: ciphertext for the peer, not yet sent
  bool outer_closed = false;       ///< with TLS: the peer's socket reached its end
  BaspFrameReader frames{0};
  Clock::time_point deadline{};  ///< of the frame in progress; none between frames
  bool has_deadline = false;
  std::string name;  ///< the peer's address

  bool open() const { return outer >= 0; }
};

Result<std::unique_ptr<PeerGuard>> PeerGuard::start(PeerGuardOptions options) {
  if (options.connections_max == 0 || (options.inner_port == 0 && options.dial_port == 0)) {
    return Status(StatusCode::invalid_argument, "peer guard: no connections or no inner port");
  }
  Result<int> listener = listen_on(options.host, options.port);
  if (!listener.is_ok()) return listener.status();
  int wake[2];
  if (::pipe2(wake, O_NONBLOCK | O_CLOEXEC) != 0) {
    Status s = errno_status("peer guard: pipe");
    ::close(*listener);
    return s;
  }
  const std::uint16_t port = local_port(*listener);
  std::vector<char> dial_address = loopback_address(options.inner_port);
  if (options.dial_port != 0) {
    Result<std::vector<char>> remote = resolve(options.dial_host, options.dial_port);
    if (!remote.is_ok()) {
      ::close(*listener);
      ::close(wake[0]);
      ::close(wake[1]);
      return Status(StatusCode::io_error, "peer " + options.dial_name + ": " +
                                              remote.status().message());
    }
    dial_address = std::move(remote).value();
  }
  return std::unique_ptr<PeerGuard>(new PeerGuard(std::move(options), *listener, wake[0],
                                                  wake[1], port, std::move(dial_address)));
}

PeerGuard::PeerGuard(PeerGuardOptions options, int listener, int wake_read, int wake_write,
                     std::uint16_t port, std::vector<char> dial_address)
    : options_(std::move(options)),
      listener_(listener),
      wake_read_(wake_read),
      wake_write_(wake_write),
      port_(port),
      slots_(options_.connections_max),
      dial_address_(std::move(dial_address)) {
  fds_.reserve(2 + 2 * slots_.size());
  thread_ = std::thread([this] { serve(); });
}

PeerGuard::~PeerGuard() {
  const char stop = 's';
  (void)::write(wake_write_, &stop, 1);
  thread_.join();
  for (Slot& s : slots_) close_slot(s);
  ::close(listener_);
  ::close(wake_read_);
  ::close(wake_write_);
}

PeerGuardCounts PeerGuard::counts() const {
  return {accepted_.load(), oversized_.load(), too_slow_.load(), turned_away_.load(),
          tls_refused_.load()};
}

void PeerGuard::serve() {
  // Until the destructor wakes it (or poll() fails); each step waits at most a second.
  while (step()) {
  }
}

void PeerGuard::close_slot(Slot& slot) {
  if (slot.outer >= 0) ::close(slot.outer);
  if (slot.inner >= 0) ::close(slot.inner);
  slot.outer = slot.inner = -1;
  slot.up.begin = slot.up.end = slot.down.begin = slot.down.end = 0;
  slot.up.eof = slot.down.eof = false;
  slot.cipher.begin = slot.cipher.end = 0;
  slot.tls.reset();
  slot.outer_closed = false;
  slot.has_deadline = false;
}

void PeerGuard::violation(Slot& slot, std::atomic<std::uint64_t>& counter,
                          const std::string& what) {
  ++counter;
  if (slot.tls && slot.outer >= 0) {
    // Best effort, one non-blocking send: the alert saying why, so the peer can report it.
    char alert[512];
    const std::size_t n = slot.tls->take_cipher(alert, sizeof alert);
    if (n > 0) (void)::send(slot.outer, alert, n, MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  if (options_.report) options_.report("peer " + slot.name + ": " + what + "; connection closed");
  close_slot(slot);
}

void PeerGuard::accept_one() {
  const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;
  auto free_slot =
      std::find_if(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.open(); });
  if (free_slot == slots_.end()) {
    ++turned_away_;
    ::close(fd);
    return;
  }
  const int dialed = dial();
  if (dialed < 0) {
    ::close(fd);
    return;
  }
  set_nodelay(fd);
  Slot& s = *free_slot;
  s.outer_dialed = options_.dial_port != 0;
  s.outer = s.outer_dialed ? dialed : fd;
  s.inner = s.outer_dialed ? fd : dialed;
  s.connecting = true;
  s.frames = BaspFrameReader(options_.frame_bytes_max);
  s.deadline = Clock::now() + options_.frame_time_max;
  s.has_deadline = true;
  s.name = s.outer_dialed ? options_.dial_name + " (" + options_.dial_host + ":" +
                                std::to_string(options_.dial_port) + ")"
                          : peer_name(fd);
  if (options_.tls) {
    auto tls = s.outer_dialed ? TlsStream::client(*options_.tls, options_.dial_name)
                              : TlsStream::server(*options_.tls);
    if (!tls.is_ok()) return violation(s, tls_refused_, tls.status().message());
    s.tls = std::move(tls).value();
  }
  ++accepted_;
}

int PeerGuard::dial() { return connect_to(dial_address_); }

namespace {

/// Reads what fits from `fd` into `pipe`; the bytes read, 0 at end of stream (pipe.eof set),
/// -1 on an error.
ssize_t fill(int fd, PeerGuard::Slot::Pipe& pipe) {
  if (pipe.empty()) pipe.begin = pipe.end = 0;
  const ssize_t got = ::recv(fd, pipe.data.get() + pipe.end, buffer_bytes - pipe.end, 0);
  if (got == 0) pipe.eof = true;
  if (got < 0) return would_block() ? 0 : -1;
  return got;
}

/// Writes what `pipe` holds to `fd`; false on an error.
bool drain(int fd, PeerGuard::Slot::Pipe& pipe) {
  const ssize_t put = ::send(fd, pipe.data.get() + pipe.begin, pipe.end - pipe.begin, MSG_NOSIGNAL);
  if (put < 0) return would_block();
  pipe.begin += static_cast<std::size_t>(put);
  if (pipe.empty()) pipe.begin = pipe.end = 0;
  return true;
}

}  // namespace

Result<std::size_t> PeerGuard::read_outer(Slot& s, bool readable) {
  if (!s.tls) {
    if (!readable) return std::size_t{0};
    const ssize_t got = fill(s.outer, s.up);
    if (got < 0) return Status(StatusCode::io_error, "recv");
    return static_cast<std::size_t>(got);
  }
  // Ciphertext in only while TLS holds little unread: what it buffers stays bounded.
  if (readable && !s.outer_closed && !s.tls->plain_pending()) {
    char cipher[16 * 1024];
    const ssize_t got = ::recv(s.outer, cipher, sizeof cipher, 0);
    if (got == 0) s.outer_closed = true;
    if (got < 0 && !would_block()) return Status(StatusCode::io_error, "recv");
    if (got > 0) s.tls->put_cipher(cipher, static_cast<std::size_t>(got));
  }
  std::size_t total = 0;
  if (Status h = s.tls->handshake(); !h.is_ok()) {
    return Status(StatusCode::unauthenticated, h.message());
  }
  if (s.up.empty()) s.up.begin = s.up.end = 0;
  // Each pass adds bytes or stops: bounded by the buffer.
  while (s.tls->established() && s.up.end + total < buffer_bytes) {
    Result<ssize_t> got =
        s.tls->read_plain(s.up.data.get() + s.up.end + total, buffer_bytes - s.up.end - total);
    if (!got.is_ok()) return Status(StatusCode::unauthenticated, got.status().message());
    if (*got < 0) {
      s.up.eof = true;  // the peer's close_notify
      break;
    }
    if (*got == 0) break;
    total += static_cast<std::size_t>(*got);
  }
  if (s.outer_closed && !s.tls->plain_pending()) s.up.eof = true;
  return total;
}

Status PeerGuard::write_outer(Slot& s) {
  if (!s.tls) {
    if (!s.down.empty() && !drain(s.outer, s.down)) return Status(StatusCode::io_error, "send");
    return Status::ok();
  }
  // The client's first flight, or the rest of a handshake.
  if (Status h = s.tls->handshake(); !h.is_ok()) {
    return Status(StatusCode::unauthenticated, h.message());
  }
  // Plaintext in only while little ciphertext waits: each pass takes bytes or stops.
  while (s.tls->established() && !s.down.empty() && s.tls->cipher_pending() < buffer_bytes) {
    Result<std::size_t> put =
        s.tls->write_plain(s.down.data.get() + s.down.begin, s.down.end - s.down.begin);
    if (!put.is_ok()) return Status(StatusCode::unauthenticated, put.status().message());
    if (*put == 0) break;
    s.down.begin += *put;
  }
  if (s.down.empty()) s.down.begin = s.down.end = 0;
  if (s.cipher.empty()) s.cipher.begin = s.cipher.end = 0;
  s.cipher.end += s.tls->take_cipher(s.cipher.data.get() + s.cipher.end, buffer_bytes - s.cipher.end);
  if (!s.cipher.empty() && !drain(s.outer, s.cipher)) return Status(StatusCode::io_error, "send");
  return Status::ok();
}

bool PeerGuard::outer_output(const Slot& s) const {
  if (!s.tls) return !s.down.empty();
  return !s.cipher.empty() || s.tls->cipher_pending() > 0 ||
         (s.tls->established() && !s.down.empty());
}

void PeerGuard::handle(Slot& s, short outer_events, short inner_events) {
  // A side that failed or hung up while its buffer was full would wake poll() forever.
  constexpr short gone = POLLERR | POLLHUP;
  const bool outer_ready = !(s.connecting && s.outer_dialed);
  const bool inner_ready = !(s.connecting && !s.outer_dialed);
  if (((outer_events & gone) != 0 && outer_ready && (!s.up.room() || s.up.eof)) ||
      ((inner_events & gone) != 0 && inner_ready && (!s.down.room() || s.down.eof))) {
    return close_slot(s);
  }
  const short dialed_events = s.outer_dialed ? outer_events : inner_events;
  if (s.connecting && dialed_events != 0) {
    int error = 0;
    socklen_t len = sizeof error;
    const int dialed = s.outer_dialed ? s.outer : s.inner;
    if (::getsockopt(dialed, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
      if (s.outer_dialed && options_.report) {
        options_.report("peer " + s.name + ": cannot connect: " + std::strerror(error));
      }
      close_slot(s);
      return;
    }
    s.connecting = false;
  }
  if (s.connecting) return;
  const bool readable = (outer_events & (POLLIN | POLLHUP | POLLERR)) != 0;
  if ((readable || (s.tls && s.tls->plain_pending()) || (s.tls && !s.tls->established())) &&
      s.up.room() && !s.up.eof) {
    const std::size_t at = s.up.end;
    const bool between = s.frames.at_boundary() && s.frames.frames() > 0;
    const std::uint64_t frames_before = s.frames.frames();
    const Result<std::size_t> read = read_outer(s, readable);
    if (!read.is_ok()) {
      if (read.status().code() == StatusCode::unauthenticated) {
        return violation(s, tls_refused_, read.status().message());
      }
      return close_slot(s);
    }
    const auto got = static_cast<ssize_t>(*read);
    if (!s.frames.feed(s.up.data.get() + at, static_cast<std::size_t>(got))) {
      return violation(s, oversized_, oversized_frame_text(s.frames.last_claim(), options_.frame_bytes_max));
    }
    s.up.end += static_cast<std::size_t>(got);
    if (s.frames.at_boundary() && s.frames.frames() > 0) {
      s.has_deadline = false;
    } else if (got > 0 && (between || s.frames.frames() != frames_before)) {
      s.deadline = Clock::now() + options_.frame_time_max;  // a new frame began
      s.has_deadline = true;
    }
  }
  if ((inner_events & (POLLIN | POLLHUP | POLLERR)) != 0 && s.down.room() && !s.down.eof) {
    const ssize_t got = fill(s.inner, s.down);
    if (got < 0) return close_slot(s);
    s.down.end += static_cast<std::size_t>(got);
  }
  if (!s.up.empty() && !drain(s.inner, s.up)) return close_slot(s);
  if (Status w = write_outer(s); !w.is_ok()) {
    if (w.code() == StatusCode::unauthenticated) return violation(s, tls_refused_, w.message());
    return close_slot(s);
  }
  // One side ended and everything it sent was passed on: the connection is over.
  if ((s.up.eof && s.up.empty()) || (s.down.eof && !outer_output(s))) close_slot(s);
}

bool PeerGuard::step() {
  // Index 0: the wake pipe, 1: the listener, then two per open slot (outer, inner).
  std::vector<pollfd>& fds = fds_;
  fds.clear();
  fds.push_back({wake_read_, POLLIN, 0});
  fds.push_back({listener_, POLLIN, 0});
  const Clock::time_point now = Clock::now();
  Clock::time_point next = now + std::chrono::seconds(1);
  for (Slot& s : slots_) {
    if (!s.open()) continue;
    if (s.has_deadline && s.deadline <= now) {
      violation(s, too_slow_, slow_frame_text(options_.frame_time_max));
      continue;
    }
    if (s.has_deadline) next = std::min(next, s.deadline);
    short outer = 0, inner = 0;
    if (s.connecting) {
      (s.outer_dialed ? outer : inner) |= POLLOUT;
    } else {
      if (s.up.room() && !s.up.eof) outer |= POLLIN;
      if (outer_output(s)) outer |= POLLOUT;
      if (s.down.room() && !s.down.eof) inner |= POLLIN;
      if (!s.up.empty()) inner |= POLLOUT;
      // Plaintext TLS already holds: read it without waiting for the socket.
      if (s.tls && s.tls->plain_pending() && s.up.room() && !s.up.eof) next = now;
    }
    fds.push_back({s.outer, outer, 0});
    fds.push_back({s.inner, inner, 0});
  }
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
  if (::poll(fds.data(), fds.size(), static_cast<int>(std::max<long>(0, wait))) < 0 &&
      errno != EINTR) {
    return false;
  }
  if (fds[0].revents != 0) return false;  // asked to stop
  std::size_t i = 2;
  for (Slot& s : slots_) {
    if (!s.open() || i >= fds.size() || fds[i].fd != s.outer) continue;
    handle(s, fds[i].revents, fds[i + 1].revents);
    i += 2;
  }
  if ((fds[1].revents & POLLIN) != 0) accept_one();
  return true;
}

}  // namespace mgraph::node
