#include "mgraph/actors/partitioned.hpp"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <string>
#include <utility>

#include "mgraph/codec/image_codec.hpp"
#include "mgraph/codec/watch_target.hpp"
#include "mgraph/graph/assert.hpp"
#include "mgraph/graph/hash.hpp"
#include "mgraph/session/version_ledger.hpp"

namespace mgraph::actors {

using codec::PartitionReply;
using codec::PartitionRequest;
using codec::PartitionRequestKind;
using session::OpKind;
using session::OpResult;

std::uint64_t results_digest(const session::BatchResult& results, std::size_t first) {
  Fnv1a64 h;
  for (std::size_t i = first; i < results.size(); ++i) {
    const OpResult& r = results[i];
    h.byte(static_cast<unsigned char>(r.status.code()))
        .u64(r.status.message().size())
        .bytes(r.status.message())
        .u64(r.created);
  }
  return h.value();
}

const char* epoch_phase_name(EpochPhase phase) {
  static constexpr const char* kNames[kEpochPhases] = {"apply", "mark", "compute", "commit"};
  return kNames[static_cast<std::size_t>(phase)];
}

const char* abort_reason_name(AbortReason reason) {
  static constexpr const char* kNames[kAbortReasons] = {
      "none", "rejected", "no_change", "invalid_op", "formula_failed", "cycle", "unavailable", "other"};
  const auto r = static_cast<std::size_t>(reason);
  return r < kAbortReasons ? kNames[r] : "other";
}

// ---- PartitionServer ----

// ---- MemoryPartitionCheckpoints ----

Status MemoryPartitionCheckpoints::put(std::uint32_t partition, std::uint64_t epoch,
                                       std::string_view image, std::uint64_t keep_from) {
  std::lock_guard<std::mutex> lock(mutex_);
  images_[{partition, epoch}] = std::string(image);
  images_.erase(images_.lower_bound({partition, 0}), images_.lower_bound({partition, keep_from}));
  return Status::ok();
}

Result<std::optional<std::string>> MemoryPartitionCheckpoints::get(std::uint32_t partition,
                                                                   std::uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = images_.find({partition, epoch});
  if (it == images_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status MemoryPartitionCheckpoints::clear(std::uint32_t partition) {
  std::lock_guard<std::mutex> lock(mutex_);
  images_.erase(images_.lower_bound({partition, 0}), images_.lower_bound({partition + 1, 0}));
  return Status::ok();
}

std::vector<std::uint64_t> MemoryPartitionCheckpoints::epochs(std::uint32_t partition) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::uint64_t> out;
  for (auto it = images_.lower_bound({partition, 0}); it != images_.end() && it->first.first == partition; ++it) {
    out.push_back(it->first.second);
  }
  return out;
}

// ---- PartitionServer ----

PartitionServer::PartitionServer(std::shared_ptr<const schema::Schema> schema,
                                 schema::StoreOptions options,
                                 std::shared_ptr<PartitionCheckpoints> checkpoints)
    : schema_(std::move(schema)),
      options_(options),
      checkpoints_(std::move(checkpoints)),
      store_(std::make_unique<schema::Store>(schema_, options_)),
      executor_(std::make_unique<session::StoreExecutor>(*store_)) {}

void PartitionServer::renew() {
  executor_.reset();
  store_ = std::make_unique<schema::Store>(schema_, options_);
  executor_ = std::make_unique<session::StoreExecutor>(*store_);
  earlier_.clear();
}

Status PartitionServer::checkpoint(std::uint64_t epoch, std::uint64_t keep_from, std::uint64_t* bytes) {
  const std::string what = "partition " + std::to_string(options_.placement.partition) +
                           ": checkpoint of epoch " + std::to_string(epoch);
  if (!checkpoints_) return Status(StatusCode::failed_precondition, what + ": no checkpoint store here");
  Result<schema::StoreImage> image = store_->export_image();
  if (!image.is_ok()) return Status(image.status().code(), what + ": " + image.status().message());
  Result<std::string> encoded = codec::encode_runner_image(schema::RunnerImage{std::move(image).value(), {}});
  if (!encoded.is_ok()) return Status(encoded.status().code(), what + ": " + encoded.status().message());
  if (Status s = checkpoints_->put(options_.placement.partition, epoch, *encoded, keep_from); !s.is_ok()) {
    return Status(s.code(), what + ": " + s.message());
  }
  *bytes = encoded->size();
  ++counters_.checkpoints;
  counters_.checkpoint_bytes = encoded->size();
  return Status::ok();
}

Status PartitionServer::restore(std::uint64_t epoch) {
  const std::uint32_t p = options_.placement.partition;
  renew();
  if (epoch == 0) return checkpoints_ ? checkpoints_->clear(p) : Status::ok();
  const std::string what = "partition " + std::to_string(p) + ": restore of epoch " + std::to_string(epoch);
  if (!checkpoints_) return Status(StatusCode::failed_precondition, what + ": no checkpoint store here");
  Result<std::optional<std::string>> bytes = checkpoints_->get(p, epoch);
  if (!bytes.is_ok()) return Status(bytes.status().code(), what + ": " + bytes.status().message());
  if (!bytes->has_value()) return Status(StatusCode::not_found, what + ": no checkpoint of that epoch here");
  Result<schema::RunnerImage> image = codec::decode_runner_image(**bytes);
  Status s = image.is_ok() ? store_->import_image(std::move(image->store)) : image.status();
  if (!s.is_ok()) {
    renew();  // a failed import leaves the Store unusable
    return Status(s.code(), what + ": " + s.message());
  }
  return Status::ok();
}

void PartitionServer::raised_effects(std::vector<codec::EffectTrigger>* out) {
  // An effect raised by the commit: a bool now true, a counter (or queue) above its value
  // at the revision before. Acknowledgements lower it and raise nothing; so do undo and
  // redo, which walk the history rather than make news.
  Graph& g = store_->graph();
  for (const NodeId n : g.last_changed()) {
    const schema::Store::NodeField nf = store_->field_at(n);
    if (nf.field == nullptr || nf.field->kind != schema::FieldKind::effect || !store_->owns(nf.record)) {
      continue;
    }
    const Value now = g.committed(n);
    bool raised = false;
    if (now.is_bool()) {
      raised = now.as_bool();
    } else if (now.is_int()) {
      Result<Value> before = g.revision() > 0
                                 ? store_->get_at(nf.record, nf.field->name, g.revision() - 1)
                                 : Result<Value>(Value(std::int64_t{0}));
      // A record created by this commit has no value before it: the effect started at 0.
      const std::int64_t was = before.is_ok() && before->is_int() ? before->as_int() : 0;
      raised = now.as_int() > was;
    }
    if (!raised) continue;
    codec::EffectTrigger t;
    t.node = n;
    t.version = store_->version(n);
    t.record = nf.record;
    t.effect = schema_->entities[nf.entity].name + "." + nf.field->name;
    t.value = now;
    t.policy = nf.field->options.retry;
    if (nf.field->effect_kind == schema::EffectKind::queue) {
      // A queue's trigger keeps the values it names and the clock as this commit left them.
      schema::Store::QueueTrigger q = store_->queue_trigger(nf.record, *nf.field);
      t.queue = true;
      t.values = std::move(q.values);
      t.time = std::move(q.time);
    }
    out->push_back(std::move(t));
  }
}

void PartitionServer::request_result(session::RecordId record, const session::Op& op, const std::string& outcome,
                                     std::vector<session::RequestResult>* out) {
  if (!store_->owns(record)) return;
  const Result<NodeId> request = store_->node_of(record, op.name + "@request");
  if (request.is_ok()) out->push_back(session::RequestResult{*request, *op.at, op.value, outcome});
}

void PartitionServer::recorded_changes(std::vector<session::RecordedChange>* out) {
  for (const NodeId n : store_->graph().last_changed()) {
    if (std::optional<session::RecordedChange> c = session::recorded_change(*store_, n)) out->push_back(std::move(*c));
  }
}

void PartitionServer::changed_fields(std::vector<codec::FieldChange>* out) {
  Graph& g = store_->graph();
  // A record whose exists flag changed was created (or its deletion undone: every field
  // is news) or deleted: its flag is reported as the field "exists", the Store's name for it.
  std::vector<std::pair<schema::RecordId, std::uint32_t>> created;
  const std::size_t first = out->size();
  for (const NodeId n : g.last_changed()) {
    const schema::Store::NodeField nf = store_->field_at(n);
    if (nf.record == 0 || !store_->owns(nf.record) || g.is_lazy(n)) continue;
    const std::string& entity = schema_->entities[nf.entity].name;
    if (nf.field == nullptr) {
      const Value now = g.committed(n);
      if (!g.is_variable(n) || !now.is_bool() || store_->describe(n).name != entity + "#" + std::to_string(nf.record) + ".exists") {
        continue;
      }
      out->push_back(codec::FieldChange{nf.record, entity, "exists", now, store_->version(n)});
      if (now.as_bool()) created.emplace_back(nf.record, nf.entity);
      continue;
    }
    if (codec::hidden_field(nf.field->name)) continue;  // the engine's, not watched
    out->push_back(codec::FieldChange{nf.record, entity, nf.field->name, g.committed(n), store_->version(n)});
  }
  if (created.empty()) return;
  // The fields of created records listed above, by record (a commit may create many: a
  // search of the whole list for each field would be quadratic).
  std::unordered_map<schema::RecordId, std::vector<std::string>> listed_of;
  for (const auto& [record, e] : created) listed_of.emplace(record, std::vector<std::string>());
  for (std::size_t i = first; i < out->size(); ++i) {
    const auto it = listed_of.find((*out)[i].record);
    if (it != listed_of.end()) it->second.push_back((*out)[i].field);
  }
  for (const auto& [record, e] : created) {
    const std::vector<std::string>& fields = listed_of[record];
    for (const schema::FieldDef& f : schema_->entities[e].fields) {
      const bool listed = std::find(fields.begin(), fields.end(), f.name) != fields.end();
      if (listed || codec::hidden_field(f.name)) continue;
      const Result<NodeId> n = store_->node_of(record, f.name);
      if (!n.is_ok() || g.is_lazy(*n)) continue;
      out->push_back(codec::FieldChange{record, schema_->entities[e].name, f.name, g.committed(*n), store_->version(*n)});
    }
  }
}

Status PartitionServer::records_of(const std::string& entity, std::vector<codec::FieldChange>* out) {
  const std::uint32_t e = schema_->find_entity(entity);
  if (e == schema::kNone) return Status(StatusCode::not_found, "no entity " + entity);
  Graph& g = store_->graph();
  for (schema::RecordId id = 1;; ++id) {
    const Result<std::uint32_t> of = store_->entity_of(id);
    if (!of.is_ok()) break;  // past the last record
    if (*of != e || !store_->owns(id) || !store_->exists(id)) continue;
    for (const schema::FieldDef& f : schema_->entities[e].fields) {
      if (codec::hidden_field(f.name)) continue;
      const Result<NodeId> n = store_->node_of(id, f.name);
      if (!n.is_ok() || g.is_lazy(*n)) continue;
      out->push_back(codec::FieldChange{id, entity, f.name, g.committed(*n), store_->version(*n)});
    }
  }
  return Status::ok();
}

namespace {

/// Computes what no unresolved mirror holds back, into the reply: its status and the
/// exported fields resolved (as Resolves).
void compute_into(Graph& g, PartitionReply* a) {
  std::vector<Resolution> resolved;
  a->status = g.compute(&resolved);
  for (Resolution& r : resolved) {
    a->resolved.push_back(codec::PartitionMessage{true, r.node, r.changed, std::move(r.value), std::move(r.condition)});
  }
}

/// Whether `op` updates a record named by id, or acknowledges one of its effects: the ops
/// that may commit around an unreachable partition (PartitionedDocuments, "Commits around
/// an unreachable partition"). An acknowledgement changes its effect on the record's owner
/// alone (the others apply nothing: schema::Store::set).
bool writes_a_named_record(const session::Op& op) {
  return (op.kind == OpKind::update || op.kind == OpKind::ack) && op.refs.size() == 1 &&
         op.refs[0].created_by.empty() && op.refs[0].id != 0;
}

/// Whether every op updates an existing record or acknowledges one of its effects, and
/// what the transaction wrote (the fields, and the accumulators summing them) no formula
/// of another record reads (schema::Store::written_stays_with_owners): then only the
/// owners of what it wrote, into `owners`, and of the acknowledged effects' records (which
/// the driver checks), compute from it (PartitionRequest::confine).
bool confined_to_owners(const schema::Store& store, const session::Batch& ops, std::vector<std::uint32_t>* owners) {
  owners->clear();
  for (const session::Op& op : ops) {
    if (!writes_a_named_record(op) || !op.keep.empty()) return false;
  }
  return store.written_stays_with_owners(owners);
}

}  // namespace

PartitionReply PartitionServer::serve(const PartitionRequest& q) {
  PartitionReply a;
  if (q.kind == PartitionRequestKind::reset) renew();
  if (q.kind == PartitionRequestKind::restore) a.status = restore(q.batch);
  Graph& g = store_->graph();
  const std::uint64_t computed_before = g.formulas_computed();
  bool computed_last = false;  // the request ended with a compute (a preview may follow)
  switch (q.kind) {
    case PartitionRequestKind::apply: {
      if (q.batch != batch_) {
        batch_ = q.batch;
        earlier_.clear();
      }
      if (q.first < earlier_.size() || q.first - earlier_.size() > session::kBatchOpsMax ||
          q.ops.size() > session::kBatchOpsMax) {
        a.status = Status(StatusCode::invalid_argument,
                          "apply: ops from index " + std::to_string(q.first) + " after " +
                              std::to_string(earlier_.size()) + " ops of the batch");
        break;
      }
      earlier_.resize(q.first);
      // Grown geometrically: a batch arrives in many requests when links split it (one
      // per link), and an exact reserve for each would copy the earlier results every time.
      if (const std::size_t need = q.first + q.ops.size(); need > earlier_.capacity()) {
        earlier_.reserve(std::max(need, 2 * earlier_.capacity()));
      }
      const bool report =
          q.reporter == codec::kEveryPartitionReports || q.reporter == store_->placement().partition;
      if (report) a.results.reserve(q.ops.size());
      for (const session::Op& op : q.ops) {
        const Result<session::RecordId> resolved =
            op.kind == OpKind::resolve && !op.refs.empty() ? session::StoreExecutor::resolve(op.refs[0], earlier_)
                                                            : Result<session::RecordId>(session::RecordId{0});
        earlier_.push_back(executor_->apply(op, earlier_));
        if (report) a.results.push_back(earlier_.back());
        if (op.kind == OpKind::resolve && earlier_.back().status.is_ok() && op.at && resolved.is_ok()) {
          request_result(*resolved, op, earlier_.back().text, &a.request_results);
        }
        const bool transition = op.kind == OpKind::commit || op.kind == OpKind::undo ||
                                op.kind == OpKind::redo;
        if (transition && earlier_.back().status.is_ok()) {
          a.owned_changed = store_->owned_changed();
          counters_.owned_changed += a.owned_changed;
          if (op.kind == OpKind::commit) raised_effects(&a.effects);
          changed_fields(&a.changes);
          recorded_changes(&a.recorded);
        }
      }
      if (q.confine) a.confined = confined_to_owners(*store_, q.ops, &a.written_owners);
      if (!report) {
        a.results_count = static_cast<std::uint32_t>(q.ops.size());
        a.results_digest = results_digest(earlier_, q.first);
      }
      // The commit is next: its first step, the mark, here (Graph::mark never fails).
      if (q.mark_after) a.marked = g.mark(&a.stale).is_ok();
      // And, with a closure of Marks (PartitionedDocuments, "Predicted Marks"), the Marks
      // of every other partition and the compute.
      for (const codec::PartitionMessage& m : q.messages) {
        a.status = m.resolve ? Status(StatusCode::invalid_argument, "apply: a Resolve before the compute")
                             : g.mark_mirror(m.node, &a.stale);
        if (!a.status.is_ok()) break;
      }
      if (q.compute_after && a.status.is_ok()) {
        compute_into(g, &a);
        computed_last = true;
      }
      break;
    }
    case PartitionRequestKind::check_link:
      a.status = store_->check_link(q.record, q.name, q.other);
      break;
    case PartitionRequestKind::begin:
      g.begin();
      break;
    case PartitionRequestKind::mark:
      a.status = g.mark(&a.stale);
      break;
    case PartitionRequestKind::deliver: {
      // Resolves in a row are taken together, then computed once: a compute walks every
      // field exported and waiting in the round, so one per Resolve would be quadratic.
      bool resolved_since_compute = false;
      auto compute = [&] {
        resolved_since_compute = false;
        compute_into(g, &a);
        computed_last = true;
      };
      for (const codec::PartitionMessage& m : q.messages) {
        if (m.resolve) {
          a.status = g.resolve_mirror(m.node, m.changed, m.value, m.condition);
          resolved_since_compute = a.status.is_ok();
        } else {
          if (resolved_since_compute) compute();
          if (a.status.is_ok()) a.status = g.mark_mirror(m.node, &a.stale);
          computed_last = false;
        }
        if (!a.status.is_ok()) break;
      }
      if (resolved_since_compute) compute();
      break;
    }
    case PartitionRequestKind::compute:
      compute_into(g, &a);
      computed_last = true;
      break;
    case PartitionRequestKind::pending: {
      // The computed fields the waiting ones reach through stale inputs, each with the
      // stale fields it reads: the driver joins every partition's into one graph.
      std::vector<NodeId> todo(g.pending().begin(), g.pending().end());
      std::unordered_set<NodeId> seen(todo.begin(), todo.end());
      while (!todo.empty()) {
        const NodeId n = todo.back();
        todo.pop_back();
        codec::PendingField f{n, g.name(n), {}};
        for (const NodeId d : g.dependencies(n)) {
          if (!g.is_stale(d)) continue;
          f.waits_on.push_back(d);
          if (!g.is_variable(d) && seen.insert(d).second) todo.push_back(d);
        }
        a.pending.push_back(std::move(f));
      }
      break;
    }
    case PartitionRequestKind::reject:
      store_->reject();
      break;
    case PartitionRequestKind::probe:
      if (store_->exists(q.record)) {
        const Result<NodeId> node = store_->node_of(q.record, q.name);
        a.computed = node.is_ok() && !g.is_variable(*node);
      }
      break;
    case PartitionRequestKind::dot: {
      schema::Store::DotParts parts = store_->dot_parts();
      a.dot_nodes = std::move(parts.nodes);
      a.dot_edges = std::move(parts.edges);
      break;
    }
    case PartitionRequestKind::reset:
      break;
    case PartitionRequestKind::add_revision:
      a.status = store_->add_revision();
      break;
    case PartitionRequestKind::checkpoint:
      a.status = checkpoint(q.batch, q.other, &a.checkpoint_bytes);
      break;
    case PartitionRequestKind::restore:
      break;
    case PartitionRequestKind::records:
      a.status = records_of(q.name, &a.changes);
      break;
  }
  if (q.preview && computed_last && a.status.is_ok()) {
    // What the commit would make, once nothing is left to compute (PartitionedDocuments,
    // "Answered when decided").
    if (const std::optional<schema::Store::CommitPreview> p = store_->preview_commit()) {
      a.previewed = true;
      a.preview_revision = p->revision;
      a.preview_owned_changed = p->owned_changed;
    }
  }
  a.in_transaction = g.in_transaction();
  a.revision = g.revision();
  a.waiting = static_cast<std::uint32_t>(g.pending_count());
  ++counters_.requests;
  counters_.resolutions += a.resolved.size();
  counters_.graph_nodes = store_->graph().node_count();
  counters_.fields_failed = store_->graph().failed_count();
  counters_.formula_failures = store_->graph().formula_failures();
  counters_.formulas_computed += g.formulas_computed() - computed_before;
  return a;
}

std::string PartitionServer::serve_bytes(std::string_view bytes) {
  PartitionReply a;
  Result<PartitionRequest> q = codec::decode_partition_request(bytes);
  if (q.is_ok()) {
    a = serve(*q);
  } else {
    a.status = q.status();
    a.in_transaction = store_->graph().in_transaction();
    a.revision = store_->graph().revision();
  }
  Result<std::string> out = codec::encode_partition_reply(a);
  if (out.is_ok()) return std::move(out).value();
  // Too large to encode (a list beyond the format's bound): say so instead.
  PartitionReply failed;
  failed.status = out.status();
  failed.in_transaction = store_->graph().in_transaction();
  failed.revision = store_->graph().revision();
  return codec::encode_partition_reply(failed).value();
}

// ---- LocalPartitions ----

/// One thread per partition; a call hands each worker the indices (in `calls`) of its
/// partition's requests and waits until every worker handed one is done. Everything a
/// worker reads or writes of a call is published under `mutex_`: the job before it starts,
/// its replies before the caller wakes.
class LocalPartitions::Workers {
 public:
  Workers(LocalPartitions& set, std::uint32_t partitions) : set_(set), slots_(partitions) {
    for (std::uint32_t p = 0; p < partitions; ++p) {
      slots_[p].thread = std::thread([this, p] { loop(p); });
    }
  }
  ~Workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    for (Slot& s : slots_) s.wake.notify_one();
    for (Slot& s : slots_) s.thread.join();
  }
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  /// Serves calls[i] into replies[i] for every i in `mine` of partition `p` on its worker.
  /// REQUIRES: no job of `p` outstanding.
  void post(std::uint32_t p, const std::vector<std::size_t>* mine, const std::vector<Call>* calls,
            std::vector<codec::PartitionReply>* replies) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      slots_[p].job = Job{mine, calls, replies};
      ++outstanding_;
    }
    slots_[p].wake.notify_one();
  }
  /// Blocks until every posted job is done.
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return outstanding_ == 0; });
  }

 private:
  struct Job {
    const std::vector<std::size_t>* mine = nullptr;
    const std::vector<Call>* calls = nullptr;
    std::vector<codec::PartitionReply>* replies = nullptr;
  };
  struct Slot {
    std::thread thread;
    std::condition_variable wake;
    std::optional<Job> job;
  };

  void loop(std::uint32_t p) {
    Slot& slot = slots_[p];
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      slot.wake.wait(lock, [&] { return stop_ || slot.job.has_value(); });
      if (!slot.job) return;  // stopping, nothing left to serve
      const Job job = *slot.job;
      lock.unlock();
      for (const std::size_t i : *job.mine) {
        (*job.replies)[i] = set_.serve(p, (*job.calls)[i].second);
      }
      lock.lock();
      slot.job.reset();
      if (--outstanding_ == 0) done_.notify_one();
    }
  }

  LocalPartitions& set_;
  std::mutex mutex_;
  std::condition_variable done_;
  std::size_t outstanding_ = 0;
  bool stop_ = false;
  std::vector<Slot> slots_;
};

