#pragma once
// A client's view of documents spread over partitions, for the actors' tests.

#include "mgraph/actors/partitioned.hpp"
#include "mgraph/session/client.hpp"

namespace mgraph::testing {

/// Whole batches, none leaving a transaction open, as a cluster runs them.
class DocumentsBackend final : public session::Backend {
 public:
  explicit DocumentsBackend(actors::PartitionedDocuments& documents) : documents_(documents) {}
  Result<session::BatchResult> run(const session::Batch& batch) override {
    return documents_.run(batch);
  }

 private:
  actors::PartitionedDocuments& documents_;
};

}  // namespace mgraph::testing
