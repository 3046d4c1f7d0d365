#pragma once
// What the client protocol's tests share: a ClientHandler that runs batches on a Store on a
// worker thread of its own (so every answer crosses threads, as a cluster node's does), raw
// TCP sockets for hostile peers, and bounded waits.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mgraph/codec/client_rpc.hpp"
#include "mgraph/graph/schema/store.hpp"
#include "mgraph/session/executor.hpp"

namespace mgraph::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// How long a test waits for anything before it fails rather than hangs.
inline constexpr auto kWatchdog = 20s;
/// Every call of a legitimate client in these tests.
inline constexpr auto kCallTimeout = std::chrono::milliseconds(20000);

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::shared_ptr<const schema::Schema> compile(const fs::path& p) {
  auto compiled = schema::compile_schema(schema::SourceFile{p.string(), read_file(p)});
  return compiled.is_ok() ? std::move(compiled).value() : nullptr;
}

/// The examples with a script: NAME.mgs beside NAME.mgscript and NAME.expected.
inline std::vector<fs::path> example_schemas() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(MGRAPH_EXAMPLES_DIR)) {
    if (e.path().extension() == ".mgs" &&
        fs::exists(fs::path(e.path()).replace_extension(".mgscript"))) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// For order_total.mgs: create an Order with discount `discount`, commit, get its discount.
inline session::Batch order_batch(double discount) {
  session::Batch batch(3);
  batch[0].kind = session::OpKind::create;
  batch[0].entity = "Order";
  batch[0].values = {{"discount", Value(discount)}};
  batch[1].kind = session::OpKind::commit;
  batch[2].kind = session::OpKind::get;
  batch[2].refs.push_back(session::RecordRef{0, {0}, "o"});
  batch[2].name = "discount";
  batch[2].text = "o.discount";
  return batch;
}

/// Polls `done` until it holds or the watchdog fires; whether it held.
template <typename Pred>
bool eventually(Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + kWatchdog;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

/// Runs batches on a Store as a cluster node does: in arrival order, on its worker thread,
/// never leaving a transaction open after a batch (the next may be another client's).
/// While held, batches queue unanswered.
class StoreHandler final : public codec::ClientHandler {
 public:
  using Done = std::function<void(Result<session::BatchResult>)>;

  explicit StoreHandler(std::shared_ptr<const schema::Schema> schema, codec::SchemaInfo info = {})
      : info_(std::move(info)), store_(std::move(schema)), executor_(store_),
        worker_([this] { work(); }) {}
  ~StoreHandler() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      held_ = false;
    }
    changed_.notify_all();
    worker_.join();
  }

  void transact(session::Batch batch, session::TxnId, Done done) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.emplace_back(std::move(batch), std::move(done));
      ++received_;
    }
    changed_.notify_all();
  }
  codec::SchemaInfo schema() override { return info_; }

  void hold() {
    std::lock_guard<std::mutex> lock(mutex_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      held_ = false;
    }
    changed_.notify_all();
  }
  /// Waits until `n` batches have arrived in all; whether they did before the watchdog.
  bool wait_received(std::size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, kWatchdog, [&] { return received_ >= n; });
  }
  /// Waits until `n` batches have been answered in all.
  bool wait_answered(std::size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, kWatchdog, [&] { return answered_ >= n; });
  }

 private:
  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return stopping_ || (!held_ && !jobs_.empty()); });
      if (jobs_.empty()) return;  // stopping, and nothing left to answer
      auto [batch, done] = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      session::BatchResult results = executor_.run(batch);
      if (store_.graph().in_transaction()) store_.reject();
      done(std::move(results));
      lock.lock();
      ++answered_;
      changed_.notify_all();
    }
  }

  const codec::SchemaInfo info_;
  schema::Store store_;
  session::StoreExecutor executor_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::pair<session::Batch, Done>> jobs_;
  std::size_t received_ = 0;
  std::size_t answered_ = 0;
  bool held_ = false;
  bool stopping_ = false;
  std::thread worker_;  // last: starts once everything it uses exists
};

/// A plain TCP connection to 127.0.0.1, for peers that do not speak the protocol.
class RawSocket {
 public:
  explicit RawSocket(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawSocket() { close(); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool ok() const { return fd_ >= 0; }
  /// Sends all of `bytes`; false once the peer has closed.
  bool send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }
  /// Reads (and drops) what the peer sends until it closes the connection; false if it is
  /// still open after `wait`.
  bool closed_by_peer(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    char buf[4096];
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;  // end of stream or reset
    }
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

/// Little-endian bytes of `v`, as Cap'n Proto frames them.
inline std::string le32(std::uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

}  // namespace mgraph::testing
