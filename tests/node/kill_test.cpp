// Real kill -9 on a 3-process loopback cluster under client load: one node (in the other
// test, the coordinator) is killed with SIGKILL and started again, many times over, while a
// client keeps committing transactions through a node that stays up. Each transaction
// marks one record of a ledger (`update eK amount=1`), so what the cluster holds at the end
// says which transactions took effect:
//   - every acknowledged transaction is there (nothing acknowledged is lost);
//   - nothing is there that the client did not send, and none twice (the ledger's total,
//     an aggregate, equals the number of marked records);
//   - none that the cluster said was rolled back is there: a batch is logged before it
//     runs, so one cut short by the kill is cancelled in the log before its client hears;
//   - the client sends a batch whose answer was lost (the transport, "the batch may have
//     run") again with the same transaction id until it is answered, and the cluster
//     answers an id it knows with the first outcome: so every transaction ends acknowledged
//     or rolled back, none of unknown outcome, and the marked records are exactly the
//     acknowledged ones — exactly once, across kills of the coordinator too;
//   - a cluster started again from the coordinator's log holds the same.
// Each mark also triggers an effect (`Entry.paid`), consumed meanwhile by a consumer of n3
// that acknowledges every delivery and deduplicates them by key (field, version), as a
// consumer of a cluster must: deliveries owed when a node dies are sent again after the
// restart, so the consumer sees some keys twice, but each marked entry under exactly one
// key, and no other entry; once it has acknowledged them all, no entry's effect is owed
// (the ledger's `unacked` is 0), in the running cluster and in one started again from the
// log. The coordinator's ledger of versions (`audit`) holds each marked entry's trail once:
// created, raised, and settled by the ack of the key the consumer was given. A subscriber
// from epoch 0 is told of each marked entry once, in epoch order (the coordinator's history
// of subscriptions on its --data keeps every epoch across the kills), in the running
// cluster and in one started again from the log; so is a subscriber that polled all along
// the kills.
// Kills per test: MGRAPH_KILLS (default 15, so 30 in all); where the kills fall in the load:
// MGRAPH_KILL_SEED (default 1). scripts/soak-cluster.sh runs many rounds of both.

#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "mgraph/persistence/store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "mgraph/codec/client_rpc.hpp"
#include "mgraph/codec/resending_backend.hpp"
#include "mgraph/graph/schema/store.hpp"
#include "mgraph/session/client.hpp"
#include "support/child_process.hpp"
#include "support/env.hpp"
#include "support/node_processes.hpp"
#include "support/prng.hpp"

