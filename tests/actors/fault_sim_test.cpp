// The documents' cluster — sequencer, driver, partitions and clients — in one process under
// a simulated network, with faults, replayable from a seed.
//
// CAF's deterministic scheduler runs one actor job at a time, picked at random among those
// ready (so messages between the sequencer, the driver and the clients arrive in a random
// order and after random delays), and the driver delivers the partitions' Marks and
// Resolves one at a time in a random order. Faults, at random points of that schedule:
//   - the coordinator crashes: the sequencer and the driver stop where they are, with
//     everything they held in memory (batches received and not yet logged, epochs being
//     run, answers not yet sent); the log keeps what was appended (an append is durable
//     when it returns);
//   - a partition becomes unavailable before or after it serves a request (then its reply
//     is lost): the driver rolls the epoch back and cancels it in the log; the partition's
//     node comes back some steps later, which restarts the coordinator on its log with
//     every partition empty, as a cluster does when a node rejoins;
//   - the log fails a write of a flush's epochs (one sync), writing nothing: the driver ran
//     them beside the write and rolls them back, their clients hear "rolled back", and the
//     next write fills their numbers with cancellations.
// In half of the seeds the log is the coordinator's own on disk (node/src/lmdb_epoch_log.hpp:
// LMDB behind a write-ahead file, here of 4 KiB so that it fills and moves into the store
// often), closed at every crash without moving what the file holds and opened again at the
// start, and it is the file's syncs that fail (each failed group unwritten).
// Clients send transactions with ids, one at a time each, and send every one whose answer
// they have not had again (same id) to the coordinator that starts after a crash.
//
// Of every three transactions of a client, one creates an Entry with a distinct tag and
// links it to the ledger, whose aggregates count the entries and sum their tags and their
// tags' squares; one writes the tag to the client's own Counter (`update #C v=TAG`), whose
// `w = v * 2` the ledger sums: the same writes again and again, which the driver sends with
// their predicted Marks (docs/EPOCHS.md) once it has learnt them; and one writes it to the
// Counter's memo, which only the counter's own `thrice` reads, so that it commits around a
// lost partition that does not own the counter (actors/partitioned.hpp, "Commits around an
// unreachable partition"). After the run, and after one more restart from the log: every
// transaction was answered (none of unknown outcome), and the ledger's aggregates and the
// counters' memos equal those of exactly the acknowledged transactions — so none
// acknowledged is lost, none answered "rolled back" is there, and none is there twice (a
// client's counter holds its last acknowledged tags: its transactions run in the order it
// sends them) — which is also what the embedded engine gives for them.
//
// Seeds: MGRAPH_SIM_SEEDS (default 500) from MGRAPH_SIM_FIRST_SEED (default 1);
// scripts/soak-sim.sh runs more.

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "deterministic_system.hpp"
#include "lmdb_epoch_log.hpp"
#include "mgraph/actors/documents.hpp"
#include "mgraph/actors/watch.hpp"
#include "mgraph/codec/client_rpc.hpp"
#include "mgraph/codec/partition_codec.hpp"
#include "mgraph/codec/session_codec.hpp"
#include "mgraph/graph/schema/parser.hpp"
#include "mgraph/session/client.hpp"
#include "support/env.hpp"
#include "support/prng.hpp"
#include "support/scratch_dir.hpp"

namespace mgraph::actors {
namespace {

using Rng = mgraph::testing::Prng;

constexpr const char* kSchema =
    "entity Ledger {\n"
    "  entries: many Entry via ledger\n"
    "  n: int = count(entries)\n"
    "  tags: int = sum(entries[*].tag)\n"
    "  squares: int = sum(entries[*].square)\n"
    "  counters: many Counter via ledger\n"
    "  ws: int = sum(counters[*].w)\n"
    "}\n"
    "entity Entry {\n"
    "  tag: int = 0\n"
    "  square: int = tag * tag\n"
    "}\n"
    "entity Counter {\n"
    "  v: int = 0\n"
    "  w: int = v * 2\n"
    "  memo: int = 0\n"
    "  thrice: int = memo * 3\n"
    "}\n";

constexpr std::size_t kClients = 3;
constexpr std::size_t kTxnsPerClient = 9;
/// Scheduler steps in one seed's run at most: a run that has not ended by then hangs.
constexpr std::size_t kStepsMax = 100'000;
/// Faults in one seed's run at most, so that every run ends.
constexpr int kCrashesMax = 3;
constexpr int kPartitionLossesMax = 2;
/// The write-ahead file of the log on disk: a dozen of the simulation's epochs fill it.
constexpr std::size_t kSimWalBytes = 4096;
/// The ledger's record id: the first record the cluster creates.
constexpr session::RecordId kLedger = 1;
/// Client k's Counter: made with the ledger, right after it.
constexpr session::RecordId counter_of(std::size_t client) { return kLedger + 1 + client; }
/// Which client a tag is of (send_next numbers them).
constexpr std::size_t client_of(std::int64_t tag) { return static_cast<std::size_t>(tag - 1) % kClients; }

/// Partitions in this process that the simulation takes down: a partition that is down
/// answers every request "unavailable", as ActorPartitions answers for a lost node.
class FaultyPartitions final : public PartitionSet {
  static std::string lost(std::uint32_t p) {
    return "unavailable: partition " + std::to_string(p) + " (node sim" + std::to_string(p) + "): lost";
  }