LocalPartitions::LocalPartitions(std::shared_ptr<const schema::Schema> schema, Options options)
    : through_bytes_(options.through_bytes) {
  MG_ASSERT(options.partitions >= 1);
  for (std::uint32_t p = 0; p < options.partitions; ++p) {
    schema::StoreOptions so;
    so.history_limit = options.history_limit;
    so.placement = schema::Placement{p, options.partitions, options.salt};
    servers_.push_back(std::make_unique<PartitionServer>(schema, so, options.checkpoints));
  }
  if (options.threaded && options.partitions > 1) {
    workers_ = std::make_unique<Workers>(*this, options.partitions);
    threaded_ = true;
  }
}

LocalPartitions::~LocalPartitions() = default;

PartitionReply LocalPartitions::serve(std::uint32_t to, const PartitionRequest& request) {
  if (!through_bytes_) return servers_[to]->serve(request);
  Result<std::string> bytes = codec::encode_partition_request(request);
  MG_ASSERT_MSG(bytes.is_ok(), bytes.status().message().c_str());
  Result<PartitionReply> reply = codec::decode_partition_reply(servers_[to]->serve_bytes(*bytes));
  MG_ASSERT_MSG(reply.is_ok(), reply.status().message().c_str());
  return std::move(reply).value();
}