namespace mgraph::node {
namespace {

namespace fs = std::filesystem;
using mgraph::testing::ChildProcess;

constexpr int kSilenceMs = 60'000;  ///< watchdog on every wait for a process
/// Bound on connecting and on each transaction: a kill is noticed long before.
constexpr std::chrono::milliseconds kCallTimeout{20'000};
/// Transactions acknowledged between two kills at most (at least one).
constexpr int kBetweenKillsMax = 6;
/// The cluster's peer_timeout_ms: a stopped node is lost after it.
constexpr std::chrono::milliseconds kPeerTimeout{1000};
/// Epochs between checkpoints: a few per round of the test, so that most restarts restore
/// the partitions from a checkpoint and run a short log after it.
constexpr int kCheckpointEvery = 7;
/// Gets in one batch when the ledger is read back.
constexpr int kReadsPerBatch = 100;
/// How long a client sends a batch again while its answer is lost: far beyond a restart.
constexpr std::chrono::milliseconds kResendPatience{30'000};
/// The client's pause after a failed transaction, doubling while they fail.
constexpr std::chrono::milliseconds kRetryPause{10};
constexpr std::chrono::milliseconds kRetryPauseMax{320};
/// How often the waits of the run read what the nodes printed: a node writes its log to a
/// pipe, and a pipe nobody reads fills (64 KiB) and blocks the thread that logs — the
/// sequencer's, when it reports an epoch. Far below every bound the test checks.
constexpr std::chrono::milliseconds kDrainEvery{50};
/// What the test keeps of a node's output while it runs: the last lines, for a failure's
/// message (the reads stop once a ChildProcess holds 16 MiB).
constexpr std::size_t kKeptOutputBytes = std::size_t{1} << 20;
/// Reads per node per drain: a node that prints faster than the test reads still lets
/// the wait go on.
constexpr int kDrainReadsMax = 64;

constexpr const char* kSchema =
    "entity Ledger {\n"
    "  entries: many Entry via ledger\n"
    "  total: int = sum(entries[*].amount)\n"
    "  unacked: int = count(entries[*] where paid)\n"
    "}\n"
    "entity Entry {\n"
    "  amount: int = 0\n"
    "  memo: int = 0\n"
    "  twice: int = memo * 2\n"
    "  effect paid: bool when amount > 0 @retry(100, 2, 400, 1000)\n"
    "}\n";


/// The port a node printed before " (clients)".
int client_port_of(ChildProcess& c) {
  if (!c.read_until(" (clients)", kSilenceMs)) return 0;
  const std::size_t end = c.printed.find(" (clients)");
  const std::size_t colon = c.printed.rfind(':', end);
  return std::stoi(c.printed.substr(colon + 1, end - colon - 1));
}

/// A script client of n3. A batch whose answer is lost is sent again with the same
/// transaction id, on a new connection when needed (codec::ResendingBackend), for up to
/// kResendPatience: the cluster answers with its first outcome, so every transaction the
/// client sends ends acknowledged or rolled back, and none runs twice.
class Client {
 public:
  explicit Client(int port) : Client(port, {}) {}
  /// A client of a cluster knowing the records `other` named (another cluster's, too).
  Client(int port, const Client& other) : Client(port, other.script_->aliases()) {}

  /// Runs `lines` (a transaction ending in commit, or reads): what was printed, or nothing
  /// when no answer came within the patience (the client then starts a new session).
  std::optional<std::string> run(const std::vector<std::string>& lines, std::size_t* failures) {
    *failures = 0;
    std::string out;
    std::size_t n = 0;
    for (const std::string& line : lines) *failures += script_->run_line(line, ++n, &out);
    *failures += script_->finish(&out);
    if (!script_->failure().is_ok()) {
      failure_ = script_->failure().message();
      start(script_->aliases());
      return std::nullopt;
    }
    return out;
  }
  /// Why the last call that got no answer did not.
  const std::string& failure() const { return failure_; }
  /// The records of `audit #RECORD.effect` (the JSON array `mgraph eval` prints).
  Result<std::string> audit(session::RecordId record, const std::string& effect) {
    std::string ref = "#";
    ref.append(std::to_string(record)).append(".").append(effect);
    return backend_->ledger(record, effect, "audit", ref, std::nullopt);
  }
  /// The record ids of the names the client's scripts created.
  const std::map<std::string, session::RecordId, std::less<>>& aliases() const { return script_->aliases(); }

 private:
  using Aliases = std::map<std::string, session::RecordId, std::less<>>;
  Client(int port, const Aliases& aliases) : port_(port) { start(aliases); }
  void start(const Aliases& aliases) {
    codec::ResendOptions options;
    options.patience = kResendPatience;
    script_.reset();
    backend_ = std::make_unique<codec::ResendingBackend>(
        [port = port_] {
          return codec::ClientConnection::connect("127.0.0.1", static_cast<std::uint16_t>(port), kCallTimeout);
        },
        options);
    script_ = std::make_unique<session::ScriptClient>(
        *backend_, session::ClientOptions{.batch_transactions = true, .print = {}});
    script_->set_aliases(aliases);
  }

  int port_;
  std::string failure_;
  std::unique_ptr<codec::ResendingBackend> backend_;
  std::unique_ptr<session::ScriptClient> script_;
};

/// A client of one node on a thread of its own, polling until stopped: each round waits
/// its pause (or until stopped), connects when it has no connection, and runs round(). A
/// call that fails (a node on the path killed) drops the connection, and the next round
/// connects again after a pause doubling from kFailPause up to kFailPauseMax.
/// A derived class calls start() at the end of its constructor and stop() first in its
/// destructor (the thread calls round(), which uses its members).
class PollingClient {
 public:
  virtual ~PollingClient() = default;
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 protected:
  explicit PollingClient(int port) : port_(port) {}
  void start() { thread_ = std::thread([this] { run(); }); }
  /// One round on `connection`: false when a call failed. *pause: before the next round.
  virtual bool round(codec::ClientConnection& connection, std::chrono::milliseconds* pause) = 0;

  mutable std::mutex mu_;
  std::condition_variable changed_;

 private:
  static constexpr std::chrono::milliseconds kFailPause{10};
  static constexpr std::chrono::milliseconds kFailPauseMax{320};

  void run() {
    std::unique_ptr<codec::ClientConnection> connection;
    std::chrono::milliseconds pause{0};
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (changed_.wait_for(lock, pause, [&] { return stop_; })) return;
      }
      if (!connection) {
        auto c = codec::ClientConnection::connect("127.0.0.1", static_cast<std::uint16_t>(port_), kCallTimeout);
        if (c.is_ok()) connection = std::move(*c);
      }
      if (!connection || !round(*connection, &pause)) {
        connection.reset();
        pause = std::min(std::max(pause * 2, kFailPause), kFailPauseMax);
      }
    }
  }

  int port_;
  bool stop_ = false;
  std::thread thread_;
};

/// A consumer of `Entry.paid` through one node: polls, acknowledges the deliveries (every
/// third key only when it comes again), and keeps each key it was given with the record
/// the delivery names; acknowledgements whose answer was lost are sent again first.
class Consumer final : public PollingClient {
 public:
  using Key = std::pair<std::uint64_t, std::uint64_t>;  ///< (field, version)
  struct Seen {
    std::map<Key, session::RecordId> keys;  ///< every distinct key, with its record
    std::set<Key> answered;                 ///< keys whose acknowledgement was answered
    std::size_t deliveries = 0;             ///< deliveries received, repeats included
    std::vector<std::string> errors;
  };

  explicit Consumer(int port) : PollingClient(port) { start(); }
  ~Consumer() override { stop(); }
  /// Waits until every record of `records` was delivered under some key and every key
  /// received was acknowledged with an answer, at most `bound`; the outcome either way.
  bool wait_settled(const std::set<session::RecordId>& records, std::chrono::milliseconds bound) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, bound, [&] {
      std::set<session::RecordId> delivered;
      for (const auto& [key, record] : seen_.keys) delivered.insert(record);
      return seen_.answered.size() == seen_.keys.size() &&
             std::includes(delivered.begin(), delivered.end(), records.begin(), records.end());
    });
  }
  Seen seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  /// Deliveries asked for per poll; the pause after an empty poll.
  static constexpr std::uint32_t kPollMax = 64;
  static constexpr std::chrono::milliseconds kIdlePause{20};

