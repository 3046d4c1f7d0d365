#include "mgraph/actors/documents.hpp"
#include "mgraph/actors/effect_outbox.hpp"
#include "mgraph/actors/inspect.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mgraph/codec/client_rpc.hpp"
#include "mgraph/codec/image_codec.hpp"
#include "mgraph/codec/partition_codec.hpp"
#include "mgraph/graph/json.hpp"
#include "mgraph/codec/session_codec.hpp"
#include "mgraph/session/effect_delivery.hpp"
#include "mgraph/session/merge.hpp"

namespace mgraph::actors {
namespace {
/// One log write of the sequencer's (a flush's epochs, one sync), which runs while the
/// driver runs those epochs: each waits for it before anything of it lasts
/// (PartitionedDocuments::Logged; docs/EPOCHS.md, "The log write beside the epoch").
class LogWrite {
 public:
  void done(Status s) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (done_) return;
      status_ = std::move(s);
      done_ = true;
    }
    written_.notify_all();
  }
  /// Blocks until done(); what it was given. The sequencer calls done() in the handler
  /// that sent the epochs (or its guard does, if the handler throws), on its own thread:
  /// it never waits for the driver, so this wait ends.
  Status wait() const {
    std::unique_lock<std::mutex> lock(mutex_);
    written_.wait(lock, [this] { return done_; });
    return status_;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable written_;
  bool done_ = false;
  Status status_;
};

/// Batches the sequencer decoded when they came (to check them and learn their kinds), sent
/// on to the driver in this process as they are, so that an epoch's ops are not decoded
/// again on its way (the log still gets their bytes); and the log write they wait for
/// (null: nothing to wait for, as for a batch that only reads).
struct DecodedBatches {
  std::shared_ptr<const std::vector<session::Batch>> batches;
  std::shared_ptr<const LogWrite> logged;
};

/// The sequencer's log without holes. A flush numbers its epochs before its write (they
/// run beside it), so a write that fails leaves numbers that no entry holds; compaction and
/// the choice of a checkpoint to restart from count on the log's numbers following each
/// other. So the next write that succeeds first fills each such number with an entry
/// cancelling it (an EpochCancel of itself, which a replay skips), in the same write.
/// Thread-safety: the sequencer's only.
class GaplessLog final : public ForwardingEpochLog {
 public:
  explicit GaplessLog(EpochLog& inner) : ForwardingEpochLog(inner) {
    const Result<codec::Epoch> last = inner.last();
    written_ = last.is_ok() ? *last : 0;
  }
  Status append(codec::Epoch epoch, std::string_view batch) override { return append_group({{epoch, batch}}); }
  Status append_group(const std::vector<std::pair<codec::Epoch, std::string_view>>& epochs) override {
    if (epochs.empty()) return Status::ok();
    std::vector<std::string> fills;
    for (codec::Epoch e = written_ + 1; e < epochs.front().first; ++e) {
      Result<std::string> cancel =
          codec::encode_epoch_cancel(codec::EpochCancel{e, "its log write failed: rolled back, never committed", {}});
      if (!cancel.is_ok()) return cancel.status();
      fills.push_back(std::move(cancel).value());
    }
    std::vector<std::pair<codec::Epoch, std::string_view>> all;
    all.reserve(fills.size() + epochs.size());
    for (std::size_t k = 0; k < fills.size(); ++k) all.emplace_back(written_ + 1 + k, fills[k]);
    all.insert(all.end(), epochs.begin(), epochs.end());
    Status s = inner().append_group(all);
    if (s.is_ok()) written_ = epochs.back().first;
    return s;
  }

 private:
  codec::Epoch written_ = 0;  ///< the last number an entry holds
};

/// PartitionedDocuments::run()'s `logged` for an epoch that waits for `w` (none: null).
PartitionedDocuments::Logged wait_for(std::shared_ptr<const LogWrite> w) {
  if (!w) return nullptr;
  return [w = std::move(w)] { return w->wait(); };
}
}  // namespace
}  // namespace mgraph::actors

// The sequencer and the driver are always in one process (the coordinator's node): the
// decoded batches are never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mgraph::actors::DecodedBatches)