std::vector<PartitionReply> LocalPartitions::call(const std::vector<Call>& calls) {
  std::vector<PartitionReply> replies(calls.size());
  for (const auto& [to, request] : calls) MG_ASSERT(to < size());
  const bool spread = threaded_ && std::any_of(calls.begin(), calls.end(), [&](const Call& c) {
                        return c.first != calls.front().first;
                      });
  if (!spread) {
    for (std::size_t i = 0; i < calls.size(); ++i) replies[i] = serve(calls[i].first, calls[i].second);
    return replies;
  }
  // Each partition's requests in their order; the first call's partition on this thread.
  std::vector<std::vector<std::size_t>> mine(size());
  for (std::size_t i = 0; i < calls.size(); ++i) mine[calls[i].first].push_back(i);
  const std::uint32_t here = calls.front().first;
  for (std::uint32_t p = 0; p < size(); ++p) {
    if (p != here && !mine[p].empty()) workers_->post(p, &mine[p], &calls, &replies);
  }
  try {
    for (const std::size_t i : mine[here]) replies[i] = serve(here, calls[i].second);
  } catch (...) {
    workers_->wait();  // they use `mine`, `calls` and `replies` until they are done
    throw;
  }
  workers_->wait();
  return replies;
}

// ---- PartitionedDocuments ----