  bool round(codec::ClientConnection& connection, std::chrono::milliseconds* pause) override {
    // Acknowledgements whose answer was lost are sent again first.
    if (!ack(connection, &unanswered_)) return false;
    Result<std::vector<std::string>> got = connection.poll_effects({"Entry.paid"}, kPollMax);
    if (!got.is_ok()) return false;
    *pause = got->empty() ? kIdlePause : std::chrono::milliseconds(0);
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const std::string& text : *got) {
        const nlohmann::json d = nlohmann::json::parse(text, nullptr, false);
        if (d.is_discarded() || !d.contains("key") || !d.contains("record")) {
          seen_.errors.push_back("not a delivery: " + text);
          continue;
        }
        const Key key{d["key"]["field"].get<std::uint64_t>(), d["key"]["version"].get<std::uint64_t>()};
        const auto record = d["record"].get<session::RecordId>();
        ++seen_.deliveries;
        const auto [at, fresh] = seen_.keys.emplace(key, record);
        if (!fresh && at->second != record) seen_.errors.push_back("a key named two records: " + text);
        // Every third new key is left unacknowledged the first time, as by a consumer that
        // died before its ack: it stays owed, across the kills too, until sent again.
        if (!fresh || seen_.keys.size() % 3 != 0) unanswered_.push_back(key);
      }
    }
    return ack(connection, &unanswered_);
  }
  /// Sends the acknowledgements of `keys`, removing each one answered; false when a call
  /// failed (the rest stay to be sent again). Every answer (acked, duplicate, unknown)
  /// ends it: a key acknowledged before a restart may be answered either of the last two.
  bool ack(codec::ClientConnection& connection, std::vector<Key>* keys) {
    while (!keys->empty()) {
      const Key key = keys->back();
      Result<std::string> outcome = connection.ack_effect(key.first, key.second);
      if (!outcome.is_ok() || outcome->rfind("failed", 0) == 0) return false;
      keys->pop_back();
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.answered.insert(key);
      }
      changed_.notify_all();
    }
    return true;
  }

  std::vector<Key> unanswered_;  ///< acknowledgements to send (again)
  Seen seen_;
};

/// A subscriber of every Entry through n3, polling all along the kills as `mgraph watch`
/// does (after a failed poll it asks again from the same cursor): each
/// record whose amount it was told became 1, with how often, and what went wrong (a
/// resume, an epoch out of order). Epochs the log runs again while a partition is
/// unavailable are held back until it is back (they may end otherwise), so a cursor never
/// passes an epoch whose outcome changes.
class Subscriber final : public PollingClient {
 public:
  explicit Subscriber(int port) : PollingClient(port) { start(); }
  ~Subscriber() override { stop(); }
  /// Waits until its cursor reached `epoch`, at most `bound`.
  bool wait_for(std::uint64_t epoch, std::chrono::milliseconds bound) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, bound, [&] { return from_ >= epoch; });
  }
  std::map<session::RecordId, int> marks() const {
    std::lock_guard<std::mutex> lock(mu_);
    return marks_;
  }
  std::vector<std::string> errors() const {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }

 private:
  static constexpr std::uint32_t kWaitMs = 200;

  bool round(codec::ClientConnection& connection, std::chrono::milliseconds* pause) override {
    std::uint64_t from = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      from = from_;
    }
    Result<codec::WatchAnswer> a = connection.watch({"Entry"}, from, 1024, kWaitMs);
    if (!a.is_ok()) return false;
    *pause = std::chrono::milliseconds(0);
    std::lock_guard<std::mutex> lock(mu_);
    if (a->resume) {
      errors_.push_back("told to resume from epoch " + std::to_string(from));
      from_ = a->through;
      return true;
    }
    for (const std::string& text : a->epochs) {
      const nlohmann::json epoch = nlohmann::json::parse(text, nullptr, false);
      if (epoch.is_discarded() || !epoch.contains("epoch")) {
        errors_.push_back("not an epoch: " + text);
        continue;
      }
      const auto e = epoch["epoch"].get<std::uint64_t>();
      if (e <= last_) errors_.push_back("epoch " + std::to_string(e) + " after " + std::to_string(last_));
      last_ = e;
      for (const nlohmann::json& c : epoch["changes"]) {
        if (c["field"] != "amount" || c["value"] != 1) continue;
        const std::string ref = c["ref"].get<std::string>();
        ++marks_[std::stoull(ref.substr(ref.find('#') + 1))];
      }
    }
    from_ = std::max(from_, a->through);
    changed_.notify_all();
    return true;
  }

  std::uint64_t from_ = 0;
  std::uint64_t last_ = 0;
  std::map<session::RecordId, int> marks_;
  std::vector<std::string> errors_;
};

