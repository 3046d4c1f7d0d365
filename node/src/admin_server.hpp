#pragma once
// The node-local admin interface of mgraphd: a unix-domain socket (mode 0600, so only the
// node's user can reach it) taking one command line per connection and answering one
// JSON line. `mgraphctl` is its client; the commands are in admin_commands.hpp.
//
// Hostile or careless clients cannot stall it: up to admin_clients_max connections are
// served at once (more get a "busy" answer), each must send its line within
// admin_request_deadline of connecting, a line longer than admin_command_max bytes gets an
// error answer, and a client that goes away before its answer costs nothing (no SIGPIPE).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "mgraph/graph/status.hpp"

namespace mgraph::node {

/// Longest command line (without its '\n') the server reads: the commands are words; 4 KiB
/// leaves room for arguments while one client's buffer stays small.
constexpr std::size_t admin_command_max = 4096;
/// Connections served at once. Admin commands come from an operator or a script on the
/// node's host, a handful at a time; the bound keeps file descriptors and buffers of a
/// misbehaving local client small.
constexpr std::size_t admin_clients_max = 8;
/// Time from a connection to the end of its command line (the whole line, not per byte):
/// `mgraphctl` sends its line at once, so only a stalled or hostile client takes longer.
constexpr std::chrono::milliseconds admin_request_deadline{2000};
/// Largest answer mgraphctl reads, and the node sends: most answers are one short line;
/// the largest are dot graphs, which the node bounds (field_trace.hpp) below this.
constexpr std::size_t admin_answer_max = std::size_t{1} << 20;
/// Time the server waits to send an answer to a client that does not read it.
constexpr std::chrono::milliseconds admin_answer_send_timeout{2000};

class AdminServer {
 public:
  /// Answers one command line with one line of JSON (without the '\n').
  using Handler = std::function<std::string(const std::string& command)>;

  /// Listens on `path` and answers each command with `handle`, on a thread of its own.
  /// Refuses (invalid_argument) a path that exists and is not a socket, and (io_error) a
  /// path another process serves; a socket left by a node that died is replaced.
  static Result<std::unique_ptr<AdminServer>> start(const std::string& path, Handler handle);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

 private:
  AdminServer(std::string path, int fd, int lock_fd, Handler handle);
  void serve();

  std::string path_;
  int fd_;                  ///< the listening socket
  int lock_fd_;             ///< PATH.lock, flock'ed while this server lives
  int wake_[2] = {-1, -1};  ///< a pipe: the destructor writes to stop serve()
  Handler handle_;
  std::thread thread_;
};

/// `{"error":MESSAGE}`, the one form of an error answer. Bytes of `message` that are not
/// UTF-8 are replaced (U+FFFD), so the answer is valid JSON whatever a client sent.
std::string error_answer(const std::string& message);

/// The client side: sends `command` to the socket at `path`; the answer line.
Result<std::string> admin_request(const std::string& path, const std::string& command);

}  // namespace mgraph::node