PartitionedDocuments::PartitionedDocuments(std::shared_ptr<const schema::Schema> schema,
                                           Options options)
    : PartitionedDocuments(
          std::make_unique<LocalPartitions>(
              std::move(schema),
              LocalPartitions::Options{options.partitions, options.salt, options.history_limit,
                                       options.through_bytes, options.checkpoints,
                                       options.threaded}),
          options) {}

PartitionedDocuments::PartitionedDocuments(std::unique_ptr<PartitionSet> set, Options options)
    : options_(std::move(options)),
      set_(std::move(set)),
      open_(set_->size(), false),
      revisions_(set_->size(), 0),
      waiting_(set_->size(), 0),
      previews_(set_->size()) {
  MG_ASSERT(set_->size() >= 1);
  options_.partitions = set_->size();
}

class PartitionedDocuments::PhaseTimer {
 public:
  PhaseTimer(PartitionedDocuments& d, EpochPhase phase) : d_(d), phase_(phase) {
    if (d_.options_.now) start_ = d_.options_.now();
  }
  ~PhaseTimer() {
    if (!d_.options_.now) return;
    const auto p = static_cast<std::size_t>(phase_);
    d_.phases_.seconds[p] += std::chrono::duration<double>(d_.options_.now() - start_).count();
    d_.phases_.ran[p] = true;
  }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  PartitionedDocuments& d_;
  EpochPhase phase_;
  std::chrono::steady_clock::time_point start_{};
};

PhaseTimes PartitionedDocuments::take_phases() {
  PhaseTimes out = phases_;
  phases_ = PhaseTimes{};
  return out;
}

namespace {

/// Ops every partition applies alike, with no coordination between them.
bool applied_everywhere(OpKind kind) {
  switch (kind) {
    case OpKind::commit:
    case OpKind::undo:
    case OpKind::redo:
    case OpKind::get:
    case OpKind::explain:
    case OpKind::dot:
    case OpKind::link:
      return false;
    default:
      return true;
  }
}

/// Closures of Marks kept (PartitionedDocuments::closures_): a workload of ever new write
/// patterns forgets them all when this is reached; each is a few fields.
constexpr std::size_t kMarkClosuresMax = 1024;
/// A batch whose signature (below) is longer gets no closure: many writes (a merged epoch
/// of many clients) seldom come again alike.
constexpr std::size_t kMarkClosureKeyMax = 1024;
/// A closure of at most this many fields is kept: one that large costs its waves anyway.
constexpr std::size_t kMarkClosureMax = 4096;

/// What a batch of writes writes, without the values: each op's kind, records and field
/// names. The key of its closure of Marks; empty when longer than kMarkClosureKeyMax.
std::string write_signature(const session::Batch& batch) {
  std::string key;
  auto put = [&](std::string_view text) {
    key.append(text);
    key.push_back('\0');
  };
  for (const session::Op& op : batch) {
    key.push_back(static_cast<char>(op.kind));
    for (const session::RecordRef& r : op.refs) put(std::to_string(r.id));
    put(op.name);
    for (const auto& [field, value] : op.values) put(field);
    if (key.size() > kMarkClosureKeyMax) return std::string();
  }
  return key;
}

/// Whether a batch may send a closure of Marks with its commit's compute: writes of values
/// (which change no structure, so the batch can run again alike after a rejection) and
/// one commit, last.
bool predictable(const session::Batch& batch) {
  if (batch.size() < 2 || batch.back().kind != OpKind::commit) return false;
  return std::all_of(batch.begin(), batch.end() - 1, [](const session::Op& op) {
    switch (op.kind) {
      case OpKind::update:
      case OpKind::set:
      case OpKind::ack:
      case OpKind::clock:
      case OpKind::resolve:
        return true;
      default:
        return false;
    }
  });
}

/// Whether a batch is ops that write a named record (writes_a_named_record) and one
/// commit, last: the only batches that may commit around an unreachable partition; the
/// partitions check what it writes.
bool writes_and_commit(const session::Batch& batch) {
  if (batch.size() < 2 || batch.back().kind != OpKind::commit) return false;
  return std::all_of(batch.begin(), batch.end() - 1, writes_a_named_record);
}

/// Whether ops that change the structure (create, delete, link, unlink, a link's
/// properties) follow the last commit of `batch` that succeeded (or are in it while none
/// did): what they left computes at the next commit (PartitionedDocuments, "Commits around
/// an unreachable partition"). An undo or a redo is a whole transition of its own: it
/// walks to a revision and leaves nothing to compute.
bool unsettled_structure(const session::Batch& batch, const session::BatchResult& results) {
  std::size_t from = 0;
  for (std::size_t k = 0; k < batch.size() && k < results.size(); ++k) {
    if (batch[k].kind == OpKind::commit && results[k].status.is_ok()) from = k + 1;
  }
  for (std::size_t k = from; k < batch.size(); ++k) {
    switch (batch[k].kind) {
      case OpKind::create:
      case OpKind::remove:
      case OpKind::link:
      case OpKind::unlink:
      case OpKind::update_link:
        return true;
      default:
        break;
    }
  }
  return false;
}

/// Whether a commit of `batch` succeeded (an undo or a redo does not count: neither computes
/// what a rolled-back structural change left).
bool committed_a_commit(const session::Batch& batch, const session::BatchResult& results) {
  for (std::size_t k = 0; k < batch.size() && k < results.size(); ++k) {
    if (batch[k].kind == OpKind::commit && results[k].status.is_ok()) return true;
  }
  return false;
}

/// Ops that end a transaction (or act outside one).
bool is_transition(OpKind kind) {
  return kind == OpKind::commit || kind == OpKind::reject || kind == OpKind::undo || kind == OpKind::redo;
}

OpResult failed(Status s) {
  OpResult out;
  out.status = std::move(s);
  return out;
}

}  // namespace

session::BatchResult PartitionedDocuments::run(const session::Batch& batch, bool* committed,
                                               const Decided& decided, const Logged& logged) {
  logged_ = logged ? &logged : nullptr;
  logged_status_.reset();
  if (partitions() > 1) leave_out_unreachable(batch);
  // A creation, deletion or link that the partitions that are up applied and rolled back
  // would still compute at their next commit, which the log (cancelling this epoch) does
  // not hold: refused before anything is sent while a partition is known unreachable.
  if (!unreachable_.empty() && left_out_.empty() && unsettled_structure(batch, {})) {
    const Status refused(StatusCode::io_error, unreachable_ + "; a creation, deletion or link needs every partition");
    session::BatchResult results(batch.size(), failed(refused));
    if (committed != nullptr) *committed = false;
    logged_ = nullptr;
    reporter_ = 0;
    needs_left_out_ = false;
    return results;
  }
  // Around an unreachable partition, a batch runs as plainly as it can: no closure, no
  // answer before the commit (both need every partition).
  const bool whole = left_out_.empty();
  key_ = whole && options_.predict_marks && partitions() > 1 && predictable(batch) ? write_signature(batch)
                                                                                   : std::string();
  predicting_ = !key_.empty();
  rerun_ = false;
  // With one partition the commit goes in the batch's one request: nothing to save.
  decided_ = whole && decided && options_.answer_when_decided && partitions() > 1 && !batch.empty() &&
                     batch.back().kind == OpKind::commit
                 ? &decided
                 : nullptr;
  told_.reset();
  cut_after_decided_ = false;
  const std::vector<std::uint64_t> revisions = revisions_;
  session::BatchResult results = run_once(batch, committed);
  if (rerun_) {
    // Its closure fell short, or its commit failed, and every partition rejected the
    // transaction: it changed nothing (writes and a commit), so it runs again, with the
    // waves of Marks.
    ++traffic_.reruns;
    phases_.rerun = true;
    predicting_ = false;
    rerun_ = false;
    results = run_once(batch, committed);
  }
  // Cut short by an unreachable partition after a partition made a revision of it, or
  // after the others applied a creation, deletion or link that the next commit computes
  // even rolled back: the partitions hold what the log, which skips the epoch, does not.
  const bool cut = session::cut_short(results).has_value();
  if (cut && (revisions_ != revisions || unsettled_structure(batch, results))) unlike_log_ = true;
  // A batch that reached every partition (one cut short is cancelled in the log): what it
  // left for the next commit, or the commit that settled it.
  if (left_out_.empty() && !cut) {
    if (unsettled_structure(batch, results)) {
      unsettled_ = true;
    } else if (committed_a_commit(batch, results)) {
      unsettled_ = false;  // an undo or a redo computes no leftover: only a commit does
    }
  }
  predicting_ = false;
  key_.clear();
  decided_ = nullptr;
  logged_ = nullptr;
  logged_status_.reset();
  previewing_ = false;
  left_out_.clear();
  reporter_ = 0;
  needs_left_out_ = false;
  return results;
}

