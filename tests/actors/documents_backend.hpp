#pragma once
// A client's view of documents spread over partitions, for the actors' tests.

#include <gtest/gtest.h>

#include "mgraph/actors/partitioned.hpp"
#include "mgraph/session/client.hpp"

namespace mgraph::testing {

/// Whole batches, none leaving a transaction open, as a cluster runs them. Every batch is
/// run with a `decided` callback, as the cluster's driver does (PartitionedDocuments,
/// "Answered when decided"): what a batch is told when its commit is decided must be what
/// run() then returns, or the test fails.
class DocumentsBackend final : public session::Backend {
 public:
  explicit DocumentsBackend(actors::PartitionedDocuments& documents) : documents_(documents) {}
  Result<session::BatchResult> run(const session::Batch& batch) override {
    std::optional<session::BatchResult> told;
    session::BatchResult results = documents_.run(batch, nullptr, [&](const session::BatchResult& r) {
      EXPECT_FALSE(told.has_value()) << "told twice";
      told = r;
    });
    if (told) {
      ++told_;
      EXPECT_EQ(*told, results) << "a batch was told other results when its commit was decided";
    }
    return results;
  }
  /// Batches answered when decided so far.
  std::size_t told() const { return told_; }

 private:
  actors::PartitionedDocuments& documents_;
  std::size_t told_ = 0;
};

}  // namespace mgraph::testing
