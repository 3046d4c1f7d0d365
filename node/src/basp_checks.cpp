#include "basp_checks.hpp"

#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/io/scribe.hpp>
#include <caf/policy/tcp.hpp>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace mgraph::node {

namespace {

using Clock = std::chrono::steady_clock;
namespace net = caf::io::network;

/// A checked connection as the sweeper sees it. `deadline` is Clock ticks since its
/// epoch, 0 while no frame is pending.
struct Entry {
  int fd;
  std::string name;  ///< the peer's address, for reports
  std::atomic<std::int64_t> deadline{0};
};

std::int64_t ticks(Clock::time_point t) { return t.time_since_epoch().count(); }

}  // namespace

struct BaspChecks::State {
  std::atomic<bool> enabled{false};
  BaspCheckOptions options;  ///< written once by enable(), before any connection
  std::atomic<std::uint64_t> accepted{0}, oversized{0}, too_slow{0}, turned_away{0};

  std::mutex mutex;
  std::vector<Entry*> entries;  ///< the accepted connections open now
  std::condition_variable wake;
  bool stopping = false;
  std::thread sweeper;

  ~State() { stop(); }

  void report(const std::string& what) {
    if (options.report) options.report(what);
  }

  /// Registers a connection; false when connections_max are open already.
  bool add(Entry* e) {
    std::lock_guard<std::mutex> lock(mutex);
    if (entries.size() >= options.connections_max) return false;
    entries.push_back(e);
    return true;
  }
  void remove(Entry* e) {
    std::lock_guard<std::mutex> lock(mutex);
    entries.erase(std::remove(entries.begin(), entries.end(), e), entries.end());
  }

  void start() {
    sweeper = std::thread([this] { sweep(); });
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    if (sweeper.joinable()) sweeper.join();
  }

  /// Shuts down each connection whose frame is overdue, until stop(). An entry is removed
  /// (under the mutex) before CAF closes its socket, so the fd shut down is still its own.
  void sweep() {
    const auto period = std::clamp<Clock::duration>(options.frame_time_max / 4, std::chrono::milliseconds(10),
                                                    std::chrono::seconds(1));
    std::unique_lock<std::mutex> lock(mutex);
    while (!wake.wait_for(lock, period, [this] { return stopping; })) {
      const std::int64_t now = ticks(Clock::now());
      for (Entry* e : entries) {
        const std::int64_t due = e->deadline.load(std::memory_order_relaxed);
        if (due == 0 || due > now) continue;
        e->deadline.store(0, std::memory_order_relaxed);
        // Counted and reported first: whoever sees the connection end sees it counted.
        ++too_slow;
        report("peer " + e->name + ": " + slow_frame_text(options.frame_time_max) + "; connection closed");
        ::shutdown(e->fd, SHUT_RDWR);
      }
    }
  }
};