void PartitionedDocuments::leave_out_unreachable(const session::Batch& batch) {
  left_out_.clear();
  reporter_ = 0;
  needs_left_out_ = false;
  unreachable_.clear();
  std::vector<bool> out(partitions(), false);
  for (std::uint32_t p = 0; p < partitions(); ++p) {
    std::string why = set_->unreachable(p);
    if (why.empty()) continue;
    out[p] = true;
    // Whatever it had open is gone with it (and is restored from the log when it is back):
    // a read of another partition's record does not wait for it.
    open_[p] = false;
    waiting_[p] = 0;
    if (unreachable_.empty()) unreachable_ = std::move(why);
  }
  // None unreachable, or a batch that needs every partition: it runs as usual (and fails
  // on the unreachable one, naming it).
  if (unreachable_.empty() || !options_.commit_around_unreachable || unlike_log_ || unsettled_ ||
      !writes_and_commit(batch)) {
    return;
  }
  for (std::size_t k = 0; k + 1 < batch.size(); ++k) {
    if (out[owner_of(batch[k].refs[0].id)]) return;
  }
  const auto first = std::find(out.begin(), out.end(), false);
  if (first == out.end()) return;
  reporter_ = static_cast<std::uint32_t>(first - out.begin());
  left_out_ = std::move(out);
}

Status PartitionedDocuments::needed_left_out(std::string_view what) const {
  return Status(StatusCode::io_error, unreachable_ + "; " + std::string(what) +
                                          ", so it needs every partition (while one is unreachable, only "
                                          "updates and acknowledgements can commit whose writes, sums "
                                          "included, stay in records the others own and no other record "
                                          "reads)");
}

Status PartitionedDocuments::await_logged() {
  if (logged_ == nullptr) return Status::ok();
  // Once: a failure stays, so no later commit of the batch goes out either.
  if (!logged_status_) logged_status_ = (*logged_)();
  return *logged_status_;
}

session::BatchResult PartitionedDocuments::run_once(const session::Batch& batch, bool* committed) {
  session::BatchResult results;
  results.reserve(batch.size());
  const std::uint64_t revision_before = revisions_[reporter_];
  ++batch_;
  previewing_ = decided_ != nullptr;
  effects_.clear();
  changes_.clear();
  recorded_.clear();
  request_results_.clear();
  if (partitions() == 1) {
    // One partition needs no coordination: the whole batch in one request, its commit
    // with it, so after the log write.
    if (Status s = await_logged(); !s.is_ok()) {
      for (std::size_t i = 0; i < batch.size(); ++i) {
        results.push_back(failed(Status(StatusCode::failed_precondition, s.message() + "; the transaction was rolled back")));
      }
      return results;
    }
    PhaseTimer timer(*this, EpochPhase::apply);
    everywhere(batch, 0, batch.size(), &results);
  } else {
    for (std::size_t i = 0; i < batch.size();) {
      const session::Op& op = batch[i];
      if (applied_everywhere(op.kind)) {
        std::size_t j = i + 1;
        while (j < batch.size() && applied_everywhere(batch[j].kind)) ++j;
        PhaseTimer timer(*this, EpochPhase::apply);
        everywhere(batch, i, j, &results, j < batch.size() && batch[j].kind == OpKind::commit);
        i = j;
        continue;
      }
      if (rerun_) break;  // the batch runs again (run()); what it gives now is dropped
      switch (op.kind) {
        case OpKind::get:
        case OpKind::explain:
          results.push_back(read(op, results));
          break;
        case OpKind::dot:
          results.push_back(dot());
          break;
        case OpKind::link: {
          PhaseTimer timer(*this, EpochPhase::apply);
          results.push_back(link(batch, results));
          break;
        }
        default:
          results.push_back(transition(batch, results));
          break;
      }
      ++i;
    }
  }
  if (in_transaction()) reject_all();
  if (committed != nullptr) {
    // Told as committed, also when partition 0 was lost before it committed.
    *committed = revisions_[reporter_] != revision_before || (told_ && told_->revision != revision_before);
  }
  return results;
}

Result<std::vector<codec::FieldChange>> PartitionedDocuments::records_of(const std::string& entity) {
  PartitionRequest q;
  q.kind = PartitionRequestKind::records;
  q.name = entity;
  std::vector<PartitionReply> replies;
  if (Status s = send_all(q, &replies); !s.is_ok()) return s;
  std::vector<codec::FieldChange> out;
  for (const PartitionReply& a : replies) out.insert(out.end(), a.changes.begin(), a.changes.end());
  // By record; the owner lists a record's fields in the schema's order.
  std::stable_sort(out.begin(), out.end(),
                   [](const codec::FieldChange& x, const codec::FieldChange& y) { return x.record < y.record; });
  return out;
}

Status PartitionedDocuments::reset() {
  queue_.clear();
  marked_ = false;
  PartitionRequest q;
  q.kind = PartitionRequestKind::reset;
  std::vector<PartitionReply> replies;
  const Status s = send_all(q, &replies);
  if (s.is_ok()) unlike_log_ = unsettled_ = false;  // every partition as the log's start
  return s;
}

Status PartitionedDocuments::checkpoint(std::uint64_t epoch, std::uint64_t keep_from,
                                        std::uint64_t* bytes) {
  *bytes = 0;
  // A checkpoint is of every partition or of none: one that cannot be reached fails it
  // before the others make their images for nothing.
  for (std::uint32_t p = 0; p < partitions(); ++p) {
    if (std::string why = set_->unreachable(p); !why.empty()) {
      return Status(StatusCode::io_error, why + "; no checkpoint is taken until it is back");
    }
  }
  PartitionRequest q;
  q.kind = PartitionRequestKind::checkpoint;
  q.batch = epoch;
  q.other = keep_from;
  std::vector<PartitionReply> replies;
  const Status s = send_all(q, &replies);
  *bytes = 0;
  for (const PartitionReply& a : replies) *bytes += a.checkpoint_bytes;
  return s;
}

Status PartitionedDocuments::restore(std::uint64_t epoch) {
  queue_.clear();
  marked_ = false;
  PartitionRequest q;
  q.kind = PartitionRequestKind::restore;
  q.batch = epoch;
  std::vector<PartitionReply> replies;
  const Status s = send_all(q, &replies);
  if (s.is_ok()) unlike_log_ = unsettled_ = false;  // every partition as the log after `epoch`
  return s;
}

Status PartitionedDocuments::note_replies(const std::vector<PartitionReply>& replies,
                                          const std::function<std::uint32_t(std::size_t)>& partition_of) {
  Status first;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const PartitionReply& a = replies[i];
    if (!a.status.is_ok() && first.is_ok()) first = a.status;
    const std::uint32_t p = partition_of(i);
    // A preview holds until the partition's next reply (which has its own, or none).
    previews_[p] = a.previewed ? std::optional(Preview{a.preview_revision, a.preview_owned_changed}) : std::nullopt;
    // Unreachable (io_error): the reply did not come from the partition and says nothing
    // of its state; what the driver last learned of it stands.
    if (a.status.code() == StatusCode::io_error) continue;
    open_[p] = a.in_transaction;
    revisions_[p] = a.revision;
    waiting_[p] = a.waiting;
  }
  return first;
}

Status PartitionedDocuments::send(const std::vector<PartitionSet::Call>& calls,
                                  std::vector<PartitionReply>* replies) {
  *replies = set_->call(calls);
  MG_ASSERT(replies->size() == calls.size());
  return note_replies(*replies, [&](std::size_t i) { return calls[i].first; });
}

Status PartitionedDocuments::send_all(const PartitionRequest& request,
                                      std::vector<PartitionReply>* replies) {
  if (!left_out_.empty()) {
    // Around an unreachable partition: the others only; a partition left out gets an
    // empty reply here, which nothing notes.
    std::vector<PartitionSet::Call> calls;
    for (std::uint32_t p = 0; p < partitions(); ++p) {
      if (!left_out(p)) calls.emplace_back(p, request);
    }
    std::vector<PartitionReply> got;
    const Status s = send(calls, &got);
    replies->assign(partitions(), PartitionReply());
    for (std::size_t i = 0; i < calls.size(); ++i) (*replies)[calls[i].first] = std::move(got[i]);
    return s;
  }
  *replies = set_->call_all(request);
  MG_ASSERT(replies->size() == partitions());
  return note_replies(*replies, [](std::size_t i) { return static_cast<std::uint32_t>(i); });
}