namespace mgraph::actors {

bool changes_documents(const session::Batch& batch) {
  for (const session::Op& op : batch) {
    switch (op.kind) {
      case session::OpKind::get:
      case session::OpKind::explain:
      case session::OpKind::dot:
      case session::OpKind::invalid:
        continue;
      default:
        return true;
    }
  }
  return false;
}

namespace {

/// EpochOutcome::reason of an epoch that ran the batches with `results`: the first failed
/// op's error, else that no change took effect (a transaction left open, or nothing
/// changed); empty when it committed.
std::string abort_reason(bool committed, const std::vector<session::BatchResult>& results) {
  if (committed) return {};
  for (const session::BatchResult& batch : results) {
    for (const session::OpResult& r : batch) {
      if (!r.status.is_ok()) {
        return std::string(status_code_name(r.status.code())) + ": " + r.status.message();
      }
    }
  }
  return "no change took effect (a transaction rejected or left open, or nothing changed)";
}

/// abort_reason's class (AbortReason) for an epoch that ran `batches` with `results`.
AbortReason abort_class(bool committed, std::span<const session::Batch> batches,
                        std::span<const session::BatchResult> results) {
  if (committed) return AbortReason::none;
  for (const session::BatchResult& batch : results) {
    for (const session::OpResult& r : batch) {
      switch (r.status.code()) {
        case StatusCode::ok:
          continue;
        case StatusCode::rejected:
          return AbortReason::rejected;
        case StatusCode::invalid_argument:
        case StatusCode::not_found:
        case StatusCode::out_of_range:
        case StatusCode::failed_precondition:
          return AbortReason::invalid_op;
        case StatusCode::formula_error:
          return AbortReason::formula_failed;
        case StatusCode::cycle:
          return AbortReason::cycle;
        case StatusCode::io_error:
          return AbortReason::unavailable;
        default:
          return AbortReason::other;
      }
    }
  }
  for (const session::Batch& batch : batches) {
    for (const session::Op& op : batch) {
      if (op.kind == session::OpKind::reject) return AbortReason::rejected;
    }
  }
  return AbortReason::no_change;
}

/// The phases' seconds as the outcome message carries them: negative for one not run;
/// then PhaseTimes::predicted, ::rerun, ::decided and ::around as 1 or 0.
std::vector<double> phase_seconds(const PhaseTimes& t) {
  std::vector<double> out(kEpochPhases + 4);
  for (std::size_t p = 0; p < kEpochPhases; ++p) out[p] = t.ran[p] ? t.seconds[p] : -1;
  out[kEpochPhases] = t.predicted ? 1 : 0;
  out[kEpochPhases + 1] = t.rerun ? 1 : 0;
  out[kEpochPhases + 2] = t.decided ? 1 : 0;
  out[kEpochPhases + 3] = t.around ? 1 : 0;
  return out;
}

PhaseTimes phase_times(const std::vector<double>& seconds) {
  PhaseTimes t;
  for (std::size_t p = 0; p < kEpochPhases && p < seconds.size(); ++p) {
    t.ran[p] = seconds[p] >= 0;
    t.seconds[p] = t.ran[p] ? seconds[p] : 0;
  }
  t.predicted = seconds.size() > kEpochPhases && seconds[kEpochPhases] > 0;
  t.rerun = seconds.size() > kEpochPhases + 1 && seconds[kEpochPhases + 1] > 0;
  t.decided = seconds.size() > kEpochPhases + 2 && seconds[kEpochPhases + 2] > 0;
  t.around = seconds.size() > kEpochPhases + 3 && seconds[kEpochPhases + 3] > 0;
  return t;
}

}  // namespace

// ---- MemoryEpochLog ----

Status MemoryEpochLog::append(codec::Epoch epoch, std::string_view batch) {
  if (!epochs_.empty() && epoch <= epochs_.back().first) {
    return Status(StatusCode::invalid_argument, "epoch " + std::to_string(epoch) +
                                                    " after epoch " +
                                                    std::to_string(epochs_.back().first));
  }
  epochs_.emplace_back(epoch, std::string(batch));
  return Status::ok();
}

Status MemoryEpochLog::replay(const std::function<Status(codec::Epoch, std::string_view)>& f) {
  for (const auto& [epoch, batch] : epochs_) {
    if (Status s = f(epoch, batch); !s.is_ok()) return s;
  }
  return Status::ok();
}

Result<codec::Epoch> MemoryEpochLog::last() { return epochs_.empty() ? 0 : epochs_.back().first; }

Status MemoryEpochLog::compact(codec::Epoch before) {
  std::erase_if(epochs_, [before](const auto& entry) { return entry.first < before; });
  return Status::ok();
}

// ---- Actors ----

namespace {

using session::cut_short;
using session::told_committed;

/// Why a batch must not run when the log runs again: an unavailable partition cut it short
/// and its client is told it did not commit (whatever some partitions did meanwhile: the
/// log, not they, is what the cluster holds after it starts again).
std::optional<std::string> to_cancel(const session::Batch& batch, const session::BatchResult& results) {
  std::optional<std::string> why = cut_short(results);
  if (why && told_committed(batch, results)) return std::nullopt;
  return why;
}

caf::error bad_request(const Status& s) {
  return caf::make_error(caf::sec::invalid_argument, s.message());
}

/// The refusal of an inspect request for a partition the sequencer has no actor of.
caf::error no_partition(std::uint32_t p, std::size_t partitions) {
  return bad_request(Status(StatusCode::invalid_argument, "partition " + std::to_string(p) + " of " +
                                                              std::to_string(partitions) + " is not known here"));
}

/// A ledger query's failure as its answer says it (ledger_atom): `{"error":...,"code":N}`.
std::string ledger_error(const Status& s) {
  return json::Object().str("error", s.message()).unum("code", static_cast<std::uint64_t>(s.code())).done();
}

/// How long the sequencer waits for a partition to name a field's node: it answers between
/// two of the driver's requests.
constexpr std::chrono::seconds kLedgerPartitionTimeout{10};

}  // namespace

namespace {

/// partition_actor's handlers for `self`, calling `served()` once each request is done
/// with the server.
template <typename Self, typename Served>
caf::behavior partition_behavior(Self* self, std::shared_ptr<PartitionServer> server, Served served) {
  return {
      [self, server, served](partition_atom, std::uint64_t call, std::uint32_t index, const std::string& bytes) {
        std::string reply = server->serve_bytes(bytes);
        served();
        // A plain message back, not a response: see ActorPartitions::call.
        self->send(caf::actor_cast<caf::actor>(self->current_sender()), partition_atom::value, call, index,
                   std::move(reply));
      },
      [server, served](inspect_atom, std::uint64_t record, const std::string& field) {
        std::string out = inspect_field(server->store(), record, field);
        served();
        return out;
      },
      [server, served](inspect_atom, const std::string& packed) {
        const std::optional<std::vector<std::uint32_t>> nodes = unpack_node_ids(packed);
        std::string out = nodes ? inspect_nodes(server->store(), *nodes)
                                : std::string(R"({"error":"node ids: a length not a multiple of 4"})");
        served();
        return out;
      },
      [server, served](ledger_atom, std::uint64_t record, const std::string& field, const std::string& cmd,
                       const std::string& ref) {
        const session::LedgerQuery query{cmd, ref, std::nullopt};
        Result<NodeId> node = server->store().node_of(record, field);
        if (node.is_ok()) node = session::ledger_node(server->store(), *node, query);
        std::string out = node.is_ok() ? json::Object().unum("node", *node).done() : ledger_error(node.status());
        served();
        return out;
      },
  };
}

/// Whether a partition_host serves `bytes` on its I/O thread (documents.hpp).
bool served_inline(const std::string& bytes, std::size_t inline_bytes_max) {
  if (bytes.size() > inline_bytes_max) return false;
  const Result<codec::PartitionRequestKind> kind = codec::decode_partition_request_kind(bytes);
  if (!kind.is_ok()) return true;  // refused at once
  switch (*kind) {
    case codec::PartitionRequestKind::checkpoint:
    case codec::PartitionRequestKind::restore:
    case codec::PartitionRequestKind::reset:
    case codec::PartitionRequestKind::dot:
    case codec::PartitionRequestKind::records:
      return false;
    default:
      return true;
  }
}

/// A partition_host's worker: what partition_actor answers, each request counted in `done`
/// once the server is free again.
caf::behavior partition_worker(caf::event_based_actor* self, std::shared_ptr<PartitionServer> server,
                               std::shared_ptr<std::atomic<std::uint64_t>> done) {
  return partition_behavior(self, std::move(server), [done] { done->fetch_add(1, std::memory_order_release); });
}

}  // namespace

caf::behavior partition_actor(caf::event_based_actor* self, std::shared_ptr<PartitionServer> server) {
  return partition_behavior(self, std::move(server), [] {});
}

caf::behavior partition_host(caf::io::broker* self, std::shared_ptr<PartitionServer> server,
                             std::size_t inline_bytes_max) {
  auto done = std::make_shared<std::atomic<std::uint64_t>>(0);
  auto handed = std::make_shared<std::uint64_t>(0);  // requests given to the worker
  caf::actor worker = self->spawn<caf::linked>(partition_worker, server, done);
  // The worker has served all it was given: the server is the host's (acquire: what the
  // worker did to it is seen here).
  auto idle = [done, handed] { return done->load(std::memory_order_acquire) == *handed; };
  return {
      [=](partition_atom a, std::uint64_t call, std::uint32_t index, const std::string& bytes) {
        if (idle() && served_inline(bytes, inline_bytes_max)) {
          self->send(caf::actor_cast<caf::actor>(self->current_sender()), partition_atom::value, call, index,
                     server->serve_bytes(bytes));
          return;
        }
        ++*handed;
        self->delegate(worker, a, call, index, bytes);
      },
      [=](inspect_atom a, std::uint64_t record, const std::string& field) {
        ++*handed;
        return self->delegate(worker, a, record, field);
      },
      [=](inspect_atom a, const std::string& packed) {
        ++*handed;
        return self->delegate(worker, a, packed);
      },
      [=](ledger_atom a, std::uint64_t record, const std::string& field, const std::string& cmd,
          const std::string& ref) {
        ++*handed;
        return self->delegate(worker, a, record, field, cmd, ref);
      },
  };
}

ActorPartitions::ActorPartitions(caf::actor_system& system, std::vector<caf::actor> partitions,
                                 caf::timespan timeout, std::function<void()> pump)
    : system_(system),
      partitions_(std::move(partitions)),
      timeout_(timeout),
      pump_(std::move(pump)) {}

ActorPartitions::~ActorPartitions() = default;

std::vector<codec::PartitionReply> ActorPartitions::call(const std::vector<Call>& calls) {
  std::vector<Outgoing> out;
  out.reserve(calls.size());
  for (const auto& [to, request] : calls) {
    out.push_back(Outgoing{to, codec::encode_partition_request(request), request.messages.size()});
  }
  return send_and_wait(std::move(out));
}

std::vector<codec::PartitionReply> ActorPartitions::call_all(const codec::PartitionRequest& request) {
  const Result<std::string> bytes = codec::encode_partition_request(request);
  std::vector<Outgoing> out;
  out.reserve(partitions_.size());
  for (std::uint32_t p = 0; p < partitions_.size(); ++p) out.push_back(Outgoing{p, bytes, request.messages.size()});
  return send_and_wait(std::move(out));
}

std::string ActorPartitions::unavailable(std::uint32_t p, const std::string& why) const {
  const std::string where = p < hosts_.size() && !hosts_[p].empty() ? " (" + hosts_[p] + ")" : "";
  return "unavailable: partition " + std::to_string(p) + where + ": " + why;
}

std::string ActorPartitions::unreachable(std::uint32_t p) const {
  if (p >= partitions_.size() || !partitions_[p]) return unavailable(p, "no actor");
  if (p < gone_.size() && !gone_[p].empty()) return unavailable(p, gone_[p]);
  return std::string();
}

std::vector<codec::PartitionReply> ActorPartitions::send_and_wait(std::vector<Outgoing> calls) {
  std::vector<codec::PartitionReply> replies(calls.size());
  auto unavailable = [&](std::size_t i, const std::string& why) {
    replies[i].status = Status(StatusCode::io_error, this->unavailable(calls[i].to, why));
  };
  // One requester for every call: a new actor per call would make each remote node build
  // a proxy for it. Requests and replies are plain messages tagged with the call's number
  // and the request's index, not CAF requests: a CAF request's timeout message arrives
  // even after its reply, and unawaited ones would pile up in a long-lived mailbox. A reply
  // to an earlier call (one that timed out) is dropped when it comes.
  if (!self_) {
    // Watched from the start: a partition that is gone answers at once, not at the timeout.
    self_ = std::make_unique<caf::scoped_actor>(system_);
    gone_.assign(partitions_.size(), std::string());
    for (const caf::actor& p : partitions_) {
      if (p) (*self_)->monitor(p);
    }
  }
  caf::scoped_actor& self = *self_;
  auto down = [&](const caf::down_msg& d) {
    for (std::size_t p = 0; p < partitions_.size(); ++p) {
      if (partitions_[p] && partitions_[p].address() == d.source)
        gone_[p] = "gone (" + system_.render(d.reason) + ")";
    }
  };
  const std::uint64_t call = ++calls_;
  std::vector<bool> waiting(calls.size(), false);
  std::size_t outstanding = 0;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const std::uint32_t to = calls[i].to;
    Result<std::string>& bytes = calls[i].bytes;
    if (!bytes.is_ok()) {
      replies[i].status = bytes.status();
      continue;
    }
    if (to >= partitions_.size() || !partitions_[to]) {
      unavailable(i, "no actor");
      continue;
    }
    if (!gone_[to].empty()) {
      unavailable(i, gone_[to]);
      continue;
    }
    if (traffic_ && to < traffic_->partitions.size()) {
      PartitionTraffic::Counts& t = traffic_->partitions[to];
      t.requests.fetch_add(1, std::memory_order_relaxed);
      t.sent_bytes.fetch_add(bytes->size(), std::memory_order_relaxed);
      t.sent_deltas.fetch_add(calls[i].deltas, std::memory_order_relaxed);
    }
    self->send(partitions_[to], partition_atom::value, call, static_cast<std::uint32_t>(i),
               std::move(bytes).value());
    waiting[i] = true;
    ++outstanding;
  }
  // Every request is out: the partitions work at once.
  if (pump_) pump_();
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  bool timed_out = false;
  while (outstanding > 0 && !timed_out) {
    const auto left = std::max(deadline - std::chrono::steady_clock::now(),
                               std::chrono::steady_clock::duration::zero());
    self->receive(
        [&](partition_atom, std::uint64_t c, std::uint32_t i, const std::string& bytes) {
          if (c != call || i >= waiting.size() || !waiting[i]) return;
          waiting[i] = false;
          --outstanding;
          Result<codec::PartitionReply> reply = codec::decode_partition_reply(bytes);
          PartitionTraffic::Counts* t = traffic_ && calls[i].to < traffic_->partitions.size()
                                            ? &traffic_->partitions[calls[i].to]
                                            : nullptr;
          if (t != nullptr) t->received_bytes.fetch_add(bytes.size(), std::memory_order_relaxed);
          if (reply.is_ok()) {
            if (t != nullptr) {
              t->received_deltas.fetch_add(reply->stale.size() + reply->resolved.size(),
                                           std::memory_order_relaxed);
            }
            replies[i] = std::move(reply).value();
          } else {
            replies[i].status = reply.status();
          }
        },
        [&](const caf::down_msg& d) {
          down(d);
          for (std::size_t i = 0; i < calls.size(); ++i) {
            if (!waiting[i] || gone_[calls[i].to].empty()) continue;
            waiting[i] = false;
            --outstanding;
            unavailable(i, gone_[calls[i].to]);
          }
        },
        caf::after(std::chrono::duration_cast<caf::timespan>(left)) >> [&] { timed_out = true; });
  }
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (waiting[i]) {
      unavailable(i, "no reply within " +
                         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count()) +
                         " ms");
    }
  }
  return replies;
}

namespace {

/// The acknowledgements of deliveries in `batch` that took effect: ack ops naming a
/// delivery key (session::Op::text) that succeeded, in an epoch that committed; and
/// results of async requests (resolve ops naming a key) that succeeded in a batch whose
/// commit succeeded and was not cancelled (`kept`): a superseded result, or one equal to
/// the field's value, changes nothing, so its epoch may commit no revision.
void acked_keys(const session::Batch& batch, const session::BatchResult& results, bool committed,
                bool kept, codec::EffectReport* report) {
  for (std::size_t i = 0; i < batch.size() && i < results.size(); ++i) {
    const bool settles = batch[i].kind == session::OpKind::resolve ? kept
                                                                    : batch[i].kind == session::OpKind::ack && committed;
    if (!settles || batch[i].text.empty() || !results[i].status.is_ok()) {
      continue;
    }
    if (Result<session::DeliveryKey> k = session::parse_delivery_key(batch[i].text); k.is_ok()) {
      report->acked.emplace_back(k->field, k->version);
    }
  }
  // A script's `ack REF.effect` names no key: it settles the oldest delivery of the
  // record's effect still owed (EffectOutbox::report).
  for (std::size_t i = 0; committed && i < batch.size() && i < results.size(); ++i) {
    const session::Op& op = batch[i];
    if (op.kind != session::OpKind::ack || !op.text.empty() || !results[i].status.is_ok() || op.refs.empty()) {
      continue;
    }
    // A record created earlier in the batch: the first of its creates that succeeded.
    std::uint64_t record = op.refs[0].id;
    for (const std::uint32_t by : op.refs[0].created_by) {
      if (by < results.size() && results[by].status.is_ok() && results[by].created != 0) {
        record = results[by].created;
        break;
      }
    }
    if (record != 0) report->unkeyed.emplace_back(record, op.name);
  }
}

/// Whether a log entry is one of the sequencer's own (a cancellation, a checkpoint's, a
/// deliveries' change), which holds no batch to run.
bool holds_no_batch(std::string_view bytes) {
  return codec::is_epoch_cancel(bytes) || codec::is_epoch_checkpoint(bytes) || codec::is_delivery_changes(bytes);
}

/// The report's bytes for the outcome message; empty when it is empty (or, never expected,
/// cannot be encoded).
std::string report_bytes(codec::EffectReport& report, bool committed) {
  if (!committed) {
    report.triggers.clear();
    report.recorded.clear();
    report.request_results.clear();
  }
  if (report.empty()) return {};
  Result<std::string> bytes = codec::encode_effect_report(report);
  return bytes.is_ok() ? std::move(bytes).value() : std::string();
}

}  // namespace