namespace {

/// CAF's TCP reads, following the BASP frames of an accepted connection (`entry` set) and
/// failing the read that completes an oversized header. Lives in the connection's stream.
class CheckedTcp {
 public:
  CheckedTcp() = default;  // not checked: a connection CAF dialed, or checks are off
  CheckedTcp(std::shared_ptr<BaspChecks::State> state, int fd)
      : state_(std::move(state)), reader_(state_->options.frame_bytes_max) {
    entry_ = std::make_unique<Entry>();
    entry_->fd = fd;
    const auto addr = net::remote_addr_of_fd(fd);
    const auto port = net::remote_port_of_fd(fd);
    entry_->name = (addr ? *addr : std::string("?")) + ":" + (port ? std::to_string(*port) : "?");
    entry_->deadline = ticks(Clock::now() + state_->options.frame_time_max);
    ++state_->accepted;
    if (!state_->add(entry_.get())) {
      // Over the bound: shut down now, so that CAF's first read ends it.
      ++state_->turned_away;
      entry_.reset();
      refused_ = true;
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  ~CheckedTcp() {
    if (entry_) state_->remove(entry_.get());
  }
  CheckedTcp(const CheckedTcp&) = delete;
  CheckedTcp& operator=(const CheckedTcp&) = delete;

  net::rw_state read_some(std::size_t& result, net::native_socket fd, void* buf, std::size_t len) {
    if (refused_) return net::rw_state::failure;
    const net::rw_state rc = caf::policy::tcp::read_some(result, fd, buf, len);
    if (!entry_ || rc != net::rw_state::success || result == 0) return rc;
    const bool between = reader_.at_boundary() && reader_.frames() > 0;
    const std::uint64_t frames_before = reader_.frames();
    if (!reader_.feed(static_cast<const char*>(buf), result)) {
      ++state_->oversized;
      state_->report("peer " + entry_->name + ": " +
                     oversized_frame_text(reader_.last_claim(), state_->options.frame_bytes_max) +
                     "; connection closed");
      return net::rw_state::failure;
    }
    if (reader_.at_boundary() && reader_.frames() > 0) {
      entry_->deadline.store(0, std::memory_order_relaxed);
    } else if (between || reader_.frames() != frames_before) {
      // A new frame began.
      entry_->deadline.store(ticks(Clock::now() + state_->options.frame_time_max), std::memory_order_relaxed);
    }
    return rc;
  }
  static net::rw_state write_some(std::size_t& result, net::native_socket fd, const void* buf, std::size_t len) {
    return caf::policy::tcp::write_some(result, fd, buf, len);
  }
  static bool try_accept(net::native_socket& result, net::native_socket fd) {
    return caf::policy::tcp::try_accept(result, fd);
  }
  static constexpr bool must_read_more(net::native_socket, std::size_t) { return false; }

 private:
  std::shared_ptr<BaspChecks::State> state_;
  std::unique_ptr<Entry> entry_;
  BaspFrameReader reader_{0};
  bool refused_ = false;
};

/// CAF's scribe (caf::io::network::scribe_impl) over a CheckedTcp stream.
class CheckedScribe : public caf::io::scribe {
 public:
  template <typename... Policy>
  CheckedScribe(net::default_multiplexer& mx, net::native_socket fd, Policy&&... policy)
      : caf::io::scribe(net::conn_hdl_from_socket(fd)), stream_(mx, fd, std::forward<Policy>(policy)...) {}

  void configure_read(caf::io::receive_policy::config config) override {
    stream_.configure_read(config);
    if (!launched_) {
      launched_ = true;
      stream_.start(this);
    }
  }
  void ack_writes(bool enable) override { stream_.ack_writes(enable); }
  std::vector<char>& wr_buf() override { return stream_.wr_buf(); }
  std::vector<char>& rd_buf() override { return stream_.rd_buf(); }
  void graceful_shutdown() override {
    stream_.graceful_shutdown();
    detach(&stream_.backend(), false);
  }
  void flush() override { stream_.flush(this); }
  std::string addr() const override {
    auto x = net::remote_addr_of_fd(stream_.fd());
    return x ? *x : std::string();
  }
  std::uint16_t port() const override {
    auto x = net::remote_port_of_fd(stream_.fd());
    return x ? *x : 0;
  }
  void add_to_loop() override { stream_.activate(this); }
  void remove_from_loop() override { stream_.passivate(); }

 private:
  bool launched_ = false;
  net::stream_impl<CheckedTcp> stream_;
};

class CheckedMultiplexer : public net::default_multiplexer {
 public:
  explicit CheckedMultiplexer(caf::actor_system* sys)
      : net::default_multiplexer(sys), state_(std::make_shared<BaspChecks::State>()) {}
  ~CheckedMultiplexer() override { state_->stop(); }

  /// A connection accepted by a doorman (CAF's own dialing goes through new_tcp_scribe).
  caf::io::scribe_ptr new_scribe(net::native_socket fd) override {
    (void)net::keepalive(fd, true);  // as CAF's own
    if (!state_->enabled.load()) return caf::make_counted<CheckedScribe>(*this, fd);
    return caf::make_counted<CheckedScribe>(*this, fd, state_, fd);
  }
  caf::expected<caf::io::scribe_ptr> new_tcp_scribe(const std::string& host, std::uint16_t port) override {
    auto fd = net::new_tcp_connection(host, port);
    if (!fd) return std::move(fd.error());
    (void)net::keepalive(*fd, true);
    return caf::io::scribe_ptr(caf::make_counted<CheckedScribe>(*this, *fd));
  }

  const std::shared_ptr<BaspChecks::State>& state() const { return state_; }

 private:
  std::shared_ptr<BaspChecks::State> state_;
};

}  // namespace

void BaspChecks::enable(BaspCheckOptions options) {
  if (state_->enabled.load()) return;
  state_->options = std::move(options);
  state_->start();
  state_->enabled.store(true);
}

bool BaspChecks::enabled() const { return state_->enabled.load(); }

PeerGuardCounts BaspChecks::counts() const {
  return {state_->accepted.load(), state_->oversized.load(), state_->too_slow.load(), state_->turned_away.load(), 0};
}

void load_checked_middleman(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman, CheckedMultiplexer>();
}

std::optional<BaspChecks> basp_checks(caf::actor_system& sys) {
  auto* mpx = dynamic_cast<CheckedMultiplexer*>(&sys.middleman().backend());
  if (mpx == nullptr) return std::nullopt;
  return BaspChecks(mpx->state());
}

}  // namespace mgraph::node