class KillNine : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mgraph::testing::no_leak_report_in_nodes(); }
  void SetUp() override {
    dir_ = mgraph::testing::fresh_test_dir("mgraph_kill");
    std::ofstream(dir_ / "schema.mgs") << kSchema;
    // The coordinator's peer port stays the same across its restarts: the others were told it.
    peer_port_ = mgraph::testing::free_loopback_port();
    ASSERT_GT(peer_port_, 0);
    // n1 coordinates and hosts partition 0, n2 partitions 1 and 2, n3 partition 3.
    std::ofstream(dir_ / "cluster.toml")
        << "[cluster]\nschema = \"schema.mgs\"\npartitions = 4\npeer_timeout_ms = " << kPeerTimeout.count()
        << "\ncheckpoint_every = " << kCheckpointEvery << "\n\n"
        << "[[node]]\nname = \"n1\"\nport = " << peer_port_ << "\ncoordinator = true\npartitions = [0]\n\n"
        << "[[node]]\nname = \"n2\"\npartitions = [1, 2]\n\n"
        << "[[node]]\nname = \"n3\"\npartitions = [3]\n";
    kills_ = static_cast<int>(mgraph::testing::env_u64("MGRAPH_KILLS", 15));
    seed_ = mgraph::testing::env_u64("MGRAPH_KILL_SEED", 1);
  }
  void TearDown() override {
    mgraph::testing::kill_all({&n1_, &n2_, &n3_}, kSilenceMs);
    fs::remove_all(dir_);
  }

  std::vector<std::string> args(const std::string& name) const {
    std::vector<std::string> a{MGRAPHD_BINARY, "--config", (dir_ / "cluster.toml").string(), "--node", name};
    // Every node keeps its partitions' checkpoints; n1 also the epoch log.
    a.insert(a.end(), {"--data", (dir_ / (name + ".data")).string()});
    if (name != "n1") a.insert(a.end(), {"--peer", "n1=127.0.0.1:" + std::to_string(peer_port_)});
    return a;
  }
  /// The last lines each node printed, for a failure's message.
  std::string tails() {
    std::string out;
    for (const char* name : {"n1", "n2", "n3"}) {
      ChildProcess& c = process(name);
      while (c.pid > 0 && c.read_some(0)) {
      }
      const std::size_t from = c.printed.size() > 4000 ? c.printed.size() - 4000 : 0;
      out += std::string("---- ") + name + " (last lines)\n" + c.printed.substr(from) + "\n";
    }
    return out;
  }
  ChildProcess& process(const std::string& name) { return name == "n1" ? n1_ : name == "n2" ? n2_ : n3_; }
  /// Reads what every running node printed so far, without waiting, keeping the last
  /// kKeptOutputBytes of each.
  void drain() {
    for (const char* name : {"n1", "n2", "n3"}) {
      ChildProcess& c = process(name);
      for (int k = 0; k < kDrainReadsMax && c.pid > 0 && c.read_some(0); ++k) {
      }
      if (c.printed.size() > kKeptOutputBytes) c.printed.erase(0, c.printed.size() - kKeptOutputBytes);
    }
  }
  void launch(const std::string& name) {
    if (name != "n1") {
      process(name) = ChildProcess::spawn(args(name), true);
      return;
    }
    // The coordinator's port was chosen by the test: it may be taken meanwhile.
    EXPECT_TRUE(mgraph::testing::start_on_chosen_port(process(name), args(name), "(peers)", kSilenceMs))
        << process(name).printed;
  }
  void kill_nine(const std::string& name) {
    ChildProcess& c = process(name);
    if (c.pid <= 0) return;  // never started (kill(-1) would signal every process)
    ::kill(c.pid, SIGKILL);
    c.finish(kSilenceMs);
    c.pid = -1;
  }

  /// Starts the cluster; n3's client port (0 on failure).
  int start() {
    launch("n1");
    launch("n2");
    launch("n3");
    if (!n3_.read_until(": ready", kSilenceMs)) return 0;
    return client_port_of(n3_);
  }

  /// Creates the ledger and `entries` entries e1..eN in one transaction.
  void create_ledger(Client& client, int entries) {
    std::vector<std::string> lines{"create Ledger L"};
    for (int k = 1; k <= entries; ++k) {
      lines.push_back("create Entry e" + std::to_string(k));
      lines.push_back("link e" + std::to_string(k) + ".ledger L");
    }
    lines.push_back("commit");
    std::size_t failures = 0;
    const std::optional<std::string> out = client.run(lines, &failures);
    ASSERT_TRUE(out.has_value());
    ASSERT_EQ(failures, 0u) << *out;
  }

  /// Calls `attempt` until it returns true, at most `times`, pausing between failures from
  /// kRetryPause doubling up to kRetryPauseMax, as a client does while the cluster takes a
  /// node's loss in or the node back; whether one succeeded.
  template <typename Attempt>
  static bool retried(int times, Attempt attempt) {
    auto pause = kRetryPause;
    for (int k = 0; k < times; ++k) {
      if (attempt()) return true;
      std::this_thread::sleep_for(pause);
      pause = std::min(2 * pause, kRetryPauseMax);
    }
    return false;
  }

  /// Marks entry k, noting what the cluster said of it; true when it acknowledged it.
  bool mark(Client& client, int k) {
    std::size_t failures = 0;
    const std::optional<std::string> out =
        client.run({"update e" + std::to_string(k) + " amount=1", "commit"}, &failures);
    if (out.has_value() && failures == 0) {
      acknowledged_.insert(k);
      return true;
    }
    if (!out.has_value() || out->find("may have run") != std::string::npos) {
      unknown_.insert(k);
    } else {
      rolled_back_.insert(k);
    }
    return false;
  }

  /// The entries marked, and the ledger's total, read through `client`.
  std::pair<std::set<int>, long> read_back(Client& client, int entries) {
    // In batches of kReadsPerBatch gets: each one call, under the call's bound.
    std::string out;
    for (int first = 1; first <= entries + 1; first += kReadsPerBatch) {
      std::vector<std::string> lines;
      for (int k = first; k < first + kReadsPerBatch && k <= entries + 1; ++k) {
        lines.push_back(k <= entries ? "get e" + std::to_string(k) + ".amount" : "get L.total");
      }
      std::size_t failures = 0;
      const std::optional<std::string> part = client.run(lines, &failures);
      EXPECT_TRUE(part.has_value()) << "the transport failed: " << client.failure();
      EXPECT_EQ(failures, 0u) << part.value_or("");
      out += part.value_or("");
    }
    std::set<int> marked;
    long total = -1;
    std::size_t at = 0;
    for (int k = 1; k <= entries + 1; ++k) {
      const std::size_t end = out.find('\n', at);
      if (end == std::string::npos) break;
      const std::string line = out.substr(at, end - at);
      at = end + 1;
      const std::size_t v = line.find("\"value\":");
      if (v == std::string::npos) continue;
      const long value = std::strtol(line.c_str() + v + 8, nullptr, 10);
      if (k <= entries && value == 1) marked.insert(k);
      if (k == entries + 1) total = value;
    }
    EXPECT_GE(total, 0) << out.substr(0, 2000);
    return {marked, total};
  }

  /// The entries marked, checked against what the client was told: every acknowledged one
  /// is there, none answered as rolled back is, and the ledger's total counts them.
  std::set<int> read_back_checked(Client& client, int entries) {
    const auto [marked, total] = read_back(client, entries);
    for (const int k : acknowledged_) EXPECT_TRUE(marked.count(k)) << "acknowledged transaction " << k << " lost";
    EXPECT_TRUE(unknown_.empty()) << unknown_.size() << " transactions got no answer within "
                                  << kResendPatience.count() << " ms of resending";
    for (const int k : marked) {
      EXPECT_TRUE(acknowledged_.count(k) || unknown_.count(k))
          << "entry " << k << (rolled_back_.count(k) ? " answered as rolled back" : " never sent")
          << ", but marked";
    }
    EXPECT_EQ(total, static_cast<long>(marked.size()));
    return marked;
  }

  /// An integer field read through `client` (-1 when it could not be read).
  long get_int(Client& client, const std::string& ref) {
    std::size_t failures = 0;
    const std::optional<std::string> out = client.run({"get " + ref}, &failures);
    EXPECT_TRUE(out.has_value() && failures == 0) << out.value_or(client.failure());
    const std::size_t v = out ? out->find("\"value\":") : std::string::npos;
    return v == std::string::npos ? -1 : std::strtol(out->c_str() + v + 8, nullptr, 10);
  }

  /// The coordinator's ledger of each marked entry's effect: created false (version 1),
  /// raised by its mark (2), lowered by the consumer's ack (3), whose record settles the key
  /// the consumer was given; nothing more, so no record was lost or made twice across the
  /// kills and the runs of the log after them. Between, at the key of version 2, the
  /// attempts to deliver it (check_attempts).
  /// The delivery records of a key, in order: attempt 1, then any number of (the failure of
  /// attempt n, attempt n+1), all at version 2 after its transition. A coordinator killed
  /// after storing an attempt's records and before logging it counts from the attempt
  /// before when it restarts, so the last pair (or a lone attempt 1) may come again.
  static void check_attempts(const nlohmann::json& records, const std::string& context) {
    ASSERT_FALSE(records.empty()) << "no delivery attempt recorded: " << context;
    auto number = [](const nlohmann::json& x) {
      return nlohmann::json::parse(x["detail"].get<std::string>())["attempt"].get<int>();
    };
    int last = 0;  // the last attempt recorded
    std::uint64_t seq = 0;
    for (std::size_t i = 0; i < records.size(); ++i) {
      const nlohmann::json& x = records[i];
      EXPECT_EQ(x["version"], 2) << context;
      EXPECT_GT(x["seq"].get<std::uint64_t>(), seq) << context;
      seq = x["seq"];
      const int n = number(x);
      if (x["kind"] == "delivery_failure") {
        ASSERT_LT(i + 1, records.size()) << "a failure without the attempt after it: " << context;
        ASSERT_EQ(records[i + 1]["kind"], "delivery_attempt") << context;
        EXPECT_EQ(number(records[i + 1]), n + 1) << context;
        EXPECT_TRUE(n == last || n + 1 == last) << "failure of attempt " << n << " after attempt " << last << ": "
                                                << context;
        last = n + 1;
        ++i;  // its attempt, checked
      } else {
        ASSERT_EQ(x["kind"], "delivery_attempt") << context;
        EXPECT_EQ(n, 1) << "attempt " << n << " without the failure before it: " << context;
        EXPECT_LE(last, 1) << context;
        last = 1;
      }
    }
  }

  void check_ledger(Client& client, const std::map<session::RecordId, int>& entry_of,
                    const std::map<session::RecordId, Consumer::Key>& key_of) {
    for (const auto& [record, k] : entry_of) {
      const Result<std::string> out = client.audit(record, "paid");
      ASSERT_TRUE(out.is_ok()) << "entry " << k << ": " << out.status().message() << "\n" << tails();
      const nlohmann::json all = nlohmann::json::parse(*out, nullptr, false);
      ASSERT_TRUE(all.is_array()) << *out;
      nlohmann::json r = nlohmann::json::array(), attempts = nlohmann::json::array();
      for (const nlohmann::json& x : all) {
        (x["kind"].get<std::string>().starts_with("delivery_") ? attempts : r).push_back(x);
      }
      check_attempts(attempts, "entry " + std::to_string(k) + ": " + *out);
      ASSERT_EQ(r.size(), 4u) << "entry " << k << ": " << *out;
      const auto key = key_of.find(record);
      ASSERT_NE(key, key_of.end()) << "entry " << k;
      const std::string settled = R"({"key":{"field":)" + std::to_string(key->second.first) +
                                  R"(,"version":)" + std::to_string(key->second.second) +
                                  R"(},"before":true,"value":false})";
      const std::vector<std::tuple<int, int, std::string, std::string>> want{
          {1, 0, "transition", "false"}, {2, 0, "transition", "true"}, {3, 0, "transition", "false"},
          {3, 1, "ack", settled}};
      for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(r[i]["version"], std::get<0>(want[i])) << "entry " << k << ": " << *out;
        EXPECT_EQ(r[i]["seq"], std::get<1>(want[i])) << "entry " << k << ": " << *out;
        EXPECT_EQ(r[i]["kind"], std::get<2>(want[i])) << "entry " << k << ": " << *out;
        EXPECT_EQ(r[i]["detail"], std::get<3>(want[i])) << "entry " << k << ": " << *out;
      }
    }
  }

  /// The effects of the run: the consumer, deduplicating by key, saw each marked entry's
  /// effect under exactly one key and no other entry's, and, once it has acknowledged
  /// them all, the ledger owes none.
  void check_effects(Client& client, Consumer& consumer, const std::set<int>& marked) {
    std::set<session::RecordId> records;
    std::map<session::RecordId, int> entry_of;
    for (const int k : marked) {
      std::string name = std::to_string(k);
      name.insert(name.begin(), 'e');
      const auto at = client.aliases().find(name);
      ASSERT_NE(at, client.aliases().end()) << "e" << k;
      records.insert(at->second);
      entry_of[at->second] = k;
    }
    const bool settled = consumer.wait_settled(records, std::chrono::milliseconds(kSilenceMs));
    consumer.stop();
    const Consumer::Seen seen = consumer.seen();
    EXPECT_TRUE(settled) << seen.keys.size() << " keys received for " << records.size() << " marked entries, "
                         << seen.answered.size() << " acknowledged";
    EXPECT_TRUE(seen.errors.empty()) << seen.errors.front();
    std::map<session::RecordId, int> keys_of;
    for (const auto& [key, record] : seen.keys) ++keys_of[record];
    for (const auto& [record, keys] : keys_of) {
      EXPECT_TRUE(entry_of.count(record)) << "a delivery for record #" << record << ", which no acknowledged transaction marked";
      EXPECT_EQ(keys, 1) << "entry " << entry_of[record] << " triggered under " << keys << " keys";
    }
    EXPECT_EQ(keys_of.size(), records.size());
    EXPECT_EQ(get_int(client, "L.unacked"), 0);
    std::map<session::RecordId, Consumer::Key> key_of;
    for (const auto& [key, record] : seen.keys) key_of[record] = key;
    ASSERT_NO_FATAL_FAILURE(check_ledger(client, entry_of, key_of));
    std::cout << "effects: " << seen.deliveries << " deliveries of " << seen.keys.size() << " keys ("
              << seen.deliveries - seen.keys.size() << " sent again)\n";
  }

  /// The run: a client thread commits one transaction after another through n3, each on
  /// an entry of its own (a failed one is not sent again), while this thread kills `victim`
  /// with SIGKILL at random points of the load and starts it again, kills_ times.
  /// How often a subscriber from epoch 0 is told that each entry's amount became 1 (by
  /// entry number; `entry_of` maps record ids to them): the coordinator answers from its
  /// buffer and its history on disk, which hold every epoch since the log started, across
  /// the kills. Fails the test on a resume (an epoch not held) or on epochs out of order.
  std::map<int, int> watched_marks(int port, const std::map<session::RecordId, int>& entry_of) {
    std::map<int, int> seen;
    auto connection = codec::ClientConnection::connect("127.0.0.1", static_cast<std::uint16_t>(port), kCallTimeout);
    EXPECT_TRUE(connection.is_ok()) << connection.status().message();
    if (!connection.is_ok()) return seen;
    std::uint64_t from = 0, last = 0;
    // Bounded: each poll moves the cursor on, and the cluster is idle.
    for (int poll = 0; poll < 100'000; ++poll) {
      Result<codec::WatchAnswer> a = (*connection)->watch({"Entry"}, from, 1024, 0);
      EXPECT_TRUE(a.is_ok()) << a.status().message();
      if (!a.is_ok()) break;
      EXPECT_FALSE(a->resume) << "told to resume from epoch " << from << ": an epoch the coordinator does not hold";
      if (a->resume) break;
      for (const std::string& text : a->epochs) {
        const nlohmann::json epoch = nlohmann::json::parse(text);
        const std::uint64_t e = epoch["epoch"].get<std::uint64_t>();
        EXPECT_GT(e, last) << text;
        last = e;
        for (const nlohmann::json& c : epoch["changes"]) {
          if (c["field"] != "amount" || c["value"] != 1) continue;
          const std::string ref = c["ref"].get<std::string>();
          const auto it = entry_of.find(std::stoull(ref.substr(ref.find('#') + 1)));
          EXPECT_NE(it, entry_of.end()) << text;
          if (it != entry_of.end()) ++seen[it->second];
        }
      }
      if (a->epochs.empty()) break;
      from = a->through;
    }
    return seen;
  }

  void run_with_kills(const std::string& victim) {
    const int port = start();
    ASSERT_GT(port, 0) << n1_.printed << n2_.printed << n3_.printed;
    // Entries for the acknowledged transactions and the failed ones, whose attempts are
    // paced by kRetryPause while the victim is down.
    const int entries = kills_ * (kBetweenKillsMax + 16) + 50;
    Client client(port);
    ASSERT_NO_FATAL_FAILURE(create_ledger(client, entries));
    Consumer consumer(port);
    Subscriber subscriber(port);

    std::mutex mu;
    std::condition_variable progressed;
    int acknowledged = 0, sent = 0;
    bool stop = false;
    std::thread load([&] {
      Client c(port, client);
      std::chrono::milliseconds pause{0};
      for (int k = 1; k <= entries; ++k) {
        {
          std::lock_guard<std::mutex> lock(mu);
          if (stop) break;
        }
        const bool ok = mark(c, k);
        {
          std::lock_guard<std::mutex> lock(mu);
          sent = k;
          if (ok) ++acknowledged;
        }
        progressed.notify_all();
        // A pause between failed attempts while the cluster takes the victim back, doubling
        // up to kRetryPauseMax, so that the attempts span the restart without using every
        // entry.
        pause = ok ? std::chrono::milliseconds(0) : std::min(std::max(pause * 2, kRetryPause), kRetryPauseMax);
        std::this_thread::sleep_for(pause);
      }
    });
    // Waits until `n` transactions were acknowledged in all, or the loader gave up, at
    // most kSilenceMs; reads the nodes' output meanwhile, every kDrainEvery.
    auto acknowledged_reach = [&](int n) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kSilenceMs);
      for (;;) {
        drain();
        std::unique_lock<std::mutex> lock(mu);
        const auto slice = std::min(deadline, std::chrono::steady_clock::now() + kDrainEvery);
        if (progressed.wait_until(lock, slice, [&] { return acknowledged >= n || sent == entries; })) {
          return acknowledged >= n;
        }
        if (std::chrono::steady_clock::now() >= deadline) return false;
      }
    };
    mgraph::testing::Prng rng(seed_);
    int target = 0;
    for (int kill = 0; kill < kills_; ++kill) {
      target += 1 + static_cast<int>(rng.below(kBetweenKillsMax));
      if (!acknowledged_reach(target)) break;
      kill_nine(victim);
      launch(victim);
    }
    // The cluster takes the last one back and commits again.
    const bool recovered = acknowledged_reach(target + kBetweenKillsMax);
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    load.join();
    drain();
    ASSERT_TRUE(recovered) << "acknowledged " << acknowledged << " of " << sent << " sent; the client's last failure: "
                           << client.failure() << "\n" << tails();
    // An entry is sent once: at most one of the three outcomes.
    const std::set<int> marked = read_back_checked(client, entries);
    ASSERT_NO_FATAL_FAILURE(check_effects(client, consumer, marked));
    std::cout << victim << ": seed " << seed_ << ", " << kills_ << " kills, " << sent << " transactions, "
              << acknowledged_.size() << " acknowledged, " << rolled_back_.size()
              << " answered as rolled back, " << unknown_.size() << " of unknown outcome ("
              << (marked.size() - acknowledged_.size()) << " of those applied)\n";

    // A subscriber from epoch 0 is told of each marked entry once, in epoch order: the
    // coordinator's history of subscriptions kept every epoch across the kills.
    std::map<session::RecordId, int> entry_number;
    for (int k = 1; k <= entries; ++k) entry_number[client.aliases().at("e" + std::to_string(k))] = k;
    std::map<int, int> told;
    for (const int k : marked) told[k] = 1;
    EXPECT_EQ(watched_marks(port, entry_number), told);
    // And so was the subscriber that polled all along, once it caught up.
    {
      auto c = codec::ClientConnection::connect("127.0.0.1", static_cast<std::uint16_t>(port), kCallTimeout);
      ASSERT_TRUE(c.is_ok()) << c.status().message();
      // The newest epoch polls are told of: a poll of a field nothing changes moves its
      // cursor to it (a history's worth of epochs at a time).
      std::uint64_t newest = 0;
      for (std::uint64_t from = 0, poll = 0; poll < 100'000; ++poll) {
        Result<codec::WatchAnswer> a = (*c)->watch({"Ledger#999999999.total"}, from, 1, 0);
        ASSERT_TRUE(a.is_ok()) << a.status().message();
        if (a->through == from) break;
        from = newest = a->through;
      }
      EXPECT_TRUE(subscriber.wait_for(newest, std::chrono::milliseconds(kSilenceMs))) << "epoch " << newest;
    }
    subscriber.stop();
    std::map<int, int> live;
    for (const auto& [record, n] : subscriber.marks()) {
      const auto it = entry_number.find(record);
      EXPECT_NE(it, entry_number.end()) << "record " << record;
      if (it != entry_number.end()) live[it->second] = n;
    }
    EXPECT_EQ(live, told);
    EXPECT_TRUE(subscriber.errors().empty()) << subscriber.errors().front();

    // The whole cluster again, from the coordinator's log: the same ledger, and the same
    // epochs for a subscriber.
    for (const char* name : {"n3", "n2", "n1"}) kill_nine(name);
    const int again = start();
    ASSERT_GT(again, 0) << n1_.printed << n2_.printed << n3_.printed;
    Client reread(again, client);
    EXPECT_EQ(read_back_checked(reread, entries), marked);
    EXPECT_EQ(watched_marks(again, entry_number), told);
    EXPECT_EQ(get_int(reread, "L.unacked"), 0) << "effects owed again after a restart from the log";
    std::map<session::RecordId, int> entry_of;
    for (const int k : marked) entry_of[reread.aliases().at("e" + std::to_string(k))] = k;
    std::map<session::RecordId, Consumer::Key> key_of;
    for (const auto& [key, record] : consumer.seen().keys) key_of[record] = key;
    ASSERT_NO_FATAL_FAILURE(check_ledger(reread, entry_of, key_of));

    // The restarts went through checkpoints: every node holds its partitions' images.
    for (const char* name : {"n3", "n2", "n1"}) kill_nine(name);
    const std::pair<const char*, std::uint32_t> hosted[] = {{"n1", 0}, {"n2", 1}, {"n2", 2}, {"n3", 3}};
    for (const auto& [name, partition] : hosted) {
      mgraph::persistence::StoreOptions options;
      options.checkpoints_only = true;
      options.create_if_missing = false;
      auto store = mgraph::persistence::Store::open((dir_ / (std::string(name) + ".data") / "partitions").string(), options);
      ASSERT_TRUE(store.is_ok()) << store.status().message();
      auto newest = (*store)->newest_checkpoint("partition/" + std::to_string(partition));
      ASSERT_TRUE(newest.is_ok()) << newest.status().message();
      EXPECT_TRUE(newest->has_value()) << name << " holds no checkpoint of partition " << partition;
    }
  }

  fs::path dir_;
  int peer_port_ = 0;
  int kills_ = 0;
  std::uint64_t seed_ = 1;
  ChildProcess n1_, n2_, n3_;
  std::set<int> acknowledged_, rolled_back_, unknown_;
  int rollbacks_ = 0;
};