void PartitionedDocuments::everywhere(const session::Batch& batch, std::size_t first,
                                      std::size_t last, session::BatchResult* results,
                                      bool mark_after) {
  PartitionRequest q;
  q.kind = PartitionRequestKind::apply;
  q.batch = batch_;
  q.first = static_cast<std::uint32_t>(first);
  q.ops.assign(batch.begin() + static_cast<std::ptrdiff_t>(first),
               batch.begin() + static_cast<std::ptrdiff_t>(last));
  q.mark_after = mark_after;
  q.reporter = reporter_;  // the others send a digest of their results, checked below
  q.preview = previewing_;
  q.confine = !left_out_.empty() && !is_transition(batch[first].kind);
  // A batch of writes whose closure of Marks is known sends it, and the compute, with its
  // apply (Predicted Marks in partitioned.hpp).
  MarkClosure* closure = nullptr;
  if (predicting_ && mark_after && first == 0 && last + 1 == batch.size()) {
    if (const auto it = closures_.find(key_); it != closures_.end()) closure = &it->second;
  }
  std::vector<PartitionReply> replies;
  Status s;
  if (closure == nullptr && deferred_.empty()) {
    s = send_all(q, &replies);
  } else if (closure == nullptr) {
    // The Resolves a commit's stabilize() kept (drain()) go first, in the same call: each
    // partition takes them, then the ops. Nothing there waits for them, so they resolve
    // their mirrors and compute nothing.
    std::vector<PartitionSet::Call> calls;
    add_deliveries(std::exchange(deferred_, {}), &calls);
    const std::size_t deliveries = calls.size();
    for (std::uint32_t p = 0; p < partitions(); ++p) {
      if (!left_out(p)) calls.emplace_back(p, q);
    }
    std::vector<PartitionReply> all;
    s = send(calls, &all);
    for (std::size_t i = 0; i < deliveries && s.is_ok(); ++i) {
      if (!all[i].resolved.empty() || !all[i].stale.empty()) {
        s = Status(StatusCode::internal, "partition " + std::to_string(calls[i].first) +
                                             " computed from Resolves kept for the commit");
      }
    }
    replies.assign(partitions(), PartitionReply());
    for (std::size_t i = deliveries; i < calls.size(); ++i) replies[calls[i].first] = std::move(all[i]);
  } else {
    MG_ASSERT(deferred_.empty());
    q.compute_after = true;
    std::vector<PartitionSet::Call> calls;
    for (std::uint32_t p = 0; p < partitions(); ++p) calls.emplace_back(p, q);
    for (const auto& [n, owner] : *closure) {
      for (std::uint32_t p = 0; p < partitions(); ++p) {
        if (p != owner) calls[p].second.messages.push_back(codec::PartitionMessage{false, n, false, Value(), {}});
      }
      traffic_.marks += partitions() - 1;
    }
    ++traffic_.predicted;
    phases_.predicted = true;
    s = send(calls, &replies);
  }
  owned_changed_ = 0;
  for (const PartitionReply& a : replies) owned_changed_ += a.owned_changed;
  // Marked everywhere: the Marks wait in the queue for the commit's stabilize(). Otherwise
  // (a partition unreachable) the commit asks for the mark as usual, or rolls back.
  queue_.clear();
  marked_ = mark_after && s.is_ok();
  for (std::uint32_t p = 0; p < partitions(); ++p) {
    if (!left_out(p) && !replies[p].marked) marked_ = false;
  }
  if (closure != nullptr) {
    // Computed with the closure's Marks: the commit's stabilize() drains what it resolved.
    // A failure other than an unreachable partition (a formula failing the transaction)
    // is told as the waves tell it: the batch runs again with them.
    const bool taken = marked_ && take_predicted(replies, *closure);
    marked_ = false;
    computed_ = taken;
    if (!taken && (s.is_ok() || s.code() != StatusCode::io_error)) {
      rerun_ = true;
      reject_all();
    }
  } else if (marked_) {
    if (!key_.empty()) {
      learning_.clear();
      mark_log_ = &learning_;
    }
    for (std::uint32_t p = 0; p < partitions(); ++p) queue(p, replies[p]);
    mark_log_ = nullptr;
  }
  if (s.is_ok()) {
    for (const PartitionReply& a : replies) {
      effects_.insert(effects_.end(), a.effects.begin(), a.effects.end());
      changes_.insert(changes_.end(), a.changes.begin(), a.changes.end());
      recorded_.insert(recorded_.end(), a.recorded.begin(), a.recorded.end());
      request_results_.insert(request_results_.end(), a.request_results.begin(), a.request_results.end());
    }
  }
  // Inputs are applied alike everywhere: every other partition's digest of its results
  // must be the reporter's (partition 0's unless it is left out). A difference is a
  // defect, never an answer.
  // What fails every op: a partition that did not apply them (unreachable, or a refused
  // request), or one whose results differ from the reporter's.
  const std::uint32_t r = reporter_;
  Status all = s;
  if (all.is_ok() && replies[r].results.size() != q.ops.size()) {
    all = Status(StatusCode::internal, "a partition applied " + std::to_string(replies[r].results.size()) + " of " +
                                           std::to_string(q.ops.size()) + " operations");
  }
  if (all.is_ok()) {
    const std::uint64_t digest = results_digest(replies[r].results, 0);
    for (std::uint32_t p = 0; p < partitions() && all.is_ok(); ++p) {
      if (p == r || left_out(p)) continue;
      if (replies[p].results_count == q.ops.size() && replies[p].results_digest == digest) continue;
      all = Status(StatusCode::internal, "partitions disagree on the results of operations " + std::to_string(first) +
                                             "-" + std::to_string(last - 1) + " (the first: " +
                                             session::op_kind_name(batch[first].kind) + "): partition " +
                                             std::to_string(p) + " applied " +
                                             std::to_string(replies[p].results_count) +
                                             " with results unlike partition " + std::to_string(r) + "'s");
    }
  }
  // Around an unreachable partition, what the ops write must reach no other record, and
  // belong to records the partitions in the run own (a sum on one the missing one owns).
  for (std::uint32_t p = 0; p < partitions() && all.is_ok() && q.confine; ++p) {
    if (left_out(p)) continue;
    if (!replies[p].confined) {
      all = needed_left_out("the transaction writes fields other records read");
      continue;
    }
    for (const std::uint32_t owner : replies[p].written_owners) {
      if (owner >= partitions() || left_out(owner)) {
        all = needed_left_out("the transaction writes what records of partition " + std::to_string(owner) + " hold");
        break;
      }
    }
  }
  for (std::size_t i = first; i < last; ++i) {
    results->push_back(all.is_ok() ? std::move(replies[r].results[i - first]) : failed(all));
  }
}

OpResult PartitionedDocuments::apply_on(std::uint32_t partition, const session::Op& op,
                                        std::size_t index) {
  PartitionRequest q;
  q.kind = PartitionRequestKind::apply;
  q.batch = batch_;
  q.first = static_cast<std::uint32_t>(index);
  q.ops.push_back(op);
  std::vector<PartitionReply> replies;
  if (Status s = send({{partition, std::move(q)}}, &replies); !s.is_ok()) return failed(s);
  if (replies[0].results.size() != 1) return failed(Status(StatusCode::internal, "no result from a partition"));
  return replies[0].results[0];
}

OpResult PartitionedDocuments::read(const session::Op& op, const session::BatchResult& earlier) {
  // A malformed op gets the executor's answer, alike everywhere.
  if (op.refs.size() != session::refs_of(op.kind)) return apply_on(0, op, earlier.size());
  Result<session::RecordId> id = session::StoreExecutor::resolve(op.refs[0], earlier);
  if (!id.is_ok()) return failed(id.status());
  const std::uint32_t owner = owner_of(*id);
  // A read that names nothing fails before it computes anything, as in one Store, and an
  // input's value needs no computation; nor does anything outside a transaction, nor a
  // read at a revision (refused inside one).
  if (in_transaction() && !op.at) {
    PartitionRequest q;
    q.kind = PartitionRequestKind::probe;
    q.record = *id;
    q.name = op.name;
    std::vector<PartitionReply> replies;
    if (Status s = send({{owner, std::move(q)}}, &replies); !s.is_ok()) return failed(s);
    if (replies[0].computed) {
      if (Status s = settle_for_read(); !s.is_ok()) return failed(s);
    }
  }
  return apply_on(owner, op, earlier.size());
}