caf::behavior documents_driver_actor(caf::event_based_actor* self,
                                     std::shared_ptr<PartitionedDocuments> documents,
                                     SchemaInfo schema, DriverOptions options) {
  // Where outcomes of epochs go (none until a sequencer asks). Weak: the sequencer holds
  // this actor, and a detached actor that a cycle keeps alive would hold up the actor
  // system's shutdown.
  auto reporter = std::make_shared<caf::actor_addr>();
  // Checkpoints: the epoch last run, the last checkpoint restored or taken, the last two
  // the sequencer logged, epochs run since, and the last epoch run again from the log
  // (none of those is checkpointed by itself: the partitions' stores may hold checkpoints
  // of them from before a restart).
  struct Checkpoints {
    codec::Epoch last_run = 0;
    codec::Epoch last_taken = 0;
    /// The last two checkpoints the sequencer logged (or restored): the partitions keep
    /// every checkpoint from the older on, since the log may run on from either.
    codec::Epoch logged_before = 0;
    codec::Epoch logged_last = 0;
    std::uint64_t since = 0;
    codec::Epoch replayed_last = 0;
    /// An epoch was cut short by an unavailable partition since the last restore: the
    /// partitions may hold what the log does not until they are restored, so no
    /// checkpoint of them is taken.
    bool cut = false;
    /// The first epoch run again from the log (at most replayed_last) that an unavailable
    /// partition cut short since the last restore (0: none): its outcome, and that of the
    /// epochs after it, is in doubt until the partition is back and the log runs again, so
    /// subscribers are not told of them meanwhile (WatchBuffer::ran).
    codec::Epoch doubt_from = 0;
  };
  auto ckpt = std::make_shared<Checkpoints>();
  const std::shared_ptr<WatchBuffer> watch = options.watch;
  // Takes a checkpoint of the epoch last run; its image bytes, or why not.
  auto take = [documents, ckpt, watch]() -> Result<std::uint64_t> {
    if (ckpt->cut) {
      return Status(StatusCode::failed_precondition,
                    "a partition was unavailable during an epoch since the partitions were last "
                    "restored: they may differ from the log until it runs again");
    }
    std::uint64_t bytes = 0;
    if (Status s = documents->checkpoint(ckpt->last_run, ckpt->logged_before, &bytes); !s.is_ok()) return s;
    if (watch) watch->checkpointed();
    ckpt->last_taken = ckpt->last_run;
    ckpt->since = 0;
    return bytes;
  };
  // After an epoch that changed documents; whether its outcome is in doubt (doubt_from).
  auto ran = [ckpt](codec::Epoch epoch, const std::vector<session::BatchResult>& results) {
    ckpt->last_run = epoch;
    ++ckpt->since;
    bool cut = false;
    for (const session::BatchResult& r : results) cut |= cut_short(r).has_value();
    ckpt->cut |= cut;
    if (cut && epoch <= ckpt->replayed_last && ckpt->doubt_from == 0) ckpt->doubt_from = epoch;
    return ckpt->doubt_from != 0;
  };
  // Before the next batch runs, a checkpoint of the epoch last run when one is due: taken
  // here, not at the end of that epoch, so that the sequencer has the epoch's answers and
  // outcome when it hears of the checkpoint (the answer goes when its handler returns).
  auto checkpoint_if_due = [self, ckpt, take, reporter, every = options.checkpoint_every] {
    if (every == 0 || ckpt->since < every || ckpt->last_run <= ckpt->replayed_last ||
        ckpt->last_run == ckpt->last_taken) {
      return;
    }
    const codec::Epoch epoch = ckpt->last_run;
    Result<std::uint64_t> bytes = take();
    // A failed checkpoint is tried again before the next batch; the log keeps what the
    // partitions would need meanwhile.
    if (!bytes.is_ok()) return;
    if (auto to = caf::actor_cast<caf::actor>(*reporter)) {
      self->send(to, checkpointed_atom::value, epoch, *bytes);
    }
  };
  // An epoch of one batch, decoded by the sequencer or by the handler below.
  auto run_one = [self, documents, reporter, ran, checkpoint_if_due, watch, ckpt](
                     codec::Epoch epoch, const session::Batch* batch,
                     const PartitionedDocuments::Logged& logged) -> caf::result<std::string> {
        checkpoint_if_due();
        bool committed = false;
        (void)documents->take_phases();  // what a batch that read only left
        // Answered when decided (partitioned.hpp): the sequencer hears of it first, so that
        // it holds back what reads the epoch's outcome until that comes.
        std::optional<caf::typed_response_promise<std::string>> answered;
        auto decided = [&](const session::BatchResult& told) {
          // No outcome follows a batch that changes nothing, to release what is held; and an
          // epoch run again from the log is answered with the rest of the log's run, whose
          // end what waits for the recovery takes as all of its outcomes in.
          if (!changes_documents(*batch) || epoch <= ckpt->replayed_last) return;
          Result<std::string> answer = codec::encode_batch_result(told);
          if (!answer.is_ok()) return;  // answered at the end, with the same error
          if (auto to = caf::actor_cast<caf::actor>(*reporter)) self->send(to, decided_atom::value, epoch);
          answered = self->make_response_promise<std::string>();
          answered->deliver(std::move(answer).value());
        };
        session::BatchResult results = documents->run(*batch, &committed, decided, logged);
        if (documents->cut_after_decided()) {
          // Committed as told, but not by every partition: they hold less than the log
          // until they are restored, and subscribers hear of the epoch from the log then.
          ckpt->cut = true;
        }
        if (auto to = caf::actor_cast<caf::actor>(*reporter); to && changes_documents(*batch)) {
          bool cancelled = false;
          if (std::optional<std::string> why = to_cancel(*batch, results)) {
            self->send(to, cancel_atom::value, epoch, *why, std::vector<std::uint32_t>{});
            committed = false;
            cancelled = true;
          }
          codec::EffectReport report;
          report.triggers = documents->effects();
          report.recorded = documents->recorded();
          report.request_results = documents->request_results();
          acked_keys(*batch, results, committed, !cancelled && told_committed(*batch, results), &report);
          self->send(to, outcome_atom::value, epoch, committed, abort_reason(committed, {results}),
                     report_bytes(report, committed),
                     static_cast<std::uint8_t>(abort_class(committed, std::span(&*batch, 1),
                                                           std::span(&results, 1))),
                     phase_seconds(documents->take_phases()));
        }
        if (changes_documents(*batch)) {
          const bool in_doubt = ran(epoch, {results}) || documents->cut_after_decided();
          if (watch) watch->ran(epoch, committed && !to_cancel(*batch, results), documents->changes(), in_doubt);
        }
        if (answered) return *answered;
        Result<std::string> answer = codec::encode_batch_result(results);
        if (!answer.is_ok()) return bad_request(answer.status());
        return std::move(answer).value();
  };
  // An epoch of several batches run as one (session/merge.hpp), decoded likewise.
  auto run_group = [self, documents, reporter, ran, checkpoint_if_due, watch](
                       codec::Epoch epoch, const std::vector<session::Batch>& batches,
                       const PartitionedDocuments::Logged& logged) -> caf::result<std::vector<std::string>> {
        checkpoint_if_due();
        bool committed = false;
        codec::EffectReport report;
        std::vector<codec::FieldChange> changes;  // of the runs that committed
        (void)documents->take_phases();  // what a batch that read only left
        const std::vector<session::BatchResult> results = session::run_merged(
            batches,
            [&](const session::Batch& b, bool* c) {
              session::BatchResult r = documents->run(b, c, nullptr, logged);
              report.triggers.insert(report.triggers.end(), documents->effects().begin(),
                                     documents->effects().end());
              if (watch && *c) changes.insert(changes.end(), documents->changes().begin(), documents->changes().end());
              if (*c) {
                report.recorded.insert(report.recorded.end(), documents->recorded().begin(),
                                       documents->recorded().end());
                report.request_results.insert(report.request_results.end(), documents->request_results().begin(),
                                              documents->request_results().end());
              }
              return r;
            },
            &committed);
        for (std::size_t k = 0; k < batches.size() && k < results.size(); ++k) {
          // A batch that ran alone and did not commit acked nothing.
          const bool told = told_committed(batches[k], results[k]);
          acked_keys(batches[k], results[k], committed && told,
                     told && !to_cancel(batches[k], results[k]).has_value(), &report);
        }
        if (auto to = caf::actor_cast<caf::actor>(*reporter)) {
          // A merged run that failed ran its batches alone: some may have committed
          // before a partition was lost, and only the others are cancelled.
          std::vector<std::uint32_t> cut;
          std::string why;
          for (std::size_t k = 0; k < results.size() && k < batches.size(); ++k) {
            if (std::optional<std::string> w = to_cancel(batches[k], results[k])) {
              if (cut.empty()) why = *w;
              cut.push_back(static_cast<std::uint32_t>(k));
            }
          }
          if (!cut.empty()) {
            if (cut.size() == batches.size()) {
              cut.clear();  // the whole epoch
              committed = false;
            }
            self->send(to, cancel_atom::value, epoch, why, cut);
          }
          self->send(to, outcome_atom::value, epoch, committed, abort_reason(committed, results),
                     report_bytes(report, committed),
                     static_cast<std::uint8_t>(abort_class(committed, batches, results)),
                     phase_seconds(documents->take_phases()));
        }
        const bool in_doubt = ran(epoch, results);
        if (watch) watch->ran(epoch, committed, changes, in_doubt);
        std::vector<std::string> answers;
        for (const session::BatchResult& r : results) {
          Result<std::string> answer = codec::encode_batch_result(r);
          if (!answer.is_ok()) return bad_request(answer.status());
          answers.push_back(std::move(answer).value());
        }
        return answers;
  };
  return {
      [run_one](apply_atom, codec::Epoch epoch, const std::string& bytes) -> caf::result<std::string> {
        Result<session::Batch> batch = codec::decode_batch(bytes);
        if (!batch.is_ok()) return bad_request(batch.status());
        return run_one(epoch, &*batch, nullptr);  // from the log: written already
      },
      [run_one](apply_atom, codec::Epoch epoch, const DecodedBatches& decoded) -> caf::result<std::string> {
        if (decoded.batches == nullptr || decoded.batches->size() != 1) {
          return bad_request(Status(StatusCode::internal, "an epoch of one batch came with another count"));
        }
        return run_one(epoch, &decoded.batches->front(), wait_for(decoded.logged));
      },
      [run_group](apply_group_atom, codec::Epoch epoch,
                  const std::string& bytes) -> caf::result<std::vector<std::string>> {
        Result<std::vector<std::string>> raw = codec::decode_batch_group(bytes);
        if (!raw.is_ok()) return bad_request(raw.status());
        std::vector<session::Batch> batches;
        for (const std::string& b : *raw) {
          Result<session::Batch> batch = codec::decode_batch(b);
          if (!batch.is_ok()) return bad_request(batch.status());
          batches.push_back(std::move(batch).value());
        }
        return run_group(epoch, batches, nullptr);  // from the log: written already
      },
      [run_group](apply_group_atom, codec::Epoch epoch,
                  const DecodedBatches& decoded) -> caf::result<std::vector<std::string>> {
        if (decoded.batches == nullptr) {
          return bad_request(Status(StatusCode::internal, "an epoch without its batches"));
        }
        return run_group(epoch, *decoded.batches, wait_for(decoded.logged));
      },
      [reporter](report_atom, const caf::actor& to) { *reporter = to.address(); },
      [documents, ckpt, watch](restore_atom, codec::Epoch epoch, codec::Epoch replayed_last) -> caf::result<bool> {
        if (Status s = documents->restore(epoch); !s.is_ok()) {
          return caf::make_error(s.code() == StatusCode::io_error ? caf::sec::request_receiver_down
                                                                  : caf::sec::invalid_argument,
                                 s.message());
        }
        *ckpt = Checkpoints{epoch, epoch, epoch, epoch, 0, replayed_last, false};
        if (watch) watch->restored(epoch, replayed_last);
        return true;
      },
      [documents, ckpt, watch](watch_read_atom, const std::string& bytes, const std::vector<std::string>& entities)
          -> caf::result<codec::Epoch, std::string, std::string, std::uint64_t> {
        if (ckpt->cut) {
          // Partitions that committed an epoch another one could not may hold values the
          // log does not (the epoch is cancelled in it) until they are restored: values read
          // now could be taken back, so a subscriber is told to come back after the restore.
          return bad_request(Status(StatusCode::failed_precondition,
                                    std::string(codec::kClusterNotReady) +
                                        ": a partition was unavailable during an epoch since the partitions were "
                                        "last restored, so their values may differ from the log until it runs "
                                        "again; try again"));
        }
        Result<session::Batch> batch = codec::decode_batch(bytes);
        if (!batch.is_ok()) return bad_request(batch.status());
        for (const session::Op& op : *batch) {
          if (op.kind != session::OpKind::get) return bad_request(Status(StatusCode::invalid_argument, "a watch reads with get only"));
        }
        Result<std::string> answer = codec::encode_batch_result(documents->run(*batch));
        if (!answer.is_ok()) return bad_request(answer.status());
        std::vector<codec::FieldChange> records;
        for (const std::string& entity : entities) {
          Result<std::vector<codec::FieldChange>> r = documents->records_of(entity);
          if (!r.is_ok()) return bad_request(r.status());
          records.insert(records.end(), r->begin(), r->end());
        }
        // Values read while epochs are in doubt go on from before the first of them: the
        // subscriber is told of those epochs once they are settled (again, for the changes
        // these values hold already).
        const codec::Epoch after = ckpt->doubt_from != 0 ? std::min(ckpt->last_run, ckpt->doubt_from - 1) : ckpt->last_run;
        // The log the epoch is numbered in, as polls are told it (WatchBuffer::set_log).
        return caf::result<codec::Epoch, std::string, std::string, std::uint64_t>(
            after, std::move(answer).value(), watch_changes_json(records), watch ? watch->log() : 0);
      },
      [ckpt](checkpoint_logged_atom, codec::Epoch epoch) {
        if (epoch <= ckpt->logged_last) return;
        ckpt->logged_before = ckpt->logged_last;
        ckpt->logged_last = epoch;
      },
      [ckpt, take](checkpoint_atom) -> caf::result<codec::Epoch, std::uint64_t> {
        if (ckpt->last_run == 0) {
          return caf::make_error(caf::sec::invalid_argument, "no epoch has run yet: nothing to checkpoint");
        }
        if (ckpt->last_run == ckpt->last_taken) {
          return caf::make_error(caf::sec::invalid_argument,
                                 "epoch " + std::to_string(ckpt->last_run) + " is checkpointed already");
        }
        Result<std::uint64_t> bytes = take();
        if (!bytes.is_ok()) return caf::make_error(caf::sec::runtime_error, bytes.status().message());
        return caf::result<codec::Epoch, std::uint64_t>(ckpt->last_run, *bytes);
      },
      [schema](schema_atom) {
        return caf::make_message(schema.name, schema.source, schema.fingerprint);
      },
  };
}

