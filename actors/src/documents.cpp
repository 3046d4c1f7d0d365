#include "mgraph/actors/documents.hpp"

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

session::BatchResult DocumentPartition::run(const session::Batch& batch) {
  session::BatchResult results = executor_.run(batch);
  if (store_.graph().in_transaction()) store_.reject();
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
  (void)self;
  return {
      [partition](apply_atom, codec::Epoch, const std::string& bytes) -> caf::result<std::string> {
        Result<session::Batch> batch = codec::decode_batch(bytes);
        if (!batch.is_ok()) return bad_request(batch.status());
        Result<std::string> answer = codec::encode_batch_result(partition->run(*batch));
        if (!answer.is_ok()) return bad_request(answer.status());
        return std::move(answer).value();
      },
      [schema](schema_atom) {
        return caf::make_message(schema.name, schema.source, schema.fingerprint);
      },
  };
}

caf::behavior sequencer_actor(caf::event_based_actor* self, caf::actor partition, EpochLog* log) {
  auto epoch = std::make_shared<codec::Epoch>(0);
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
  return {
      [self, partition, log, epoch](transact_atom, const std::string& bytes)
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
        }
        return self->delegate(partition, apply_atom::value, *epoch, bytes);
      },
      // Results of the epochs run again at the start: nobody waits for them.
      [](const std::string&) {},
  };
}

}  // namespace mgraph::actors