 public:
  /// `down` is shared with the simulation, which decides when a partition goes down
  /// (`fails`, asked before and after each request a partition serves) and brings it back.
  FaultyPartitions(std::unique_ptr<LocalPartitions> inner, std::shared_ptr<std::vector<bool>> down,
                   std::function<bool()> fails)
      : inner_(std::move(inner)), down_(std::move(down)), fails_(std::move(fails)) {}

  std::uint32_t size() const override { return inner_->size(); }
  std::vector<codec::PartitionReply> call(const std::vector<Call>& calls) override {
    std::vector<codec::PartitionReply> replies(calls.size());
    for (std::size_t i = 0; i < calls.size(); ++i) {
      const std::uint32_t p = calls[i].first;
      if (!(*down_)[p] && fails_()) (*down_)[p] = true;  // lost before it serves
      if (!(*down_)[p]) {
        replies[i] = std::move(inner_->call({calls[i]}).front());
        if (fails_()) (*down_)[p] = true;  // served, and lost before its reply left
      }
      if ((*down_)[p]) {
        replies[i] = codec::PartitionReply{};
        replies[i].status = Status(StatusCode::io_error, lost(p));
      }
    }
    return replies;
  }
  std::string unreachable(std::uint32_t p) const override { return (*down_)[p] ? lost(p) : std::string(); }

 private:
  std::unique_ptr<LocalPartitions> inner_;
  std::shared_ptr<std::vector<bool>> down_;
  std::function<bool()> fails_;
};

/// The simulation's log: epochs in memory, whose group writes (a flush's epochs, one sync)
/// fail at random as a failing disk's do, writing nothing of the group. The driver ran
/// those epochs beside the write and rolls them back (docs/EPOCHS.md, "The log write
/// beside the epoch"); the other entries (checkpoints, cancellations) are always written.
class FlakyLog final : public ForwardingEpochLog {
 public:
  explicit FlakyLog(std::function<bool()> fails) : ForwardingEpochLog(memory_), fails_(std::move(fails)) {}
  Status append_group(const std::vector<std::pair<codec::Epoch, std::string_view>>& epochs) override {
    if (fails_()) {
      ++failed_;
      return Status(StatusCode::io_error, "disk full (simulated)");
    }
    return ForwardingEpochLog::append_group(epochs);
  }
  /// Group writes that failed so far.
  std::size_t failed() const { return failed_; }