namespace {

/// The transactions the sequencer has seen, by id: each one's answer once there is one,
/// meanwhile the clients that sent the same id again and wait for the first's. Oldest
/// first in `order`, forgotten beyond kTxnsRemembered ids or kTxnAnswerBytesRemembered
/// bytes of answers (never while a client waits for it).
class SeenTxns {
 public:
  /// Whether `id` was seen: then `rp` gets its answer, now or when it comes.
  bool answer_again(const session::TxnId& id, caf::response_promise& rp) {
    auto it = seen_.find(id);
    if (it == seen_.end()) return false;
    if (it->second.answer) rp.deliver(*it->second.answer);
    else if (it->second.doubt) rp.deliver(*it->second.doubt);
    else it->second.waiting.push_back(rp);
    return true;
  }
  /// A first send of `id` (none: nothing to remember).
  void start(const session::TxnId& id) {
    if (id.empty() || !seen_.emplace(id, Seen{}).second) return;
    order_.push_back(id);
  }
  void finish(const session::TxnId& id, const std::string& answer) {
    auto it = seen_.find(id);
    if (it == seen_.end()) return;
    for (caf::response_promise& rp : it->second.waiting) rp.deliver(answer);
    it->second.waiting.clear();
    it->second.answer = answer;
    answer_bytes_ += answer.size();
    forget_oldest();
  }
  /// A logged transaction whose outcome is not known until the log runs whole again (a
  /// later start): its run from the log was cut short by an unavailable partition, or the
  /// driver stopped before it answered. Every send of it gets `e` meanwhile, and none runs
  /// it as a new transaction: that would apply it twice once the log runs again.
  void doubt(const session::TxnId& id, const caf::error& e) {
    auto it = seen_.find(id);
    if (it == seen_.end()) return;
    for (caf::response_promise& rp : it->second.waiting) rp.deliver(e);
    it->second.waiting.clear();
    it->second.doubt = e;
  }
  /// The answers of the last transactions answered, oldest first: at most `count` of them
  /// and about `bytes` bytes.
  std::vector<std::pair<session::TxnId, std::string>> recent_answers(std::size_t count,
                                                                     std::size_t bytes) const {
    std::vector<std::pair<session::TxnId, std::string>> out;
    std::size_t taken = 0;
    for (auto it = order_.rbegin(); it != order_.rend() && out.size() < count; ++it) {
      const auto found = seen_.find(*it);
      if (found == seen_.end() || !found->second.answer) continue;
      if (taken + found->second.answer->size() > bytes) break;
      taken += found->second.answer->size();
      out.emplace_back(*it, *found->second.answer);
    }
    std::reverse(out.begin(), out.end());
    return out;
  }
  /// A logged transaction that ran before the checkpoint the partitions were restored
  /// from, and whose answer the checkpoint did not keep: it is not run again, so its answer
  /// is not known; every send of it gets `e`, until it is forgotten like an answered one.
  void ran_before_checkpoint(const session::TxnId& id, const caf::error& e) {
    start(id);
    auto it = seen_.find(id);
    if (it == seen_.end() || it->second.answer) return;  // answered: the checkpoint kept it
    for (caf::response_promise& rp : it->second.waiting) rp.deliver(e);
    it->second.waiting.clear();
    it->second.doubt = e;
    it->second.final_doubt = true;
    forget_oldest();
  }
  /// Every send waiting for a logged transaction's answer gets `e`: the log will not run
  /// (the partitions could not be restored). They stay seen, in doubt, never run anew.
  void doubt_waiting(const caf::error& e) {
    for (auto& [id, seen] : seen_) {
      if (seen.answer || seen.waiting.empty()) continue;
      for (caf::response_promise& rp : seen.waiting) rp.deliver(e);
      seen.waiting.clear();
      if (!seen.doubt) seen.doubt = e;
    }
  }
  /// No outcome to remember (the log failed, the driver is gone): the waiting clients get
  /// the error, and a later send runs the batch.
  void fail(const session::TxnId& id, const caf::error& e) {
    auto it = seen_.find(id);
    if (it == seen_.end()) return;
    for (caf::response_promise& rp : it->second.waiting) rp.deliver(e);
    seen_.erase(it);
  }

 private:
  struct Seen {
    std::optional<std::string> answer;
    std::optional<caf::error> doubt;  ///< doubt(): the answer every send gets for now
    bool final_doubt = false;         ///< ran_before_checkpoint(): forgotten in its turn
    std::vector<caf::response_promise> waiting;
  };
  void forget_oldest() {
    // Each pass drops one id: bounded by the number remembered.
    while (!order_.empty() && (order_.size() > kTxnsRemembered || answer_bytes_ > kTxnAnswerBytesRemembered)) {
      auto it = seen_.find(order_.front());
      if (it != seen_.end()) {
        if (!it->second.answer && !it->second.final_doubt) return;  // still running or in doubt: kept
        if (it->second.answer) answer_bytes_ -= it->second.answer->size();
        seen_.erase(it);
      }
      order_.pop_front();
    }
  }

  std::map<session::TxnId, Seen> seen_;
  std::deque<session::TxnId> order_;
  std::size_t answer_bytes_ = 0;
};

/// The transaction id of a logged or received batch's bytes (empty when it has none or
/// the bytes are not a single batch).
session::TxnId txn_of(std::string_view bytes) {
  Result<session::TxnId> id = codec::decode_batch_txn(bytes);
  return id.is_ok() ? *id : session::TxnId{};
}

/// Remembers the answer of a logged transaction run again from the log. A run cut short
/// by an unavailable partition says nothing of the transaction: the first run may have
/// committed it (and its client been told so), and the log runs it again at the next
/// start, when the partition is back. So it is in doubt until then, not rolled back.
void remember_replayed(SeenTxns& txns, const session::TxnId& id, const std::string& answer) {
  Result<session::BatchResult> result = codec::decode_batch_result(answer);
  std::optional<std::string> why = result.is_ok() ? cut_short(*result) : std::nullopt;
  if (!why) {
    txns.finish(id, answer);
    return;
  }
  txns.doubt(id, caf::make_error(caf::sec::runtime_error,
                                 "unavailable: the transaction is in the log and could not run again ("
                                 + *why + "); the batch may have run: it runs when the partition is back"));
}

}  // namespace