TEST_F(KillNine, AStoppedNodeIsCalledUnavailableAndRejoinsWhenItGoesOn) {
  const int port = start();
  ASSERT_GT(port, 0) << n1_.printed << n2_.printed << n3_.printed;
  Client client(port);
  ASSERT_NO_FATAL_FAILURE(create_ledger(client, 4));
  ASSERT_TRUE(mark(client, 1));
  // SIGSTOP: n2's connections stay open, and it answers nothing, heartbeats included.
  ::kill(n2_.pid, SIGSTOP);
  const auto stopped = std::chrono::steady_clock::now();
  std::size_t failures = 0;
  const std::optional<std::string> out = client.run({"update e2 amount=1", "commit"}, &failures);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
  ASSERT_TRUE(out.has_value()) << client.failure();
  // n2 hosts partitions 1 and 2: whichever the driver heard of first is named.
  EXPECT_TRUE(out->find("unavailable: partition 1 (node n2)") != std::string::npos ||
              out->find("unavailable: partition 2 (node n2)") != std::string::npos)
      << *out;
  std::cout << "a stopped node was called unavailable after " << waited << " s\n";
  // Within the configured timeout, not CAF's default (5 s) or the driver's bound on a
  // reply (30 s); the slack is for a loaded machine.
  EXPECT_LT(waited, 4.0 * std::chrono::duration<double>(kPeerTimeout).count());
  ::kill(n2_.pid, SIGCONT);
  // It finds its link gone, registers again, and the cluster commits again.
  EXPECT_TRUE(retried(200, [&] { return mark(client, 3); }));
  const auto [marked, total] = read_back(client, 4);
  EXPECT_EQ(marked, (std::set<int>{1, 3}));
  EXPECT_EQ(total, 2);
}

