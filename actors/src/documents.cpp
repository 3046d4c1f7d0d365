#include "mgraph/actors/documents.hpp"

#include <chrono>
#include <deque>
#include <utility>

#include "mgraph/codec/session_codec.hpp"

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

// ---- DocumentPartition ----

DocumentPartition::DocumentPartition(std::shared_ptr<const schema::Schema> schema,
                                     schema::StoreOptions options)
    : store_(std::move(schema), options), executor_(store_) {}

session::BatchResult DocumentPartition::run(const session::Batch& batch, bool* committed) {
  const auto before = store_.graph().revision();
  session::BatchResult results = executor_.run(batch);
  if (store_.graph().in_transaction()) store_.reject();
  if (committed != nullptr) *committed = store_.graph().revision() != before;
  return results;
}

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

// ---- Actors ----

namespace {

caf::error bad_request(const Status& s) {
  return caf::make_error(caf::sec::invalid_argument, s.message());
}

}  // namespace

caf::behavior document_partition_actor(caf::event_based_actor* self,
                                       std::shared_ptr<DocumentPartition> partition,
                                       SchemaInfo schema) {
  // Where outcomes of epochs go (none until a sequencer asks).
  auto reporter = std::make_shared<caf::actor>();
  return {
      [self, partition, reporter](apply_atom, codec::Epoch epoch,
                                  const std::string& bytes) -> caf::result<std::string> {
        Result<session::Batch> batch = codec::decode_batch(bytes);
        if (!batch.is_ok()) return bad_request(batch.status());
        bool committed = false;
        session::BatchResult results = partition->run(*batch, &committed);
        if (*reporter && changes_documents(*batch)) {
          self->send(*reporter, outcome_atom::value, epoch, committed);
        }
        Result<std::string> answer = codec::encode_batch_result(results);
        if (!answer.is_ok()) return bad_request(answer.status());
        return std::move(answer).value();
      },
      [reporter](report_atom, const caf::actor& to) { *reporter = to; },
      [schema](schema_atom) {
        return caf::make_message(schema.name, schema.source, schema.fingerprint);
      },
  };
}

caf::behavior sequencer_actor(caf::event_based_actor* self, caf::actor partition, EpochLog* log,
                              EpochObserver observe) {
  using Clock = std::chrono::steady_clock;
  auto epoch = std::make_shared<codec::Epoch>(0);
  // Before any epoch: the partition reports outcomes here (messages from one actor to
  // another arrive in the order sent).
  if (observe) self->send(partition, report_atom::value, caf::actor_cast<caf::actor>(self));
  // The logged epochs first, in order: the partition handles them before any client's.
  const Status replayed = log->replay([&](codec::Epoch e, std::string_view batch) {
    // A logged batch that does not decode would be lost without a word: stop instead.
    if (Result<session::Batch> b = codec::decode_batch(batch); !b.is_ok())
      return Status(b.status().code(), "epoch " + std::to_string(e) + ": " + b.status().message());
    self->send(partition, apply_atom::value, e, std::string(batch));
    *epoch = e;
    return Status::ok();
  });
  if (!replayed.is_ok()) {
    self->quit(caf::make_error(caf::sec::runtime_error, "epoch log: " + replayed.message()));
    return {};
  }
  const codec::Epoch replayed_last = *epoch;
  // The epochs numbered here whose outcome is still to come, oldest first, and when.
  auto in_flight = std::make_shared<std::deque<std::pair<codec::Epoch, Clock::time_point>>>();
  return {
      [self, partition, log, epoch, in_flight, observe](transact_atom, const std::string& bytes)
          -> caf::delegated<caf::message> {
        Result<session::Batch> batch = codec::decode_batch(bytes);
        if (!batch.is_ok()) {
          auto rp = self->make_response_promise();
          rp.deliver(bad_request(batch.status()));
          return {};
        }
        if (changes_documents(*batch)) {
          // Durable before it runs: a crash after this runs it again at the next start.
          if (Status s = log->append(*epoch + 1, bytes); !s.is_ok()) {
            auto rp = self->make_response_promise();
            rp.deliver(caf::make_error(caf::sec::runtime_error, "epoch log: " + s.message()));
            return {};
          }
          ++*epoch;
          if (observe) in_flight->emplace_back(*epoch, Clock::now());
        }
        return self->delegate(partition, apply_atom::value, *epoch, bytes);
      },
      [in_flight, observe, replayed_last](outcome_atom, codec::Epoch e, bool committed) {
        if (!observe) return;
        if (e <= replayed_last) {
          observe(EpochOutcome{e, committed, true, 0});
          return;
        }
        // In order; an epoch whose outcome never came (none should) is dropped here.
        while (!in_flight->empty() && in_flight->front().first < e) in_flight->pop_front();
        double seconds = 0;
        if (!in_flight->empty() && in_flight->front().first == e) {
          seconds = std::chrono::duration<double>(Clock::now() - in_flight->front().second).count();
          in_flight->pop_front();
        }
        observe(EpochOutcome{e, committed, false, seconds});
      },
      // Results of the epochs run again at the start: nobody waits for them.
      [](const std::string&) {},
  };
}

}  // namespace mgraph::actors