 private:
  MemoryEpochLog memory_;  // constructed after the base, which only keeps a reference
  std::function<bool()> fails_;
  std::size_t failed_ = 0;
};

session::Op get_op(const std::string& field, session::RecordId record = kLedger) {
  session::Op op;
  op.kind = session::OpKind::get;
  op.refs = {session::RecordRef{record, {}, "R"}};
  op.name = field;
  op.text = "R." + field;
  return op;
}

/// Creates an Entry tagged `tag`, links it to the ledger, commits.
session::Batch entry_txn(std::int64_t tag) {
  session::Op create;
  create.kind = session::OpKind::create;
  create.entity = "Entry";
  create.values = {{"tag", Value(tag)}};
  session::Op link;
  link.kind = session::OpKind::link;
  link.refs = {session::RecordRef{0, {0}, "e"}, session::RecordRef{kLedger, {}, "L"}};
  link.name = "ledger";
  session::Op commit;
  commit.kind = session::OpKind::commit;
  return {create, link, commit};
}

/// Writes `tag` to field `field` of the client's Counter, commits.
session::Batch counter_txn(std::size_t client, std::int64_t tag, const char* field) {
  session::Op update;
  update.kind = session::OpKind::update;
  update.refs = {session::RecordRef{counter_of(client), {}, "C"}};
  update.values = {{field, Value(tag)}};
  session::Op commit;
  commit.kind = session::OpKind::commit;
  return {update, commit};
}

session::Op make_ledger_op() {
  session::Op create;
  create.kind = session::OpKind::create;
  create.entity = "Ledger";
  return create;
}

session::Op commit_op() {
  session::Op commit;
  commit.kind = session::OpKind::commit;
  return commit;
}

/// The ledger's aggregates, and the clients' counters' memos (which no aggregate reads)
/// and their `thrice`, summed.
struct Totals {
  std::int64_t n = 0, tags = 0, squares = 0, ws = 0, memos = 0, thrices = 0;
  friend bool operator==(const Totals&, const Totals&) = default;
};

std::string show(const Totals& t) {
  return "n=" + std::to_string(t.n) + " tags=" + std::to_string(t.tags) + " squares=" + std::to_string(t.squares) +
         " ws=" + std::to_string(t.ws) + " memos=" + std::to_string(t.memos) + " thrices=" + std::to_string(t.thrices);
}

/// What a client's transaction does: an entry of the ledger, its counter's `v` (which the
/// ledger sums), or its counter's memo (which only the counter reads: it commits around a
/// lost partition that does not own the counter, actors/partitioned.hpp).
enum class TxnKind : std::uint8_t { entry, counter, memo };

/// One client: its transactions in order, the one it waits for, what it was told.
struct SimClient {
  std::unique_ptr<caf::scoped_actor> self;
  std::uint64_t id = 0;
  std::size_t next = 0;                     ///< transactions sent so far (the next's index)
  std::optional<std::int64_t> waiting;      ///< the tag of the transaction awaiting its answer
  TxnKind kind = TxnKind::entry;            ///< that transaction's
  std::string bytes;                        ///< that transaction's bytes, sent again as they are
  bool resend = false;                      ///< answered with an error: to send again
};

class FaultSimulation {
 public:
  FaultSimulation(caf::actor_system& sys, std::shared_ptr<const schema::Schema> schema, std::uint64_t seed)
      : sys_(sys),
        sched_(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
        schema_(std::move(schema)),
        rng_(seed) {
    partitions_ = static_cast<std::uint32_t>(1 + rng_.below(4));
    salt_ = rng_.next();
    batching_.transactions_max = 1 + rng_.below(8);
    // Faults per step: a few per run, at different points for every seed.
    crash_per_mille_ = 2 + rng_.below(20);
    loss_per_10k_ = rng_.below(15);
    // Checkpoints every few epochs in three seeds of four (they survive a crash, as the
    // log does); the others run the whole log at every start.
    driver_options_.checkpoint_every = rng_.below(4) == 0 ? 0 : 1 + rng_.below(6);
    down_ = std::make_shared<std::vector<bool>>(partitions_, false);
    for (std::size_t c = 0; c < kClients; ++c) {
      SimClient client;
      client.self = std::make_unique<caf::scoped_actor>(sys_);
      client.id = 0x51000 + c;
      clients_.push_back(std::move(client));
    }
    // Log writes that fail, in three seeds of four (drawn last: the draws above are as
    // they were before this fault existed).
    log_fail_per_mille_ = rng_.below(4) == 0 ? 0 : rng_.below(150);
    // The log on disk, in half of the seeds (drawn after the others, for the same reason).
    if (rng_.below(2) == 0) disk_ = std::make_unique<mgraph::testing::ScratchDir>("mgraph_sim_log");
  }
  ~FaultSimulation() { stop(); }

  /// Runs the clients' transactions through crashes and losses; false (with a failure
  /// recorded) when the run did not end.
  void run() {
    start();
    ASSERT_TRUE(send_alone(make_ledger())) << "the ledger could not be created";
    std::size_t step = 0;
    for (; step < kStepsMax && !done(); ++step) {
      for (SimClient& c : clients_) receive(c);
      for (SimClient& c : clients_) {
        if (c.resend && rng_.below(4) == 0) {
          c.resend = false;
          ++resends_;
          (*c.self)->send(sequencer_, transact_atom::value, c.bytes);
        }
        if (!c.waiting && c.next < kTxnsPerClient && rng_.below(4) == 0) send_next(c);
      }
      const bool lost = std::find(down_->begin(), down_->end(), true) != down_->end();
      if (lost && (++down_steps_ > 50 || !sched_.has_job())) {
        restart();  // the lost partition's node came back
        continue;
      }
      if (crashes_ < kCrashesMax && rng_.below(1000) < crash_per_mille_) {
        ++crashes_;
        restart();  // the coordinator crashed
        continue;
      }
      if (sched_.has_job()) {
        std::swap(sched_.jobs.front(), sched_.jobs[rng_.below(sched_.jobs.size())]);
        sched_.run_once();
      } else {
        // Nothing to run: every client waiting must have had its answer.
        for (SimClient& c : clients_) receive(c);
        for (const SimClient& c : clients_) {
          if (c.resend) continue;  // sent again at a later step
          ASSERT_FALSE(c.waiting) << "client " << c.id << " waits for tag " << *c.waiting
                                  << " and the cluster has nothing left to do (step " << step << ")";
        }
      }
    }
    ASSERT_LT(step, kStepsMax) << "the run did not end";
  }

  /// The ledger's aggregates, read after one more restart from the log.
  std::optional<Totals> read_back() {
    faults_ = false;
    restart();
    session::Batch reads{get_op("n"), get_op("tags"), get_op("squares"), get_op("ws")};
    for (std::size_t c = 0; c < kClients; ++c) {
      reads.push_back(get_op("memo", counter_of(c)));
      reads.push_back(get_op("thrice", counter_of(c)));
    }
    Result<std::string> bytes = codec::encode_batch(reads);
    if (!bytes.is_ok()) return std::nullopt;
    Result<std::string> answer = ask(*bytes);
    if (!answer.is_ok()) {
      ADD_FAILURE() << answer.status().message();
      return std::nullopt;
    }
    Result<session::BatchResult> r = codec::decode_batch_result(*answer);
    if (!r.is_ok() || r->size() != reads.size()) return std::nullopt;
    Totals t;
    std::int64_t* fields[] = {&t.n, &t.tags, &t.squares, &t.ws};
    for (std::size_t i = 0; i < reads.size(); ++i) {
      if (!(*r)[i].status.is_ok()) {
        ADD_FAILURE() << (*r)[i].status.message();
        return std::nullopt;
      }
      const std::int64_t v = (*r)[i].value.as_int();
      if (i < 4) {
        *fields[i] = v;
      } else {
        ((i - 4) % 2 == 0 ? t.memos : t.thrices) += v;
      }
    }
    return t;
  }

  /// What the acknowledged transactions, and they alone, give.
  Totals expected() const {
    Totals t;
    std::vector<std::int64_t> last(kClients, 0);  // each client's last acknowledged counter tag
    std::vector<std::int64_t> memo(kClients, 0);  // and memo tag
    for (const std::int64_t tag : acknowledged_) {
      if (counter_tags_.count(tag) != 0) {
        last[client_of(tag)] = std::max(last[client_of(tag)], tag);
        continue;
      }
      if (memo_tags_.count(tag) != 0) {
        memo[client_of(tag)] = std::max(memo[client_of(tag)], tag);
        continue;
      }
      ++t.n;
      t.tags += tag;
      t.squares += tag * tag;
    }
    for (const std::int64_t v : last) t.ws += 2 * v;
    for (const std::int64_t m : memo) {
      t.memos += m;
      t.thrices += 3 * m;
    }
    return t;
  }
  /// Commits the drivers sent with predicted Marks, and batches they ran again.
  std::uint64_t predicted() const { return predicted_; }
  std::uint64_t reruns() const { return reruns_; }
  /// Commits answered when decided, and of those the ones a partition was lost during.
  std::uint64_t decided() const { return decided_; }
  std::uint64_t decided_cut() const { return decided_cut_; }
  /// Commits made around a lost partition (actors/partitioned.hpp).
  std::uint64_t around() const { return around_; }

  /// Group writes of the log that failed (their epochs rolled back).
  std::size_t log_failures() const { return disk_ ? disk_failures_ : log_.failed(); }
  /// Whether the log was the one on disk.
  bool on_disk() const { return disk_ != nullptr; }
  const std::set<std::int64_t>& acknowledged() const { return acknowledged_; }
  const std::set<std::int64_t>& rolled_back() const { return rolled_back_; }
  int crashes() const { return crashes_; }
  int losses() const { return losses_; }
  std::uint32_t partitions() const { return partitions_; }
  std::size_t resends() const { return resends_; }
  /// Checkpoints of every partition the log records now (compaction keeps the last ones).
  std::size_t checkpoints_logged() {
    std::size_t n = 0;
    EXPECT_TRUE(log().replay([&](codec::Epoch, std::string_view bytes) {
                      n += codec::is_epoch_checkpoint(bytes) ? 1 : 0;
                      return Status::ok();
                    }).is_ok());
    return n;
  }
  std::size_t doubts() const { return doubts_; }

 private:
  /// The ledger, and each client's Counter linked to it.
  session::Batch make_ledger() const {
    session::Batch batch{make_ledger_op()};
    for (std::size_t c = 0; c < kClients; ++c) {
      session::Op create;
      create.kind = session::OpKind::create;
      create.entity = "Counter";
      batch.push_back(create);
    }
    for (std::size_t c = 0; c < kClients; ++c) {
      session::Op link;
      link.kind = session::OpKind::link;
      link.refs = {session::RecordRef{0, {static_cast<std::uint32_t>(1 + c)}, "C"},
                   session::RecordRef{0, {0}, "L"}};
      link.name = "ledger";
      batch.push_back(link);
    }
    batch.push_back(commit_op());
    return batch;
  }

  void start() {
    auto local = std::make_unique<LocalPartitions>(
        schema_, LocalPartitions::Options{partitions_, salt_, 64, /*through_bytes=*/true, checkpoints_});
    std::fill(down_->begin(), down_->end(), false);
    down_steps_ = 0;
    auto set = std::make_unique<FaultyPartitions>(std::move(local), down_, [this] {
      if (!faults_ || losses_ >= kPartitionLossesMax || rng_.below(10'000) >= loss_per_10k_) return false;
      ++losses_;
      return true;
    });
    PartitionedDocuments::Options options;
    options.salt = salt_;
    options.choose = [this](std::size_t n) { return rng_.below(n); };
    documents_ = std::make_shared<PartitionedDocuments>(std::move(set), options);
    driver_ = sys_.spawn(documents_driver_actor, documents_, SchemaInfo{"sim", schema_->source.text, 1},
                         driver_options_);
    SequencerOptions sequencer;
    sequencer.batching = batching_;
    sequencer.now = [this] { return clock_; };
    if (disk_) {
      // Opened again as a restarted coordinator opens it: what the file holds moves in.
      auto opened = node::LmdbEpochLog::open(
          disk_->sub("log"), [this] { return ++log_clock_; },
          [this](int) {
            if (!faults_ || rng_.below(1000) >= log_fail_per_mille_) return 0;
            ++disk_failures_;
            return EIO;
          },
          kSimWalBytes);
      ASSERT_TRUE(opened.is_ok()) << opened.status().message();
      disk_log_ = std::move(opened).value();
    }
    sequencer_ = sys_.spawn(sequencer_actor, driver_, &log(), EpochObserver{}, sequencer);
  }

  EpochLog& log() { return disk_log_ ? static_cast<EpochLog&>(*disk_log_) : log_; }

  /// The coordinator stops where it is, losing what it held in memory.
  void stop() {
    if (!sequencer_) return;
    caf::anon_send_exit(sequencer_, caf::exit_reason::kill);
    caf::anon_send_exit(driver_, caf::exit_reason::kill);
    sched_.run();
    sequencer_ = caf::actor{};
    driver_ = caf::actor{};
    predicted_ += documents_->traffic().predicted;
    reruns_ += documents_->traffic().reruns;
    decided_ += documents_->traffic().decided;
    decided_cut_ += documents_->traffic().decided_cut;
    around_ += documents_->traffic().around_unreachable;
    EXPECT_EQ(documents_->traffic().decided_unlike, 0u);
    documents_.reset();
    disk_log_.reset();  // as the process ends: nothing the file holds moves into the store
  }

  /// A new coordinator on the log (every partition empty: it runs the log again); every
  /// client sends the transaction it waits for again, with the same id.
  void restart() {
    clock_ += std::chrono::seconds(1);
    for (SimClient& c : clients_) receive(c);  // answers sent before the stop arrive
    stop();
    for (SimClient& c : clients_) receive(c);
    start();
    for (SimClient& c : clients_) {
      if (!c.waiting) continue;
      c.resend = false;
      ++resends_;
      (*c.self)->send(sequencer_, transact_atom::value, c.bytes);
    }
  }

  bool done() const {
    for (const SimClient& c : clients_) {
      if (c.waiting || c.next < kTxnsPerClient) return false;
    }
    return true;
  }

  void send_next(SimClient& c) {
    const std::size_t client = c.id - 0x51000;
    const std::int64_t tag = static_cast<std::int64_t>(1 + c.next * kClients + client);
    c.kind = static_cast<TxnKind>(c.next % 3);
    ++c.next;
    if (c.kind == TxnKind::counter) counter_tags_.insert(tag);
    if (c.kind == TxnKind::memo) memo_tags_.insert(tag);
    const session::Batch batch = c.kind == TxnKind::entry     ? entry_txn(tag)
                                 : c.kind == TxnKind::counter ? counter_txn(client, tag, "v")
                                                              : counter_txn(client, tag, "memo");
    Result<std::string> bytes = codec::encode_batch(batch, session::TxnId{c.id, c.next});
    ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
    c.waiting = tag;
    c.bytes = *bytes;
    (*c.self)->send(sequencer_, transact_atom::value, c.bytes);
  }

  /// Takes the client's answer if one came: acknowledged or rolled back.
  void receive(SimClient& c) {
    bool more = true;
    while (more) {
      (*c.self)->receive(
          [&](const std::string& answer) {
            ASSERT_TRUE(c.waiting) << "client " << c.id << " was answered twice";
            Result<session::BatchResult> r = codec::decode_batch_result(answer);
            ASSERT_TRUE(r.is_ok()) << r.status().message();
            bool ok = r->size() == (c.kind == TxnKind::entry ? 3u : 2u);
            for (const session::OpResult& op : *r) ok = ok && op.status.is_ok();
            (ok ? acknowledged_ : rolled_back_).insert(*c.waiting);
            c.waiting.reset();
          },
          // No outcome (the transaction is in doubt until the log runs whole again, or the
          // coordinator is stopping): the client sends it again at once, as a client
          // that resends does, and to the next coordinator if this one stops.
          [&](const caf::error& e) {
            ASSERT_TRUE(c.waiting) << "client " << c.id << ": " << sys_.render(e);
            ++doubts_;
            c.resend = true;
          },
          caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
    }
  }

  /// Sends a batch without an id from a client of its own and runs the cluster until it
  /// is answered (no faults).
  Result<std::string> ask(const std::string& bytes) {
    caf::scoped_actor asker{sys_};
    asker->send(sequencer_, transact_atom::value, bytes);
    sched_.run();
    Result<std::string> out = Status(StatusCode::internal, "no answer");
    asker->receive([&](const std::string& answer) { out = answer; },
                   [&](const caf::error& e) { out = Status(StatusCode::internal, sys_.render(e)); },
                   caf::after(std::chrono::seconds(0)) >> [] {});
    return out;
  }
  bool send_alone(const session::Batch& batch) {
    faults_ = false;  // none while the ledger is made
    Result<std::string> bytes = codec::encode_batch(batch);
    Result<std::string> answer = bytes.is_ok() ? ask(*bytes) : bytes.status();
    faults_ = true;
    if (!answer.is_ok()) return false;
    Result<session::BatchResult> r = codec::decode_batch_result(*answer);
    if (!r.is_ok() || r->size() != batch.size()) return false;
    for (const session::OpResult& op : *r) {
      if (!op.status.is_ok()) return false;
    }
    return r->front().created == kLedger && (*r)[1].created == counter_of(0);
  }

  caf::actor_system& sys_;
  caf::scheduler::test_coordinator& sched_;
  std::shared_ptr<const schema::Schema> schema_;
  Rng rng_;
  std::uint32_t partitions_ = 1;
  std::uint64_t salt_ = 0;
  BatchingOptions batching_;
  std::uint64_t crash_per_mille_ = 0;  ///< per scheduler step
  std::uint64_t loss_per_10k_ = 0;     ///< per request a partition serves, before and after
  std::shared_ptr<std::vector<bool>> down_;
  std::size_t down_steps_ = 0;
  std::chrono::steady_clock::time_point clock_{};
  std::uint64_t log_fail_per_mille_ = 0;  ///< per group write of the log
  FlakyLog log_{[this] { return faults_ && rng_.below(1000) < log_fail_per_mille_; }};
  /// The log on disk (in half of the seeds): its directory, the log while a coordinator
  /// runs, its clock, and the syncs of its file that failed.
  std::unique_ptr<mgraph::testing::ScratchDir> disk_;
  std::unique_ptr<node::LmdbEpochLog> disk_log_;
  std::uint64_t log_clock_ = 0;
  std::size_t disk_failures_ = 0;
  std::shared_ptr<MemoryPartitionCheckpoints> checkpoints_ = std::make_shared<MemoryPartitionCheckpoints>();
  DriverOptions driver_options_;
  caf::actor sequencer_, driver_;
  std::shared_ptr<PartitionedDocuments> documents_;  ///< the driver's, while it runs
  std::vector<SimClient> clients_;
  std::set<std::int64_t> acknowledged_, rolled_back_;
  std::set<std::int64_t> counter_tags_;  ///< tags of the transactions writing a Counter's v
  std::set<std::int64_t> memo_tags_;     ///< tags of those writing a Counter's memo
  std::uint64_t predicted_ = 0, reruns_ = 0, decided_ = 0, decided_cut_ = 0, around_ = 0;
  bool faults_ = true;  ///< partitions may be lost
  int crashes_ = 0, losses_ = 0;
  std::size_t resends_ = 0, doubts_ = 0;
};

using FaultSim = mgraph::testing::DeterministicSystem;

TEST_F(FaultSim, EveryAcknowledgedTransactionIsThereOnceThroughCrashesAndLostPartitions) {
  auto compiled = schema::compile_schema(schema::SourceFile{"ledger.mgs", kSchema});
  ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
  const std::uint64_t seeds = mgraph::testing::env_u64("MGRAPH_SIM_SEEDS", 500);
  const std::uint64_t first = mgraph::testing::env_u64("MGRAPH_SIM_FIRST_SEED", 1);
  std::size_t acknowledged = 0, rolled_back = 0, crashes = 0, losses = 0, resends = 0, doubts = 0;
  std::size_t with_checkpoints = 0, log_failures = 0, on_disk = 0;
  std::uint64_t predicted = 0, reruns = 0, decided = 0, decided_cut = 0, around = 0;
  for (std::uint64_t seed = first; seed < first + seeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (MGRAPH_SIM_FIRST_SEED=" + std::to_string(seed) +
                 " MGRAPH_SIM_SEEDS=1 replays it)");
    FaultSimulation sim(sys, *compiled, seed);
    ASSERT_NO_FATAL_FAILURE(sim.run());
    const std::optional<Totals> held = sim.read_back();
    ASSERT_TRUE(held.has_value());
    ASSERT_EQ(*held, sim.expected()) << "held " << show(*held) << ", acknowledged " << show(sim.expected())
                                     << "; " << sim.partitions() << " partitions, " << sim.crashes()
                                     << " crashes, " << sim.losses() << " partition losses";
    ASSERT_EQ(sim.acknowledged().size() + sim.rolled_back().size(), kClients * kTxnsPerClient);
    acknowledged += sim.acknowledged().size();
    rolled_back += sim.rolled_back().size();
    crashes += static_cast<std::size_t>(sim.crashes());
    losses += static_cast<std::size_t>(sim.losses());
    resends += sim.resends();
    doubts += sim.doubts();
    with_checkpoints += sim.checkpoints_logged() > 0 ? 1 : 0;
    predicted += sim.predicted();
    reruns += sim.reruns();
    decided += sim.decided();
    decided_cut += sim.decided_cut();
    around += sim.around();
    log_failures += sim.log_failures();
    on_disk += sim.on_disk() ? 1 : 0;
  }
  // The faults happened: the runs are not all fault-free.
  EXPECT_GT(crashes, seeds / 2);
  EXPECT_GT(losses, seeds / 4);
  EXPECT_GT(rolled_back, 0u);
  EXPECT_GT(with_checkpoints, seeds / 2);  // most runs start again from checkpoints
  EXPECT_GT(predicted, seeds / 4);          // commits sent with their predicted Marks
  EXPECT_GT(decided, seeds);                 // commits answered when decided
  EXPECT_GT(decided_cut, 0u);                // a partition lost after the answer
  EXPECT_GT(around, seeds / 20);             // memos committed around a lost partition
  EXPECT_GT(log_failures, seeds / 4);        // epochs whose log write failed, rolled back
  EXPECT_GT(on_disk, seeds / 4);             // runs on the coordinator's log on disk
  std::printf("%llu seeds: %zu transactions acknowledged, %zu rolled back, %zu coordinator crashes, "
              "%zu partition losses, %zu transactions sent again, %zu answered \"in doubt\" meanwhile; "
              "%zu runs with checkpoints in their log; %llu commits with predicted Marks, %llu run again; "
              "%llu answered when decided, %llu of them then cut short by a lost partition; "
              "%llu committed around a lost partition; "
              "%zu log writes failed; %zu runs on the log on disk\n",
              static_cast<unsigned long long>(seeds), acknowledged, rolled_back, crashes, losses, resends, doubts,
              with_checkpoints, static_cast<unsigned long long>(predicted), static_cast<unsigned long long>(reruns),
              static_cast<unsigned long long>(decided), static_cast<unsigned long long>(decided_cut),
              static_cast<unsigned long long>(around), log_failures, on_disk);
}

// A snapshot a subscriber resumes from (watch_read_atom) is never read while the partitions
// may hold what the log does not: once an epoch was cut short by an unavailable partition
// (the others may have committed it, and it is cancelled in the log), the read is refused as
// "not ready" (so `mgraph watch` tries again) until the partitions are restored from the log.
TEST_F(FaultSim, ASnapshotIsRefusedAsNotReadyFromAnEpochCutShortUntilThePartitionsAreRestored) {
  auto compiled = schema::compile_schema(schema::SourceFile{"ledger.mgs", kSchema});
  ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
  auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  constexpr std::uint32_t kPartitions = 2;
  MemoryEpochLog log;
  auto checkpoints = std::make_shared<MemoryPartitionCheckpoints>();
  auto down = std::make_shared<std::vector<bool>>(kPartitions, false);
  bool lose_next = false;  // partition 1 is lost at its next request
  caf::actor sequencer, driver;
  auto start = [&] {
    std::fill(down->begin(), down->end(), false);
    auto local = std::make_unique<LocalPartitions>(
        *compiled, LocalPartitions::Options{kPartitions, 7, 64, /*through_bytes=*/true, checkpoints});
    auto set = std::make_unique<FaultyPartitions>(std::move(local), down, [&] {
      if (!lose_next) return false;
      lose_next = false;
      return true;
    });
    PartitionedDocuments::Options options;
    options.salt = 7;
    driver = sys.spawn(documents_driver_actor, std::make_shared<PartitionedDocuments>(std::move(set), options),
                       SchemaInfo{"sim", (*compiled)->source.text, 1}, DriverOptions{});
    sequencer = sys.spawn(sequencer_actor, driver, &log, EpochObserver{}, SequencerOptions{});
    sched.run();
  };
  auto stop = [&] {
    caf::anon_send_exit(sequencer, caf::exit_reason::kill);
    caf::anon_send_exit(driver, caf::exit_reason::kill);
    sched.run();
  };
  caf::scoped_actor client{sys};
  // Sends `batch`; whether every op of it succeeded.
  auto transact = [&](const session::Batch& batch) {
    Result<std::string> bytes = codec::encode_batch(batch);
    EXPECT_TRUE(bytes.is_ok());
    client->send(sequencer, transact_atom::value, *bytes);
    sched.run();
    bool ok = false;
    client->receive(
        [&](const std::string& answer) {
          Result<session::BatchResult> r = codec::decode_batch_result(answer);
          ok = r.is_ok() && std::all_of(r->begin(), r->end(), [](const session::OpResult& op) { return op.status.is_ok(); });
        },
        [&](const caf::error&) {}, caf::after(std::chrono::seconds(0)) >> [] {});
    return ok;
  };
  // A subscriber's snapshot of the ledger's count: the epoch it is the value after and the
  // count, or the refusal's reason.
  struct Snapshot {
    bool answered = false;
    codec::Epoch epoch = 0;
    std::int64_t n = -1;
    std::string refusal;
  };
  auto snapshot = [&] {
    Snapshot out;
    Result<std::string> bytes = codec::encode_batch(session::Batch{get_op("n")});
    EXPECT_TRUE(bytes.is_ok());
    client->send(sequencer, watch_read_atom::value, *bytes, std::vector<std::string>{});
    sched.run();
    client->receive(
        [&](codec::Epoch epoch, const std::string& values, const std::string&, std::uint64_t) {
          Result<session::BatchResult> r = codec::decode_batch_result(values);
          if (!r.is_ok() || r->size() != 1 || !r->front().status.is_ok()) return;
          out.answered = true;
          out.epoch = epoch;
          out.n = r->front().value.as_int();
        },
        [&](const caf::error& e) { out.refusal = sys.render(e); },
        caf::after(std::chrono::seconds(0)) >> [] {});
    return out;
  };

  start();
  ASSERT_TRUE(transact(session::Batch{make_ledger_op(), commit_op()}));
  ASSERT_TRUE(transact(entry_txn(5)));
  const Snapshot before = snapshot();
  ASSERT_TRUE(before.answered) << before.refusal;
  EXPECT_EQ(before.n, 1);

  lose_next = true;
  EXPECT_FALSE(transact(entry_txn(6)));  // cut short: partition 1 is lost
  const Snapshot during = snapshot();
  EXPECT_FALSE(during.answered);
  EXPECT_NE(during.refusal.find(std::string(codec::kClusterNotReady)), std::string::npos) << during.refusal;

  // The node comes back: the coordinator starts again on its log, the partitions restored.
  stop();
  start();
  const Snapshot after = snapshot();
  ASSERT_TRUE(after.answered) << after.refusal;
  EXPECT_EQ(after.n, 1);  // the cut epoch is cancelled in the log
  EXPECT_GE(after.epoch, before.epoch);
  stop();
}

}  // namespace
}  // namespace mgraph::actors
