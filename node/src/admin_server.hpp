#pragma once
// The node-local admin interface of mgraphd: a unix-domain socket (mode 0600, so only the
// node's user can reach it) taking one command line per connection and answering one
// JSON line. `mgraphctl` is its client. Commands:
//   status    the node: name, partitions, coordinator or not, epochs run, listen address
//   shutdown  stops the node (the coordinator: after the current epoch, stopping all)
//   help      the commands

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "mgraph/graph/status.hpp"

namespace mgraph::node {

class AdminServer {
 public:
  using Handler = std::function<std::string(const std::string& command)>;

  /// Listens on `path` (a stale socket file there is replaced) and answers each command
  /// with `handle` on a thread of its own. The answer must be one line of JSON.
  static Result<std::unique_ptr<AdminServer>> start(const std::string& path, Handler handle);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

 private:
  AdminServer(std::string path, int fd, Handler handle);
  void serve();

  std::string path_;
  int fd_;
  Handler handle_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

/// The client side: sends `command` to the socket at `path`; the answer line.
Result<std::string> admin_request(const std::string& path, const std::string& command);

}  // namespace mgraph::node