caf::behavior sequencer_actor(caf::event_based_actor* self, caf::actor driver, EpochLog* durable,
                              EpochObserver observe, SequencerOptions options) {
  // Every entry goes through `log`, which keeps the numbers without holes; it lives as
  // long as this actor.
  auto gapless = std::make_shared<GaplessLog>(*durable);
  self->attach_functor([gapless](const caf::error&) {});
  EpochLog* const log = gapless.get();
  auto txns = std::make_shared<SeenTxns>();
  auto effects = std::make_shared<EffectOutbox>(options.effect_counters);
  BatchingOptions batching = options.batching;
  batching.transactions_max = std::clamp<std::size_t>(batching.transactions_max, 1, session::kMergedBatchesMax);
  const SteadyClock now = options.now ? std::move(options.now) : system_steady_clock();
  if (!options.wall_clock) options.wall_clock = system_wall_clock();
  // A tick of the clock waiting for its answer (SequencerOptions::clock_tick).
  auto ticking = std::make_shared<bool>(false);
  if (options.clock_tick.count() > 0) self->delayed_send(self, options.clock_tick, clock_tick_atom::value);
  auto epoch = std::make_shared<codec::Epoch>(0);
  // Before any epoch: the driver reports outcomes here (messages from one actor to
  // another arrive in the order sent).
  // Also where it tells which epochs to cancel.
  self->send(driver, report_atom::value, caf::actor_cast<caf::actor>(self));
  // Without its driver it stops at once: the batches it would log could not run until
  // the log runs again, and their clients would wait for nothing.
  self->monitor(driver);
  self->set_down_handler([self, driver_addr = driver.address()](const caf::down_msg& down) {
    if (down.source != driver_addr) return;
    self->quit(down.reason ? down.reason
                           : caf::make_error(caf::sec::runtime_error, "the documents' driver stopped"));
  });
  // A logged batch that does not decode would be lost without a word: stop instead.
  auto bad = [](codec::Epoch e, const Status& s) {
    return Status(s.code(), "epoch " + std::to_string(e) + ": " + s.message());
  };
  // What the log holds, read once before anything runs: its first entry, the epochs
  // cancelled after they were logged (they did not run: a partition was unavailable),
  // each with the merged epoch's batches that did not run (none listed: the whole epoch),
  // and the checkpoints of every partition it records (the last few, oldest first).
  codec::Epoch first_logged = 0;
  std::map<codec::Epoch, std::vector<std::uint32_t>> cancelled;
  auto marks = std::make_shared<std::vector<codec::EpochCheckpoint>>();
  // The last change of each effect delivery that no epoch made, and the last group to
  // take each effect (EffectOutbox).
  std::map<session::DeliveryKey, session::DeliveryChange> delivery_changes;
  std::map<std::string, std::string> claims;
  Status scanned = log->replay([&](codec::Epoch e, std::string_view bytes) {
    if (first_logged == 0) first_logged = e;
    *epoch = e;  // a cancellation or a checkpoint's or deliveries' entry keeps its number
    if (codec::is_delivery_changes(bytes)) {
      Result<codec::DeliveryChangesEntry> entry = codec::decode_delivery_changes(bytes);
      if (!entry.is_ok()) return bad(e, entry.status());
      for (const session::DeliveryChange& c : entry->changes) delivery_changes[c.key] = c;
      for (codec::EffectClaim& c : entry->claims) claims[c.effect] = std::move(c.group);
      return Status::ok();
    }
    if (codec::is_epoch_checkpoint(bytes)) {
      Result<codec::EpochCheckpoint> c = codec::decode_epoch_checkpoint(bytes);
      if (!c.is_ok()) return bad(e, c.status());
      marks->push_back(std::move(c).value());
      if (marks->size() > kCheckpointsTried) marks->erase(marks->begin());
      return Status::ok();
    }
    if (!codec::is_epoch_cancel(bytes)) return Status::ok();
    Result<codec::EpochCancel> c = codec::decode_epoch_cancel(bytes);
    if (!c.is_ok()) return bad(e, c.status());
    cancelled[c->epoch] = std::move(c->members);
    return Status::ok();
  });
  if (!scanned.is_ok()) {
    self->quit(caf::make_error(caf::sec::runtime_error, "epoch log: " + scanned.message()));
    return {};
  }
  const codec::Epoch replayed_last = *epoch;
  effects->replay_changes(std::move(delivery_changes));
  effects->restore_claims(claims, now());
  // Every logged transaction is known before any client's message is taken: one sent
  // again while the partitions are restored waits for its answer from the log, instead
  // of running as a new one.
  auto ids_of = [](std::string_view bytes) -> Result<std::vector<session::TxnId>> {
    if (!codec::is_batch_group(bytes)) return std::vector<session::TxnId>{txn_of(bytes)};
    Result<std::vector<std::string>> group = codec::decode_batch_group(bytes);
    if (!group.is_ok()) return group.status();
    std::vector<session::TxnId> ids;
    for (const std::string& b : *group) ids.push_back(txn_of(b));
    return ids;
  };
  scanned = log->replay([&](codec::Epoch e, std::string_view bytes) {
    const auto cancel = cancelled.find(e);
    if (holds_no_batch(bytes) || (cancel != cancelled.end() && cancel->second.empty())) {
      return Status::ok();
    }
    Result<std::vector<session::TxnId>> ids = ids_of(bytes);
    if (!ids.is_ok()) return bad(e, ids.status());
    for (std::uint32_t k = 0; k < ids->size(); ++k) {
      // A cancelled member of a group is forgotten: sent again, it runs.
      if (cancel != cancelled.end() && std::binary_search(cancel->second.begin(), cancel->second.end(), k)) continue;
      txns->start((*ids)[k]);
    }
    return Status::ok();
  });
  if (!scanned.is_ok()) {
    self->quit(caf::make_error(caf::sec::runtime_error, "epoch log: " + scanned.message()));
    return {};
  }
  // The run of the log at the start: whether every logged epoch sent to the driver has
  // been answered, and what waits for that. The outbox learns what those epochs offered
  // (and which of them the log's delivery changes left dead or dropped) from their
  // outcomes, so a dead-letter command answered before them would see a part of it.
  struct Recovery {
    bool sent = false;      ///< the log went to the driver (or will not run: refused)
    std::size_t left = 0;   ///< its epochs not answered yet
    std::size_t total = 0;  ///< its epochs sent to the driver
    /// What waits for the end, by id: run then (first), or given up (second:
    /// recovery_wait_atom).
    std::map<std::uint64_t, std::pair<std::function<void()>, std::function<void(const std::string& progress)>>>
        waiting;
    std::uint64_t next_id = 0;
    std::function<void()> recovered;  ///< SequencerOptions::recovered, called once
    bool done() const { return sent && left == 0; }
    /// Runs what waits once the last answer came.
    void settle() {
      if (!done()) return;
      if (recovered) std::exchange(recovered, nullptr)();
      auto now = std::move(waiting);
      waiting.clear();
      for (auto& [id, f] : now) f.first();
    }
    void sent_one() {
      ++left;
      ++total;
    }
    void answered() {
      --left;
      settle();
    }
    /// How far the log has run, for one who waited too long.
    std::string progress() const {
      if (!sent) return "the partitions are taking back their checkpoint";
      return std::to_string(total - left) + " of its " + std::to_string(total) + " epochs answered";
    }
  };
  auto recovery = std::make_shared<Recovery>();
  recovery->recovered = options.recovered;
  // Sends the logged epochs after `after` (the checkpoint the partitions were restored
  // from) to the driver, in order: it handles them before any client's. The transactions
  // of those before it are remembered as run, their answers unknown.
  auto run_log = [self, log, driver, txns, bad, ids_of, recovery,
                  cancelled = std::move(cancelled)](codec::Epoch after) -> Status {
    return log->replay([&](codec::Epoch e, std::string_view bytes) {
    const auto cancel = cancelled.find(e);
    if (holds_no_batch(bytes) || (cancel != cancelled.end() && cancel->second.empty())) {
      return Status::ok();
    }
    auto bad_e = [&](const Status& s) { return bad(e, s); };
    if (e <= after) {
      if (cancel != cancelled.end()) return Status::ok();  // members cut short: forgotten
      const caf::error ran = caf::make_error(
          caf::sec::runtime_error,
          "the transaction ran in epoch " + std::to_string(e) + ", before the checkpoint of epoch " +
              std::to_string(after) + " the cluster started from, and its answer is not kept: read "
              "to learn what it did; it does not run again");
      Result<std::vector<session::TxnId>> ids = ids_of(bytes);
      if (!ids.is_ok()) return bad_e(ids.status());
      for (const session::TxnId& id : *ids) txns->ran_before_checkpoint(id, ran);
      return Status::ok();
    }
    // Nobody waits for these answers; each is remembered for its transaction id.
    auto run_alone = [&](std::string batch) {
      const session::TxnId id = txn_of(batch);
      txns->start(id);
      recovery->sent_one();
      self->request(driver, caf::infinite, apply_atom::value, e, std::move(batch))
          .then(
              [txns, id, recovery](const std::string& answer) {
                remember_replayed(*txns, id, answer);
                recovery->answered();
              },
              [txns, id, recovery](const caf::error& err) {
                txns->doubt(id, err);
                recovery->answered();
              });
    };
    if (codec::is_batch_group(bytes)) {
      Result<std::vector<std::string>> group = codec::decode_batch_group(bytes);
      if (!group.is_ok()) return bad_e(group.status());
      if (cancel != cancelled.end()) {
        // Some of its batches were cut short after the merged run failed and the batches
        // ran alone: the others run alone again, as they did.
        for (std::uint32_t k = 0; k < group->size(); ++k) {
          if (std::binary_search(cancel->second.begin(), cancel->second.end(), k)) continue;
          if (Result<session::Batch> b = codec::decode_batch((*group)[k]); !b.is_ok()) return bad_e(b.status());
          run_alone(std::move((*group)[k]));
        }
        return Status::ok();
      }
      std::vector<session::TxnId> ids;
      for (const std::string& b : *group) {
        if (Result<session::Batch> batch = codec::decode_batch(b); !batch.is_ok()) return bad_e(batch.status());
        ids.push_back(txn_of(b));
        txns->start(ids.back());
      }
      recovery->sent_one();
      self->request(driver, caf::infinite, apply_group_atom::value, e, std::string(bytes))
          .then(
              [txns, ids, recovery](const std::vector<std::string>& answers) {
                for (std::size_t k = 0; k < ids.size() && k < answers.size(); ++k) {
                  remember_replayed(*txns, ids[k], answers[k]);
                }
                recovery->answered();
              },
              [txns, ids, recovery](const caf::error& err) {
                for (const session::TxnId& id : ids) txns->doubt(id, err);
                recovery->answered();
              });
    } else {
      if (Result<session::Batch> b = codec::decode_batch(bytes); !b.is_ok()) return bad_e(b.status());
      run_alone(std::string(bytes));
    }
    return Status::ok();
  });
  };

  // The epochs numbered here whose outcome is still to come, oldest first: when each was
  // numbered and how many client transactions share it.
  struct InFlight {
    codec::Epoch epoch;
    std::chrono::steady_clock::time_point numbered;
    std::size_t transactions;
  };
  auto in_flight = std::make_shared<std::deque<InFlight>>();
  // Epochs answered when decided (decided_atom) whose outcome has not come yet, and the
  // requests that read outcomes held back until none is left: a client that heard
  // "committed" then finds the epoch's effects and versions.
  struct Held {
    std::set<codec::Epoch> owed;
    std::vector<std::function<void()>> requests;
  };
  auto held = std::make_shared<Held>();
  // The current request again once nothing is owed, marked (held_atom) so that it runs
  // then whatever was decided since: it waits for the epochs answered before it came only.
  auto hold = [self, held](auto... args) {
    caf::response_promise rp = self->make_response_promise();
    held->requests.push_back(
        [self, rp, args...]() mutable { rp.delegate(caf::actor_cast<caf::actor>(self), held_atom::value, args...); });
    return rp;
  };
  // Batches received and not yet logged, in order of arrival. While fewer than
  // kEpochsAtDriver requests are at the driver, a flush message to itself, sent with the
  // first of them, arrives after every batch already in the mailbox: those are logged
  // together. Otherwise they wait for the driver's next answer: the batches that arrive
  // while an epoch runs make the next one.
  struct Pending {
    std::string bytes;
    session::TxnId txn;  ///< the client's id (empty: none)
    bool changes = false;    ///< an epoch: logged before it runs
    bool mergeable = false;  ///< may share its epoch with its neighbours (session/merge.hpp)
    caf::response_promise rp;
    /// The client call it came from when one call makes several batches (the acks of one
    /// ackEffects call); 0: a call of its own. Batches of one call count as one transaction
    /// against BatchingOptions::transactions_max.
    std::uint64_t call = 0;
    session::Batch decoded;  ///< `bytes`, decoded when it came: what the driver runs (and its op count)
  };
  struct Queue {
    std::deque<Pending> pending;
    bool flush_sent = false;
    std::size_t at_driver = 0;  ///< requests sent to the driver and not answered
    /// The partitions are restored and the log sent to the driver: batches may follow.
    bool ready = false;
    /// Why no batch can run (the partitions could not be restored); empty: none.
    std::string refusing;
    /// Sends the flush message when one is due.
    void flush_if_due(caf::event_based_actor* self) {
      if (!ready || flush_sent || pending.empty() || at_driver >= kEpochsAtDriver) return;
      flush_sent = true;
      self->send(self, flush_atom::value);
    }
  };
  auto queue = std::make_shared<Queue>();
  auto pending = std::shared_ptr<std::deque<Pending>>(queue, &queue->pending);
  // A driver's answer: one request fewer at the driver, perhaps time for the next epochs.
  auto answered = [self, queue] {
    --queue->at_driver;
    queue->flush_if_due(self);
  };
  // Sends the waiting batches to the driver, as epochs, and logs them (one sync).
  auto flush = [self, driver, log, epoch, in_flight, observe, pending, queue, answered, batching, now, txns]() {
    const std::size_t n = std::min(pending->size(), kGroupCommitBatchesMax);
    if (n == 0) return;
    // Epochs: a batch that reads only runs between them; a run of mergeable batches
    // (two or more) is one epoch.
    struct Run {
      std::size_t first, count;
      bool changes;
      std::string group;  ///< the BatchGroup's bytes of a merged run
    };
    std::vector<Run> runs;
    for (std::size_t i = 0; i < n;) {
      std::size_t j = i + 1, ops = (*pending)[i].decoded.size(), bytes = (*pending)[i].bytes.size();
      std::size_t calls = 1;  // client calls in the run: batches of one call count once
      if ((*pending)[i].mergeable) {
        while (j < n && (*pending)[j].mergeable && j - i < session::kMergedBatchesMax &&
               ops + (*pending)[j].decoded.size() <= session::kMergedOpsMax &&
               bytes + (*pending)[j].bytes.size() <= batching.bytes_max) {
          const bool same_call = (*pending)[j].call != 0 && (*pending)[j].call == (*pending)[j - 1].call;
          if (!same_call && calls == batching.transactions_max) break;
          calls += same_call ? 0 : 1;
          ops += (*pending)[j].decoded.size();
          bytes += (*pending)[j].bytes.size();
          ++j;
        }
      }
      runs.push_back(Run{i, j - i, (*pending)[i].changes, {}});
      i = j;
    }
    Status grouped;
    for (Run& r : runs) {
      if (r.count < 2) continue;
      std::vector<std::string_view> batches;
      for (std::size_t k = r.first; k < r.first + r.count; ++k) batches.push_back((*pending)[k].bytes);
      Result<std::string> group = codec::encode_batch_group(batches);
      if (!group.is_ok()) grouped = group.status();
      else r.group = std::move(group).value();
    }
    // The n batches leave the queue; their bytes stay here until the log write below.
    std::vector<Pending> taken;
    taken.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
      taken.push_back(std::move(pending->front()));
      pending->pop_front();
    }
    if (!grouped.is_ok()) {
      for (Pending& p : taken) {
        const caf::error e = caf::make_error(caf::sec::runtime_error, "epoch log: " + grouped.message());
        txns->fail(p.txn, e);
        p.rp.deliver(e);
      }
      queue->flush_if_due(self);
      return;
    }
    // The epochs go to the driver first and are logged right after (one sync for all):
    // the write runs beside their apply and compute, and each waits for it before
    // anything of it lasts (docs/EPOCHS.md, "The log write beside the epoch"). A crash
    // before the write is done loses epochs that nothing committed and nobody was told of.
    auto write = std::make_shared<LogWrite>();
    struct Unwritten {  // the driver hears of a write this handler never finished
      std::shared_ptr<LogWrite> write;
      ~Unwritten() {
        write->done(Status(StatusCode::internal, "epoch log: the sequencer stopped before logging the epoch"));
      }
    } unwritten{write};
    std::vector<std::pair<codec::Epoch, std::string_view>> epochs;
    for (Run& r : runs) {
      if (r.changes) {
        ++*epoch;
        epochs.emplace_back(*epoch, r.count >= 2 ? std::string_view(r.group) : std::string_view(taken[r.first].bytes));
        if (observe) in_flight->push_back(InFlight{*epoch, now(), r.count});
      }
      // The sequencer answers, not the driver: only local actors ever hold the driver
      // (a detached actor), so nothing remote keeps it from ending at shutdown. Replies
      // come in the order of the requests: the driver takes one epoch at a time.
      ++queue->at_driver;
      auto decoded = std::make_shared<std::vector<session::Batch>>();
      decoded->reserve(r.count);
      for (std::size_t k = r.first; k < r.first + r.count; ++k) decoded->push_back(std::move(taken[k].decoded));
      // A batch that only reads waits for no write: the epochs before it are committed.
      DecodedBatches message{std::move(decoded), r.changes ? write : nullptr};
      if (r.count < 2) {
        Pending& p = taken[r.first];
        self->request(driver, caf::infinite, apply_atom::value, *epoch, std::move(message))
            .then(
                [rp = p.rp, txn = p.txn, answered, txns](std::string& answer) mutable {
                  txns->finish(txn, answer);
                  rp.deliver(std::move(answer));
                  answered();
                },
                [rp = p.rp, txn = p.txn, changes = r.changes, answered, txns](caf::error& e) mutable {
                  // A logged batch may run when the log runs again: never as a new one.
                  if (changes) txns->doubt(txn, e);
                  else txns->fail(txn, e);
                  rp.deliver(std::move(e));
                  answered();
                });
        continue;
      }
      auto rps = std::make_shared<std::vector<caf::response_promise>>();
      auto ids = std::make_shared<std::vector<session::TxnId>>();
      for (std::size_t k = r.first; k < r.first + r.count; ++k) {
        rps->push_back(std::move(taken[k].rp));
        ids->push_back(taken[k].txn);
      }
      self->request(driver, caf::infinite, apply_group_atom::value, *epoch, std::move(message))
          .then(
              [rps, ids, answered, txns](std::vector<std::string>& answers) {
                for (std::size_t k = 0; k < rps->size(); ++k) {
                  if (k < answers.size()) {
                    txns->finish((*ids)[k], answers[k]);
                    (*rps)[k].deliver(std::move(answers[k]));
                  } else {
                    const caf::error e = caf::make_error(caf::sec::runtime_error, "no answer for a batch of the epoch");
                    txns->doubt((*ids)[k], e);
                    (*rps)[k].deliver(e);
                  }
                }
                answered();
              },
              [rps, ids, answered, txns](caf::error& e) {
                for (const session::TxnId& id : *ids) txns->doubt(id, e);
                for (caf::response_promise& rp : *rps) rp.deliver(e);
                answered();
              });
    }
    // Durable before anything of them lasts: a failed write rolls every epoch of it back
    // (their answers say so), and a crash before it returns runs none of them again.
    Status logged = epochs.empty() ? Status::ok() : log->append_group(epochs);
    write->done(logged.is_ok() ? Status::ok() : Status(logged.code(), "epoch log: " + logged.message()));
    queue->flush_if_due(self);
  };
  // Takes a client's batch into the queue (the transact_atom handlers below); `call` as
  // Pending::call.
  // Numbers the client calls that make several batches (Pending::call), from 1.
  auto calls = std::make_shared<std::uint64_t>(0);
  auto submit = [self, queue, flush, txns](const std::string& bytes, std::uint64_t call) -> caf::delegated<caf::message> {
    Result<session::Batch> batch = codec::decode_batch(bytes);
    auto rp = self->make_response_promise();
    if (!batch.is_ok()) {
      rp.deliver(bad_request(batch.status()));
      return {};
    }
    if (!queue->refusing.empty()) {
      rp.deliver(caf::make_error(caf::sec::runtime_error, queue->refusing));
      return {};
    }
    // Sent again: the first send's outcome, without running it again.
    const session::TxnId txn = txn_of(bytes);
    if (!txn.empty() && txns->answer_again(txn, rp)) return {};
    txns->start(txn);
    const bool changes = changes_documents(*batch), mergeable = session::mergeable(*batch);
    queue->pending.push_back(Pending{bytes, txn, changes, mergeable, std::move(rp), call,
                                     std::move(batch).value()});
    // An idle driver takes it at once (a lone client waits for no message); otherwise
    // it waits for the flush, with whatever arrives meanwhile. A batch of a call that
    // makes several waits for the flush too: the flush message arrives after the rest
    // of the call's batches, so they share an epoch.
    if (call == 0 && queue->ready && queue->at_driver == 0 && !queue->flush_sent) {
      flush();
    } else {
      queue->flush_if_due(self);
    }
    return {};
  };
  // Checkpoints (docs/CLUSTER.md, "Checkpoints"): the last one logged, and logging one.
  auto last_mark = std::make_shared<codec::Epoch>(marks->empty() ? 0 : marks->back().epoch);
  auto log_mark = [self, driver, log, epoch, effects, last_mark, txns, now](codec::Epoch e,
                                                                            std::uint64_t bytes) -> Status {
    Result<std::string> entry = codec::encode_epoch_checkpoint(codec::EpochCheckpoint{
        e, bytes, effects->deliveries().owed(),
        txns->recent_answers(kCheckpointAnswersMax, kCheckpointAnswerBytesMax)});
    // The records of the epochs it holds are stored first: a restart from it runs only the
    // epochs after it, so none of theirs would be made again.
    Status logged = entry.is_ok() ? log->flush() : entry.status();
    if (logged.is_ok()) logged = log->append(*epoch + 1, *entry);
    if (!logged.is_ok()) return Status(logged.code(), "cannot log the checkpoint of epoch " + std::to_string(e) + ": " + logged.message());
    ++*epoch;
    // The consumer groups' effects again, after it: compacting the log up to it keeps them.
    if (const std::vector<codec::EffectClaim> held = effects->live_claims(now()); !held.empty()) {
      Result<std::string> claims = codec::encode_delivery_changes({}, held);
      Status s = claims.is_ok() ? log->append(*epoch + 1, *claims) : claims.status();
      if (s.is_ok()) {
        ++*epoch;
      } else {
        effects->count_error("consumer groups' effects not logged after the checkpoint: " + s.message());
      }
    }
    // From now on the partitions may forget the checkpoints before the one logged before.
    self->send(driver, checkpoint_logged_atom::value, e);
    // The checkpoint before this one stays restorable (a partition may lack this one):
    // the log keeps what follows it.
    const codec::Epoch keep_after = *last_mark;
    *last_mark = e;
    if (keep_after > 0) return log->compact(keep_after + 1);
    return Status::ok();
  };
  // The partitions take back the newest checkpoint that every one of them holds (trying
  // older ones when one lacks it), or start empty when the log still starts at epoch 1;
  // then the log after it runs, and client batches after that.
  auto restore = std::make_shared<std::function<void(std::size_t, std::string)>>();
  // It calls itself through `weak` (held by the behavior below: a strong capture would be a
  // cycle).
  *restore = [self, driver, marks, first_logged, replayed_last, run_log, queue, effects, now, txns,
              recovery, restored = options.restored,
              weak = std::weak_ptr<std::function<void(std::size_t, std::string)>>(restore)](
                 std::size_t left, std::string why_not) {
    // A checkpoint is usable if the log still holds every entry after it.
    while (left > 0 && first_logged > 1 && (*marks)[left - 1].epoch + 1 < first_logged) --left;
    const codec::Epoch at = left > 0 ? (*marks)[left - 1].epoch : 0;
    if (left == 0 && first_logged > 1) {
      self->quit(caf::make_error(
          caf::sec::runtime_error,
          "epoch log: it starts at epoch " + std::to_string(first_logged) +
              " (the entries before were compacted) and no checkpoint of every partition that "
              "it records could be restored" + (why_not.empty() ? "" : ": " + why_not)));
      return;
    }
    self->request(driver, caf::infinite, restore_atom::value, at, replayed_last)
        .then(
            [self, marks, left, at, run_log, queue, effects, now, txns, recovery, restored,
             replayed_last](bool) {
              if (restored) restored(at, replayed_last);
              if (left > 0) {
                effects->restore((*marks)[left - 1].owed, now());
                for (const auto& [id, answer] : (*marks)[left - 1].answers) {
                  txns->start(id);
                  txns->finish(id, answer);
                }
              }
              if (Status s = run_log(at); !s.is_ok()) {
                self->quit(caf::make_error(caf::sec::runtime_error, "epoch log: " + s.message()));
                return;
              }
              queue->ready = true;
              recovery->sent = true;
              recovery->settle();
              queue->flush_if_due(self);
            },
            [self, left, weak, queue, txns, recovery](caf::error& e) {
              const std::string why = self->system().render(e);
              if (e == caf::sec::request_receiver_down) {
                // A partition is unavailable: nothing can run until its node is back,
                // registers again and the coordinator starts a new sequencer.
                queue->refusing = "unavailable: the partitions could not be restored (" + why +
                                  "); the cluster waits for the node to come back";
                const caf::error refused = caf::make_error(caf::sec::runtime_error, queue->refusing);
                txns->doubt_waiting(refused);
                for (Pending& p : queue->pending) {
                  txns->fail(p.txn, refused);
                  p.rp.deliver(refused);
                }
                queue->pending.clear();
                // The log will not run: a dead-letter command answers from what is known,
                // and no recovery ended (a later sequencer runs the log).
                recovery->recovered = nullptr;
                recovery->sent = true;
                recovery->settle();
                return;
              }
              if (auto again = weak.lock()) (*again)(left == 0 ? 0 : left - 1, why);
            });
  };
  (*restore)(marks->size(), std::string());
  // An ack or an async result the outbox started (EffectOutbox::start_ack): an input
  // transaction like any client's, logged, run and replayed after a restart; its answer
  // settles the delivery. `what` names it in an error.
  auto settle = [self, effects](session::DeliveryKey key, const session::Batch& batch,
                                const char* what) -> caf::result<std::string> {
    Result<std::string> bytes = codec::encode_batch(batch, session::TxnId{});
    if (!bytes.is_ok()) {
      effects->finish_ack(key, bytes.status());
      return "failed: " + bytes.status().message();
    }
    auto rp = self->make_response_promise<std::string>();
    self->request(caf::actor_cast<caf::actor>(self), caf::infinite, transact_atom::value, std::move(bytes).value())
        .then(
            [rp, effects, key](const std::string& answer) mutable {
              rp.deliver(effects->finish_ack(key, codec::decode_batch_result(answer)));
            },
            [rp, effects, key, what](caf::error& e) mutable {
              effects->finish_ack(key, Status(StatusCode::io_error, std::string("the ") + what + " did not run"));
              rp.deliver(std::move(e));
            });
    return rp;
  };
  // An ack the outbox started, run as one of the acks of call `call` (they share an epoch and
  // count as one transaction against the batching bound; one that fails fails alone);
  // `done` gets the outcome finish_ack gives.
  auto run_ack = [self, effects](session::DeliveryKey key, const session::Batch& batch, std::uint64_t call,
                                 std::function<void(std::string)> done) {
    Result<std::string> bytes = codec::encode_batch(batch, session::TxnId{});
    if (!bytes.is_ok()) {
      effects->finish_ack(key, bytes.status());
      done("failed: " + bytes.status().message());
      return;
    }
    self->request(caf::actor_cast<caf::actor>(self), caf::infinite, transact_atom::value, std::move(bytes).value(),
                  call)
        .then(
            [effects, key, done](const std::string& answer) {
              done(effects->finish_ack(key, codec::decode_batch_result(answer)));
            },
            [effects, key, done](caf::error& e) {
              done(effects->finish_ack(key, Status(StatusCode::io_error, "the ack did not run: " + to_string(e))));
            });
  };
  // The history and ledger of versions (session/version_ledger.hpp): an epoch's records are
  // staged with the log, which stores them with a later entry. A failure is counted with
  // the outbox's errors and forgets what the recorder remembers: what is staged is stored,
  // and the store read again.
  std::shared_ptr<session::VersionRecorder> recorder;
  if (log->ledger() != nullptr) recorder = std::make_shared<session::VersionRecorder>(*log->ledger());
  // A sequencer started again on the same log (after a node rejoined) records from what
  // is stored: what the one before staged is stored first, or it would be made twice.
  if (Status s = log->flush(); !s.is_ok()) effects->count_error("versions not recorded: " + s.message());
  // The wall clock in ns, the time of a ledger record.
  auto wall_ns = [wall_clock = options.wall_clock] {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(wall_clock(), 0)) * 1'000'000;
  };
  auto record = [log, recorder, effects, wall_ns](codec::Epoch e, const codec::EffectReport& report) {
    if (!recorder || (report.recorded.empty() && report.request_results.empty())) return;
    const std::uint64_t time_ns = wall_ns();
    session::VersionRecords records;
    auto failed = [&](const Status& s) {
      effects->count_error("epoch " + std::to_string(e) + ": versions not recorded: " + s.message());
      // A field read again must find what was recorded of it before.
      if (Status f = log->flush(); !f.is_ok()) effects->count_error("versions not recorded: " + f.message());
      recorder->forget();
    };
    for (const session::RecordedChange& c : report.recorded) {
      if (Status s = recorder->record(c, e, time_ns, &records); !s.is_ok()) return failed(s);
    }
    // A result goes after the records its request's key has: those staged are stored first
    // (results are rarer than triggers and acks).
    if (Status s = report.request_results.empty() ? Status::ok() : log->flush(); !s.is_ok()) return failed(s);
    for (const session::RequestResult& r : report.request_results) {
      if (Status s = recorder->record_result(r, e, time_ns, &records); !s.is_ok()) return failed(s);
    }
    if (!records.empty()) log->stage(std::move(records));
  };
  // Logs the changes of deliveries the outbox made since the last call (a delivery sent or
  // dead, a dead letter retried or dropped) and the effects consumer groups took, in
  // entries of at most kDeliveryChangesMax changes: a restart keeps them. An entry takes an epoch number, as a cancellation does. Each change's
  // ledger record (VersionRecorder::record_change) is stored first: a restart does not
  // make it again, and one whose entry then fails to be logged happened all the same (the
  // delivery dies again later, with a record of its own).
  auto log_changes = [log, epoch, effects, recorder, wall_ns]() -> Status {
    std::vector<session::DeliveryChange> changes = effects->take_changes();
    // The effects consumer groups took go with the first part (at most kClaimedEffectsMax).
    std::vector<codec::EffectClaim> claims = effects->take_claims();
    for (std::size_t at = 0; at < changes.size() || (at == 0 && !claims.empty()); at += codec::kDeliveryChangesMax) {
      const std::vector<session::DeliveryChange> part(
          changes.begin() + static_cast<std::ptrdiff_t>(at),
          changes.begin() + static_cast<std::ptrdiff_t>(std::min(changes.size(), at + codec::kDeliveryChangesMax)));
      if (recorder && !part.empty()) {
        const std::uint64_t time_ns = wall_ns();
        session::VersionRecords records;
        Status s = log->flush();  // the records at each key, stored, come before these
        for (std::size_t k = 0; s.is_ok() && k < part.size(); ++k) {
          s = recorder->record_change(part[k], *epoch + 1, time_ns, &records);
        }
        if (s.is_ok() && !records.empty()) {
          log->stage(std::move(records));
          s = log->flush();
        }
        if (!s.is_ok()) effects->count_error("delivery changes not recorded in the ledger: " + s.message());
      }
      Result<std::string> bytes = codec::encode_delivery_changes(part, at == 0 ? claims : std::vector<codec::EffectClaim>{});
      Status logged = bytes.is_ok() ? log->append(*epoch + 1, *bytes) : bytes.status();
      if (!logged.is_ok()) {
        // The change holds in memory; a restart before it is logged again (never) undoes it:
        // a dead letter pending again, which at-least-once delivery allows.
        const Status s(logged.code(), "epoch log: " + std::to_string(changes.size() - at) +
                                          " delivery changes not kept: " + logged.message());
        effects->count_error(s.message());
        return s;
      }
      ++*epoch;
    }
    return Status::ok();
  };
  // Passes an admin socket's request on to partition `p` (inspect_atom, below), or refuses it.
  auto to_partition = [self, partitions = options.partitions](std::uint32_t p, auto&&... message)
      -> caf::delegated<caf::message> {
    if (p < partitions.size() && partitions[p]) {
      return self->delegate(partitions[p], std::forward<decltype(message)>(message)...);
    }
    self->make_response_promise().deliver(no_partition(p, partitions.size()));
    return {};
  };
  // Effect deliveries due now for a consumer group (effects_poll_atom).
  auto poll = [effects, now, log_changes, run_ack, calls](const std::string& group, const std::vector<std::string>& names,
                                                          std::uint32_t max) -> caf::result<std::vector<std::string>> {
    Result<std::vector<std::string>> polled = effects->poll(group, names, max, now());
    if (!polled.is_ok()) return caf::make_error(caf::sec::invalid_argument, polled.status().message());
    std::vector<std::string> sent = std::move(polled).value();
    // Fire-and-forget deliveries just sent: acknowledged here, all in one call. One whose
    // ack fails stays owed and is sent again after its retry delay.
    const std::vector<session::DeliveryKey> settle = effects->take_sent_to_settle();
    const std::uint64_t call = settle.empty() ? 0 : ++*calls;
    for (const session::DeliveryKey key : settle) {
      Result<session::Batch> batch = effects->start_ack(key, now());
      if (!batch.is_ok()) continue;  // settled meanwhile (duplicate)
      run_ack(key, *batch, call, [effects, key](const std::string& outcome) {
        if (outcome.starts_with("failed")) {
          effects->count_error("fire-and-forget delivery " + session::delivery_key_text(key) +
                               " not settled: " + outcome);
        }
      });
    }
    (void)log_changes();  // counted in the outbox's errors when it fails
    return sent;
  };
  // A field's history or audit (ledger_atom).
  auto ledger = [self, log, partitions = options.partitions](std::uint64_t record, std::string field,
                                                              const std::string& cmd, std::string ref, bool has_at,
                                                              std::uint64_t at) -> caf::result<std::string> {
    if (log->ledger() == nullptr || partitions.empty()) {
      return ledger_error(Status(StatusCode::failed_precondition, "this cluster keeps no history"));
    }
    auto rp = self->make_response_promise<std::string>();
    const caf::actor& owner =
        partitions[schema::Placement::partition_of(record, static_cast<std::uint32_t>(partitions.size()))];
    self->request(owner, kLedgerPartitionTimeout, ledger_atom::value, record, std::move(field), cmd,
                  std::move(ref))
        .then(
            [log, rp, cmd, has_at, at](const std::string& named) mutable {
              const nlohmann::json j = nlohmann::json::parse(named, nullptr, false);
              if (!j.is_object() || !j.contains("node")) {
                rp.deliver(j.is_object() && j.contains("error")
                               ? named
                               : ledger_error(Status(StatusCode::internal, "a partition answered " + named)));
                return;
              }
              if (Status s = log->flush(); !s.is_ok()) {
                rp.deliver(ledger_error(Status(s.code(), "the history is not readable: " + s.message())));
                return;
              }
              session::LedgerQuery query{cmd, {}, std::nullopt};
              if (has_at) query.at = at;
              Result<std::string> answer = session::read_ledger(*log->ledger(), j["node"].get<std::uint64_t>(), query);
              rp.deliver(answer.is_ok() ? std::move(answer).value() : ledger_error(answer.status()));
            },
            [rp](caf::error& e) mutable {
              rp.deliver(ledger_error(Status(StatusCode::io_error, "unavailable: the partition of the record did "
                                                                   "not answer (" + caf::to_string(e) + ")")));
            });
    return rp;
  };
  // An operator's dead-letter command (dead_letters_atom).
  auto dead_letters = [self, effects, now, log_changes, recovery](const std::string& command, std::uint64_t field,
                                                                  std::uint64_t version) -> caf::result<std::string> {
    auto run = [effects, now, log_changes, command, field, version] {
      std::string answer = effects->dead_letter_command(command, session::DeliveryKey{field, version}, now());
      // Durable before the operator hears it was done.
      if (Status s = log_changes(); !s.is_ok()) {
        return json::Object()
            .str("error", command + " " + session::delivery_key_text({field, version}) +
                              " took effect here, but a restart would undo it: " + s.message())
            .done();
      }
      return answer;
    };
    if (recovery->done()) return run();
    // While the log runs at the start, the dead letters it holds are not all known:
    // the command waits for the last of its epochs, kRecoveryWaitMax at most.
    auto rp = self->make_response_promise<std::string>();
    const std::uint64_t id = recovery->next_id++;
    recovery->waiting.emplace(
        id, std::make_pair([rp, run]() mutable { rp.deliver(run()); },
                           [rp](const std::string& progress) mutable {
                             rp.deliver(json::Object()
                                            .str("error", "the coordinator is still running its log after a "
                                                          "restart (" + progress +
                                                              "); dead letters are known once it has: try "
                                                              "again shortly")
                                            .done());
                           }));
    self->delayed_send(self, kRecoveryWaitMax, recovery_wait_atom::value, id);
    return rp;
  };
  return {
      [self, driver, queue, log_mark, restore](checkpoint_atom) -> caf::result<std::string> {
        (void)restore;  // held here for as long as the sequencer lives
        if (!queue->ready) {
          return caf::make_error(caf::sec::runtime_error, queue->refusing.empty()
                                                              ? "the cluster is still starting: no checkpoint yet"
                                                              : queue->refusing);
        }
        auto rp = self->make_response_promise<std::string>();
        self->request(driver, caf::infinite, checkpoint_atom::value)
            .then(
                [rp, log_mark](codec::Epoch e, std::uint64_t bytes) mutable {
                  if (Status s = log_mark(e, bytes); !s.is_ok()) {
                    rp.deliver(caf::make_error(caf::sec::runtime_error, "epoch log: " + s.message()));
                    return;
                  }
                  rp.deliver(json::Object().unum("checkpoint", e).unum("image_bytes", bytes).done());
                },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [log_mark](checkpointed_atom, codec::Epoch e, std::uint64_t bytes) {
        // A checkpoint whose entry could not be logged (or whose log could not be
        // compacted) changes nothing the cluster relies on: the partitions keep the
        // checkpoints the log records until the driver hears of a newer one, and the next
        // checkpoint tries again.
        (void)log_mark(e, bytes);
      },
      [poll, held, hold](effects_poll_atom a, const std::string& group, const std::vector<std::string>& names,
                         std::uint32_t max) -> caf::result<std::vector<std::string>> {
        if (!held->owed.empty()) return hold(a, group, names, max);
        return poll(group, names, max);
      },
      [poll](held_atom, effects_poll_atom, const std::string& group, const std::vector<std::string>& names,
             std::uint32_t max) { return poll(group, names, max); },
      [effects, now, settle, log_changes](effects_ack_atom, std::uint64_t field,
                                          std::uint64_t version) -> caf::result<std::string> {
        const session::DeliveryKey key{field, version};
        Result<session::Batch> batch = effects->start_ack(key, now());
        (void)log_changes();
        if (!batch.is_ok()) return batch.status().message();  // unknown or duplicate
        return settle(key, *batch, "ack");
      },
      [effects, now, settle, log_changes](effects_resolve_atom, std::uint64_t field, std::uint64_t version,
                                          const std::string& value) -> caf::result<std::string> {
        const session::DeliveryKey key{field, version};
        Result<Value> result = codec::decode_value(value);
        if (!result.is_ok()) return "failed: " + result.status().message();
        Result<session::Batch> batch = effects->start_ack(key, now(), &*result);
        (void)log_changes();
        if (!batch.is_ok()) return batch.status().message();  // unknown, duplicate, no request
        return settle(key, *batch, "result");
      },
      [self, effects, now, calls, log_changes, run_ack](effects_ack_atom, const std::vector<std::string>& keys)
          -> caf::result<std::vector<std::string>> {
        // Each ack a batch of its own, all asked of this actor before it takes the next
        // message: they queue together and share an epoch (the call counts as one
        // transaction against the batching bound), and one that fails fails alone.
        const std::uint64_t call = ++*calls;
        struct Acks {
          std::vector<std::string> outcomes;
          std::size_t waiting = 0;
          caf::typed_response_promise<std::vector<std::string>> rp;
        };
        auto acks = std::make_shared<Acks>();
        acks->outcomes.resize(keys.size());
        acks->rp = self->make_response_promise<std::vector<std::string>>();
        auto answered = [acks](std::size_t i, std::string outcome) {
          acks->outcomes[i] = std::move(outcome);
          if (--acks->waiting == 0) acks->rp.deliver(std::move(acks->outcomes));
        };
        acks->waiting = keys.size() + 1;  // + 1: this loop, so no answer delivers early
        for (std::size_t i = 0; i < keys.size(); ++i) {
          const Result<session::DeliveryKey> key = session::parse_delivery_key(keys[i]);
          if (!key.is_ok()) {
            answered(i, "failed: " + key.status().message());
            continue;
          }
          Result<session::Batch> batch = effects->start_ack(*key, now());
          if (!batch.is_ok()) {
            answered(i, batch.status().message());  // unknown or duplicate
            continue;
          }
          run_ack(*key, *batch, call, [i, answered](std::string outcome) { answered(i, std::move(outcome)); });
        }
        (void)log_changes();  // deliveries that died before their acks started
        if (--acks->waiting == 0) acks->rp.deliver(std::move(acks->outcomes));
        return acks->rp;
      },
      // Where subscriptions poll (none: this cluster serves none); gateways ask once.
      [watch = options.watch](watch_atom) { return watch; },
      // Asked of the driver and answered here, not delegated: a delegated request is
      // answered by the driver itself, which sends its handle to the subscriber's node, and
      // the middleman then holds the driver (a detached actor) for that node's proxy; when
      // the node left without releasing it, this node's actor system waited for the driver
      // forever at shutdown.
      [self, driver](watch_read_atom a, std::string& bytes, std::vector<std::string>& entities)
          -> caf::result<codec::Epoch, std::string, std::string, std::uint64_t> {
        auto rp = self->make_response_promise<codec::Epoch, std::string, std::string, std::uint64_t>();
        self->request(driver, caf::infinite, a, std::move(bytes), std::move(entities))
            .then(
                [rp](codec::Epoch e, std::string& values, std::string& records, std::uint64_t log) mutable {
                  rp.deliver(e, std::move(values), std::move(records), log);
                },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [to_partition](inspect_atom a, std::uint32_t p, std::uint64_t record, std::string& field) {
        return to_partition(p, a, record, std::move(field));
      },
      [to_partition](inspect_atom a, std::uint32_t p, std::string& packed) {
        return to_partition(p, a, std::move(packed));
      },
      [ledger, held, hold](ledger_atom a, std::uint64_t record, std::string& field, const std::string& cmd,
                           std::string& ref, bool has_at, std::uint64_t at) -> caf::result<std::string> {
        if (!held->owed.empty()) return hold(a, record, field, cmd, ref, has_at, at);
        return ledger(record, std::move(field), cmd, std::move(ref), has_at, at);
      },
      [ledger](held_atom, ledger_atom, std::uint64_t record, std::string& field, const std::string& cmd,
               std::string& ref, bool has_at, std::uint64_t at) {
        return ledger(record, std::move(field), cmd, std::move(ref), has_at, at);
      },
      [dead_letters, held, hold](dead_letters_atom a, const std::string& command, std::uint64_t field,
                                 std::uint64_t version) -> caf::result<std::string> {
        if (!held->owed.empty()) return hold(a, command, field, version);
        return dead_letters(command, field, version);
      },
      [dead_letters](held_atom, dead_letters_atom, const std::string& command, std::uint64_t field,
                     std::uint64_t version) { return dead_letters(command, field, version); },
      [recovery](recovery_wait_atom, std::uint64_t id) {
        const auto it = recovery->waiting.find(id);
        if (it == recovery->waiting.end()) return;  // answered meanwhile
        auto give_up = std::move(it->second.second);
        recovery->waiting.erase(it);
        give_up(recovery->progress());
      },
      [submit](transact_atom, const std::string& bytes) -> caf::delegated<caf::message> {
        return submit(bytes, 0);
      },
      // A batch of a client call that makes several (the acks of one ackEffects call, sent
      // by this actor to itself), named by `call`: they count as one transaction.
      [submit](transact_atom, const std::string& bytes, std::uint64_t call) -> caf::delegated<caf::message> {
        return submit(bytes, call);
      },
      [queue, flush](flush_atom) {
        queue->flush_sent = false;
        flush();
      },
      [self, queue, ticking, tick = options.clock_tick, wall = options.wall_clock](clock_tick_atom) {
        if (tick.count() > 0) self->delayed_send(self, tick, clock_tick_atom::value);
        if (*ticking || !queue->ready || !queue->refusing.empty()) return;
        session::Op clock;
        clock.kind = session::OpKind::clock;
        clock.value = Value(wall());
        clock.text = std::string(session::kClockTickText);
        session::Op commit;
        commit.kind = session::OpKind::commit;
        Result<std::string> bytes = codec::encode_batch(session::Batch{std::move(clock), std::move(commit)});
        if (!bytes.is_ok()) return;  // no time of day can fail to encode; nothing to do if it did
        *ticking = true;
        self->request(caf::actor_cast<caf::actor>(self), caf::infinite, transact_atom::value, std::move(bytes).value())
            .then([ticking](const std::string&) { *ticking = false; }, [ticking](caf::error&) { *ticking = false; });
      },
      // Before the driver answers the epoch's clients: durable before they hear that it
      // was rolled back, or the log would run it again at the next start. An epoch run
      // again from the log committed the first time; its failure now says nothing of it.
      [self, log, epoch, replayed_last](cancel_atom, codec::Epoch e, const std::string& reason,
                                        const std::vector<std::uint32_t>& members) {
        if (e <= replayed_last) return;
        Result<std::string> bytes = codec::encode_epoch_cancel(codec::EpochCancel{e, reason, members});
        Status logged = bytes.is_ok() ? log->append(*epoch + 1, *bytes) : bytes.status();
        if (!logged.is_ok()) {
          // Its clients would be told it was rolled back while the log still holds it.
          self->quit(caf::make_error(caf::sec::runtime_error,
                                     "epoch log: cannot cancel epoch " + std::to_string(e) + ": " +
                                         logged.message()));
          return;
        }
        ++*epoch;
      },
      [held](decided_atom, codec::Epoch e) { held->owed.insert(e); },
      [in_flight, observe, replayed_last, now, effects, record, held](
          outcome_atom, codec::Epoch e, bool committed, const std::string& reason, const std::string& report,
          std::uint8_t why, const std::vector<double>& phases) {
        // Once every epoch answered when decided has its outcome, what was held goes on
        // (after this outcome is taken in: it is queued behind it).
        if (held->owed.erase(e) != 0 && held->owed.empty()) {
          for (std::function<void()>& f : std::exchange(held->requests, {})) f();
        }
        // The epoch was logged before it ran and has committed: its effects are owed now,
        // and its versions recorded.
        if (!report.empty()) {
          Result<codec::EffectReport> r = codec::decode_effect_report(report);
          if (!r.is_ok()) {
            effects->count_error("epoch " + std::to_string(e) + ": " + r.status().message());
          } else {
            record(e, *r);
            effects->report(e, std::move(r).value(), now(), e <= replayed_last);
          }
        }
        if (!observe) return;
        const auto abort = static_cast<AbortReason>(why < kAbortReasons ? why : kAbortReasons - 1);
        if (e <= replayed_last) {
          observe(EpochOutcome{e, committed, true, 0, 0, reason, abort, phase_times(phases)});
          return;
        }
        // In order; an epoch whose outcome never came (none should) is dropped here.
        while (!in_flight->empty() && in_flight->front().epoch < e) in_flight->pop_front();
        double seconds = 0;
        std::size_t transactions = 0;
        if (!in_flight->empty() && in_flight->front().epoch == e) {
          seconds = std::chrono::duration<double>(now() - in_flight->front().numbered).count();
          transactions = in_flight->front().transactions;
          in_flight->pop_front();
        }
        observe(EpochOutcome{e, committed, false, seconds, transactions, reason, abort,
                             phase_times(phases)});
      },
  };
}

}  // namespace mgraph::actors