TEST_F(KillNine, AnUpdateThatStaysInItsRecordCommitsWhileANodeIsDownAndStaysWhenItIsBack) {
  // docs/CLUSTER.md, "Losing a node": an entry's memo is read by its own `twice` only, so
  // an update of it commits without n2 (partitions 1 and 2) when n1 or n3 owns the entry;
  // its amount is summed by the ledger, so an update of it needs every partition.
  const int port = start();
  ASSERT_GT(port, 0) << n1_.printed << n2_.printed << n3_.printed;
  Client client(port);
  ASSERT_NO_FATAL_FAILURE(create_ledger(client, 8));
  auto owner = [&](int k) {
    return schema::Placement::partition_of(client.aliases().at("e" + std::to_string(k)), 4, 0);
  };
  int up = 0, down = 0;  // an entry of partition 0 or 3, and one of partition 1 or 2
  for (int k = 1; k <= 8; ++k) {
    const std::uint32_t p = owner(k);
    if ((p == 0 || p == 3) && up == 0) up = k;
    if ((p == 1 || p == 2) && down == 0) down = k;
  }
  ASSERT_TRUE(up != 0 && down != 0) << "the 8 entries all fall on one side";
  kill_nine("n2");
  const std::string e_up = "e" + std::to_string(up), e_down = "e" + std::to_string(down);
  // The first transaction after the kill may be the one that finds n2 gone.
  std::optional<std::string> out;
  std::size_t failures = 1;
  const bool committed = retried(40, [&] {
    out = client.run({"update " + e_up + " memo=21", "commit"}, &failures);
    EXPECT_TRUE(out.has_value()) << client.failure();
    if (out.has_value() && failures != 0) {
      EXPECT_NE(out->find("(node n2)"), std::string::npos) << *out;
    }
    return out.has_value() && failures == 0;
  });
  ASSERT_TRUE(committed) << out.value_or("") << tails();
  out = client.run({"get " + e_up + ".twice"}, &failures);
  ASSERT_TRUE(out.has_value());
  EXPECT_NE(out->find("\"value\":42"), std::string::npos) << *out;
  // An entry n2 computes, and a field the ledger sums: both need n2, and say so.
  out = client.run({"update " + e_down + " memo=5", "commit"}, &failures);
  ASSERT_TRUE(out.has_value());
  EXPECT_NE(out->find("(node n2)"), std::string::npos) << *out;
  EXPECT_NE(failures, 0u);
  out = client.run({"update " + e_up + " amount=1", "commit"}, &failures);
  ASSERT_TRUE(out.has_value());
  EXPECT_NE(out->find("fields other records read"), std::string::npos) << *out;
  EXPECT_NE(failures, 0u);
  // n2 back: the cluster restores every partition and runs the log, the memo's epoch in it.
  launch("n2");
  ASSERT_TRUE(retried(200, [&] { return mark(client, down); })) << tails();
  out = client.run({"get " + e_up + ".twice", "get " + e_up + ".amount", "get L.total"}, &failures);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(failures, 0u) << *out;
  EXPECT_NE(out->find("\"get\":\"" + e_up + ".twice\",\"value\":42"), std::string::npos) << *out;
  EXPECT_NE(out->find("\"get\":\"" + e_up + ".amount\",\"value\":0"), std::string::npos) << *out;
  EXPECT_NE(out->find("\"get\":\"L.total\",\"value\":1"), std::string::npos) << *out;
}