OpResult PartitionedDocuments::dot() {
  if (Status s = settle_for_read(); !s.is_ok()) return failed(s);
  PartitionRequest q;
  q.kind = PartitionRequestKind::dot;
  std::vector<PartitionReply> replies;
  if (Status s = send_all(q, &replies); !s.is_ok()) return failed(s);
  std::vector<schema::Store::DotParts> parts;
  for (PartitionReply& a : replies) parts.push_back({std::move(a.dot_nodes), std::move(a.dot_edges)});
  OpResult out;
  out.text = schema::Store::merge_dot(parts);
  return out;
}

OpResult PartitionedDocuments::link(const session::Batch& batch,
                                    const session::BatchResult& earlier) {
  const std::size_t index = earlier.size();
  const session::Op& op = batch[index];
  session::BatchResult out;
  // Only the owners hold the accumulators a link adds inputs to, so only they can tell
  // that it closes a cycle: they check first, and a refused link goes nowhere.
  if (op.refs.size() == 2) {
    Result<session::RecordId> a = session::StoreExecutor::resolve(op.refs[0], earlier);
    Result<session::RecordId> b = session::StoreExecutor::resolve(op.refs[1], earlier);
    if (a.is_ok() && b.is_ok()) {
      std::vector<std::uint32_t> owners{owner_of(*a), owner_of(*b)};
      if (owners[0] == owners[1]) owners.pop_back();
      for (const std::uint32_t owner : owners) {
        PartitionRequest q;
        q.kind = PartitionRequestKind::check_link;
        q.record = *a;
        q.name = op.name;
        q.other = *b;
        std::vector<PartitionReply> replies;
        const Status s = send({{owner, std::move(q)}}, &replies);
        if (s.is_ok()) continue;
        // A refused link may have opened the transaction (inputs added before the one
        // that closed the cycle): then it is open everywhere.
        if (open_[owner]) {
          PartitionRequest begin;
          begin.kind = PartitionRequestKind::begin;
          std::vector<PartitionReply> ignored;
          if (Status b2 = send_all(begin, &ignored); !b2.is_ok()) return failed(b2);
        }
        return failed(s);
      }
    }
  }
  session::BatchResult one;
  everywhere(batch, index, index + 1, &one);
  return one.front();
}

OpResult PartitionedDocuments::transition(const session::Batch& batch,
                                          const session::BatchResult& earlier) {
  const std::size_t index = earlier.size();
  // An undo or a redo walks every partition's history: with one known to be unreachable,
  // the others would walk theirs alone and hold what the log (which cancels the epoch)
  // does not, so it is refused before anything is sent.
  const OpKind kind = batch[index].kind;
  if ((kind == OpKind::undo || kind == OpKind::redo) && !unreachable_.empty()) {
    return failed(Status(StatusCode::io_error,
                         unreachable_ + (kind == OpKind::undo ? "; an undo" : "; a redo") + " needs every partition"));
  }
  // An op of this transaction that could not reach a partition (io_error) may have been
  // applied by the others and not by it, and one the partitions applied unlike each other
  // (internal: a defect) left them different: the transaction cannot commit, everywhere.
  if (batch[index].kind == OpKind::commit) {
    for (std::size_t k = index; k-- > 0 && !is_transition(batch[k].kind);) {
      const StatusCode code = earlier[k].status.code();
      if (code != StatusCode::io_error && code != StatusCode::internal) continue;
      reject_all();
      return failed(Status(code, earlier[k].status.message() + "; the transaction was rolled back"));
    }
  }
  // A commit computes what is new even with no transaction open: fields of a record whose
  // creation was rejected still compute at the next commit, as in one Store.
  if (batch[index].kind == OpKind::commit) {
    if (Status s = stabilize(/*for_commit=*/true); !s.is_ok()) {
      return failed(Status(s.code(), s.message() + "; the transaction was rolled back"));
    }
    previewing_ = false;
  }
  // Nothing lasts before the epoch is in the log: a commit is neither told nor sent, an
  // undo or a redo not sent, until its log write is done (it ran beside the apply and the
  // compute).
  if (batch[index].kind != OpKind::reject) {
    if (Status s = await_logged(); !s.is_ok()) {
      reject_all();
      return failed(Status(StatusCode::failed_precondition, s.message() + "; the transaction was rolled back"));
    }
  }
  if (batch[index].kind == OpKind::commit) {
    // Computed through everywhere: the commit is decided, and the caller hears it now.
    if (decided_ != nullptr && index + 1 == batch.size() &&
        std::all_of(previews_.begin(), previews_.end(), [](const std::optional<Preview>& p) { return p.has_value(); })) {
      OpResult told;
      for (const std::optional<Preview>& p : previews_) {
        told.revision = std::max(told.revision, p->revision);
        told.changed += p->owned_changed;
      }
      told_ = told;
      ++traffic_.decided;
      phases_.decided = true;
      session::BatchResult all = earlier;
      all.push_back(told);
      (*decided_)(all);
    }
  }
  PhaseTimer timer(*this, EpochPhase::commit);
  session::BatchResult one;
  everywhere(batch, index, index + 1, &one);
  OpResult out = std::move(one.front());
  // Told already: what the commit makes must be that. A partition lost meanwhile leaves
  // the answer as told (the log makes it when the cluster runs it again).
  auto as_told = [this](OpResult made) {
    if (!told_) return made;
    if (made.status.code() == StatusCode::io_error) {
      cut_after_decided_ = true;
      ++traffic_.decided_cut;
    } else if (!(made == *told_)) {
      ++traffic_.decided_unlike;
    }
    return *told_;
  };
  if (!out.status.is_ok()) return as_told(std::move(out));
  out.changed = owned_changed_;
  if (batch[index].kind == OpKind::commit) {
    // A partition makes a revision when a value it holds changed; one whose fields did not
    // change (those of its records that others read were not touched) makes an empty one,
    // so that every partition has the same revisions.
    std::uint64_t newest = 0;
    for (std::uint32_t p = 0; p < partitions(); ++p) {
      if (!left_out(p)) newest = std::max(newest, revisions_[p]);
    }
    std::vector<PartitionSet::Call> calls;
    for (std::uint32_t p = 0; p < partitions(); ++p) {
      if (revisions_[p] == newest || left_out(p)) continue;
      PartitionRequest q;
      q.kind = PartitionRequestKind::add_revision;
      calls.emplace_back(p, std::move(q));
    }
    std::vector<PartitionReply> replies;
    // A partition lost here committed or not: the epoch is cancelled either way (the
    // driver cancels an epoch its clients are told did not commit) and runs nowhere once
    // the cluster runs its log again.
    if (!calls.empty()) {
      if (Status s = send(calls, &replies); !s.is_ok()) {
        return as_told(failed(Status(s.code(), s.message() + "; the transaction was rolled back")));
      }
    }
    out.revision = newest;
    if (!left_out_.empty()) {
      ++traffic_.around_unreachable;
      phases_.around = true;
    }
  }
  return as_told(std::move(out));
}

std::uint32_t PartitionedDocuments::owner_of(session::RecordId id) const {
  return schema::Placement::partition_of(id, partitions(), options_.salt);
}

Status PartitionedDocuments::settle_for_read() {
  return in_transaction() ? stabilize() : Status::ok();
}

bool PartitionedDocuments::in_transaction() const {
  for (std::uint32_t p = 0; p < partitions(); ++p) {
    if (open_[p] && !left_out(p)) return true;
  }
  return false;
}

void PartitionedDocuments::reject_all() {
  queue_.clear();
  deferred_.clear();
  marked_ = false;
  PartitionRequest q;
  q.kind = PartitionRequestKind::reject;
  std::vector<PartitionReply> ignored;
  (void)send_all(q, &ignored);
}

void PartitionedDocuments::queue_to_others(std::uint32_t from, const codec::PartitionMessage& m) {
  for (std::uint32_t q = 0; q < partitions(); ++q) {
    if (q == from) continue;
    if (left_out(q)) {
      needs_left_out_ = true;  // drain() fails the run
      continue;
    }
    queue_.push_back(Queued{q, m});
    ++(m.resolve ? traffic_.resolutions : traffic_.marks);
  }
}

void PartitionedDocuments::queue(std::uint32_t from, const PartitionReply& reply) {
  for (const NodeId n : reply.stale) {
    queue_to_others(from, codec::PartitionMessage{false, n, false, Value(), {}});
    if (mark_log_ != nullptr) mark_log_->emplace_back(n, from);
  }
  for (const codec::PartitionMessage& r : reply.resolved) queue_to_others(from, r);
}