TEST_F(KillNine, AShellScriptGoesOnAcrossAKilledCoordinatorAndRunsEachTransactionOnce) {
  const int port = start();
  ASSERT_GT(port, 0) << n1_.printed << n2_.printed << n3_.printed;
  ChildProcess shell = ChildProcess::spawn(
      {MGRAPH_BINARY, "eval", "--connect", "127.0.0.1:" + std::to_string(port), "--echo-commits"}, true);
  const std::string first = "create Ledger L\ncreate Entry e1\nlink e1.ledger L\nupdate e1 amount=1\ncommit\n";
  ASSERT_EQ(::write(shell.in, first.data(), first.size()), static_cast<ssize_t>(first.size()));
  ASSERT_TRUE(shell.read_until("{\"commit\":", kSilenceMs)) << shell.printed;
  kill_nine("n1");
  // Sent while the coordinator is down: the shell says it has no answer and sends again.
  const std::string second = "create Entry e2\nlink e2.ledger L\nupdate e2 amount=1\ncommit\n";
  ASSERT_EQ(::write(shell.in, second.data(), second.size()), static_cast<ssize_t>(second.size()));
  ASSERT_TRUE(shell.read_until("sending again in", kSilenceMs)) << shell.printed;
  launch("n1");
  const std::string reads = "get L.total\n";
  ASSERT_EQ(::write(shell.in, reads.data(), reads.size()), static_cast<ssize_t>(reads.size()));
  shell.close_input();
  EXPECT_EQ(shell.finish(kSilenceMs), 0) << shell.printed;
  // Both transactions applied once: the total counts two entries.
  EXPECT_NE(shell.printed.find("{\"get\":\"L.total\",\"value\":2,"), std::string::npos) << shell.printed;
}

TEST_F(KillNine, ANodeKilledAndRestartedUnderLoadLosesNoAcknowledgedTransaction) {
  run_with_kills("n2");
}

TEST_F(KillNine, TheCoordinatorKilledAndRestartedUnderLoadLosesNoAcknowledgedTransaction) {
  run_with_kills("n1");
}

}  // namespace
}  // namespace mgraph::node