void PartitionedDocuments::add_deliveries(std::vector<Queued> messages, std::vector<PartitionSet::Call>* calls) const {
  std::vector<std::size_t> slot(partitions(), SIZE_MAX);
  for (Queued& m : messages) {
    if (slot[m.to] == SIZE_MAX) {
      slot[m.to] = calls->size();
      PartitionRequest q;
      q.kind = PartitionRequestKind::deliver;
      q.preview = previewing_;
      calls->emplace_back(m.to, std::move(q));
    }
    (*calls)[slot[m.to]].second.messages.push_back(std::move(m.message));
  }
}

Status PartitionedDocuments::drain(bool defer_idle) {
  // Only a field that waits reads a mirror while the transaction computes (every Mark came
  // first), and a partition's last reply says how many wait there.
  auto deferrable = [&](const Queued& m) { return defer_idle && m.message.resolve && waiting_[m.to] == 0; };
  std::vector<PartitionReply> replies;
  while (true) {
    if (needs_left_out_) return needed_left_out("the transaction changes fields other records read");
    if (queue_.empty()) break;
    std::vector<PartitionSet::Call> calls;
    if (options_.choose) {
      const std::size_t i = options_.choose(queue_.size());
      MG_ASSERT(i < queue_.size());
      if (deferrable(queue_[i])) {
        deferred_.push_back(std::move(queue_[i]));
        ++traffic_.deferred;
        queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      PartitionRequest q;
      q.kind = PartitionRequestKind::deliver;
      q.preview = previewing_;
      q.messages.push_back(std::move(queue_[i].message));
      calls.emplace_back(queue_[i].to, std::move(q));
      queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      // Everything queued at once, one request per partition, in the order it was sent.
      std::vector<Queued> now;
      for (Queued& m : std::exchange(queue_, {})) {
        if (deferrable(m)) {
          deferred_.push_back(std::move(m));
          ++traffic_.deferred;
        } else {
          now.push_back(std::move(m));
        }
      }
      add_deliveries(std::move(now), &calls);
      if (calls.empty()) break;
    }
    if (Status s = send(calls, &replies); !s.is_ok()) return s;
    for (std::size_t i = 0; i < calls.size(); ++i) queue(calls[i].first, replies[i]);
  }
  return Status::ok();
}

Status PartitionedDocuments::stabilize(bool for_commit) {
  // Marked with the apply just before (everywhere(), mark_after): its Marks are queued.
  const bool marked = std::exchange(marked_, false);
  // Or computed with it, a closure's Marks sent along (Predicted Marks): its Resolves are.
  const bool computed = std::exchange(computed_, false);
  if (!marked && !computed) queue_.clear();
  auto fail = [this, computed](Status s) {
    // After predicted Marks, a failure is told as the waves tell it (which formula fails
    // first, or which cycle is found, depends on the rounds): the batch runs again with
    // them. An unreachable partition is told at once.
    if (computed && s.code() != StatusCode::io_error) rerun_ = true;
    reject_all();
    return s;
  };
  std::vector<PartitionReply> replies;
  PartitionRequest q;
  if (!computed) {
    // Mark: every partition's own writes, then the Marks they cause, until none is left.
    PhaseTimer timer(*this, EpochPhase::mark);
    if (!marked) {
      q.kind = PartitionRequestKind::mark;
      if (Status s = send_all(q, &replies); !s.is_ok()) return fail(s);
      for (std::uint32_t p = 0; p < partitions(); ++p) queue(p, replies[p]);
    }
    // A batch of writes learns its closure: the Marks of the apply (noted by everywhere())
    // and those of every wave.
    const bool learn = marked && !key_.empty();
    if (learn) mark_log_ = &learning_;
    const Status s = drain();
    mark_log_ = nullptr;
    if (!s.is_ok()) return fail(s);
    if (learn) {
      // Kept as the union of every closure the batch's writes found, so that writes whose
      // reach alternates (a timing that fires every other time) stop falling short once
      // each was seen; a field marked no more costs a Resolve (unchanged).
      if (closures_.size() >= kMarkClosuresMax && closures_.count(key_) == 0) closures_.clear();
      MarkClosure& known = closures_[key_];
      std::unordered_set<NodeId> had;
      for (const auto& [n, owner] : known) had.insert(n);
      for (const auto& mark : learning_) {
        if (had.insert(mark.first).second) known.push_back(mark);
      }
      if (known.size() > kMarkClosureMax) closures_.erase(key_);
    }
  }
  // Compute: what no mirror holds back, then whatever each Resolve releases.
  PhaseTimer timer(*this, EpochPhase::compute);
  if (!computed) {
    q.kind = PartitionRequestKind::compute;
    q.preview = previewing_;
    if (Status s = send_all(q, &replies); !s.is_ok()) return fail(s);
    for (std::uint32_t p = 0; p < partitions(); ++p) queue(p, replies[p]);
  }
  if (Status s = drain(for_commit); !s.is_ok()) return fail(s);
  // Fields still waiting wait on one another through other partitions. Each partition's
  // last reply said how many wait there: none, and the epoch is computed through.
  bool waits = false;
  for (std::uint32_t p = 0; p < partitions(); ++p) waits = waits || (waiting_[p] != 0 && !left_out(p));
  if (!waits) return Status::ok();
  q.kind = PartitionRequestKind::pending;
  if (Status s = send_all(q, &replies); !s.is_ok()) return fail(s);
  std::map<NodeId, std::pair<std::uint32_t, codec::PendingField>> waiting;  // by node
  for (std::uint32_t p = 0; p < partitions(); ++p) {
    for (codec::PendingField& f : replies[p].pending) {
      const NodeId n = f.node;
      waiting.emplace(n, std::make_pair(p, std::move(f)));
    }
  }
  if (waiting.empty()) return Status::ok();
  return fail(Status(StatusCode::cycle, cycle_message(waiting)));
}

bool PartitionedDocuments::take_predicted(const std::vector<PartitionReply>& replies,
                                          const MarkClosure& closure) {
  // What the Marks made stale must be in the closure: a field outside it was not marked
  // where it is read before those partitions computed.
  std::unordered_set<NodeId> expected;
  for (const auto& [n, owner] : closure) expected.insert(n);
  std::unordered_set<NodeId> marked;
  for (std::uint32_t p = 0; p < partitions(); ++p) {
    if (!replies[p].status.is_ok()) return false;
    for (const NodeId n : replies[p].stale) {
      if (expected.count(n) == 0) return false;  // the run again adds what it marks
      marked.insert(n);
    }
  }
  // A field of the closure its owner did not mark did not change: its readers are told so.
  for (const auto& [n, owner] : closure) {
    if (marked.count(n) == 0) queue_to_others(owner, codec::PartitionMessage{true, n, false, Value(), {}});
  }
  // What the compute resolved goes on as from a compute request.
  for (std::uint32_t p = 0; p < partitions(); ++p) {
    for (const codec::PartitionMessage& r : replies[p].resolved) queue_to_others(p, r);
  }
  return true;
}

std::string PartitionedDocuments::cycle_message(
    const std::map<NodeId, std::pair<std::uint32_t, codec::PendingField>>& waiting) {
  auto label = [&](NodeId n) {
    const auto& [p, f] = waiting.at(n);
    return f.name + " (partition " + std::to_string(p) + ")";
  };
  // Fields wait on fields, across partitions (a mirror's node id is its field's): a walk
  // along waits-on edges among the waiting fields finds the cycle that holds them.
  enum Color : std::uint8_t { white, grey, black };
  std::map<NodeId, Color> color;
  std::vector<NodeId> path;
  std::vector<std::pair<NodeId, std::size_t>> stack;  // node, next edge
  for (const auto& [start, unused] : waiting) {
    if (color[start] != white) continue;
    stack.emplace_back(start, 0);
    color[start] = grey;
    path.push_back(start);
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      const std::vector<NodeId>& edges = waiting.at(n).second.waits_on;
      if (next == edges.size()) {
        color[n] = black;
        path.pop_back();
        stack.pop_back();
        continue;
      }
      const NodeId d = edges[next++];
      if (waiting.count(d) == 0) continue;
      if (color[d] == grey) {
        std::string text = "dependency cycle across partitions: ";
        const auto from = std::find(path.begin(), path.end(), d);
        for (auto it = from; it != path.end(); ++it) text += label(*it) + " -> ";
        return text + label(d);
      }
      if (color[d] == black) continue;
      color[d] = grey;
      path.push_back(d);
      stack.emplace_back(d, 0);
    }
  }
  // No cycle among them (a defect): name them all.
  std::string names;
  for (const auto& [n, unused] : waiting) names += (names.empty() ? "" : ", ") + label(n);
  return "dependency cycle across partitions among " + names;
}

}  // namespace mgraph::actors
