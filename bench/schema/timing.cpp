// Execution timing (docs/SCHEMA.md "Execution timing") on N records of
//
//   entity S { x: int = 0  y: float = x * 0.5 [@every(1s)] }
//
//   timed-update/N      one iteration = record k's x := u, commit, read y, with y timed
//                       @every(1s) and the clock never moved: the formula runs, the gate
//                       keeps y (0, its value at creation). Checksum: 0.
//   immediate-update/N  the same updates with y immediate, the baseline. Checksum: Σ u/2.
//   timed-tick/N        one iteration = record k's x := u, then the clock moves 1 s and
//                       commits: every record's trigger reads the clock, so a tick costs
//                       O(N) whatever changed; y of record k is then u/2. Checksum: Σ u/2.
// k = u * 7919 mod N: every record is touched, in an order no cache predicts.

#include <memory>
#include <string>

#include "schema/schema_common.hpp"

namespace mgraph::bench {
namespace {

using schema::FieldValues;
using schema::RecordId;

constexpr std::uint64_t kTimingVerify = 1000;
constexpr std::size_t kRecordsPerCommit = 1000;

std::string schema_text(bool timed) {
  return std::string("entity S { x: int = 0  y: float = x * 0.5") +
         (timed ? " @every(1s) }" : " }");
}

class Timing final : public StoreShape {
 public:
  enum class Mode { timed_update, immediate_update, tick };
  Timing(std::size_t records, Mode mode) : records_(records), mode_(mode) {
    if (!open("timing.mgs", schema_text(mode != Mode::immediate_update))) return;
    for (std::size_t j = 0; j < records_; ++j) {
      const RecordId id = create("S", {});
      if (j == 0) first_ = id;
      if (id != first_ + j) {
        fail("build", Status(StatusCode::internal, "record ids are not consecutive"));
        return;
      }
      if ((j + 1) % kRecordsPerCommit == 0) store_commit();
    }
    store_commit();
    write_ = {{"x", Value(std::int64_t{0})}};
  }

  double update(std::uint64_t u) override {
    const RecordId id = first_ + (u * 7919) % records_;
    write_[0].second = Value(static_cast<std::int64_t>(u));
    update_record(id, write_);
    if (mode_ == Mode::tick) {
      const Status s = store_->set_clock(static_cast<std::int64_t>(u) * 1000);
      if (!s.is_ok()) fail("clock", s);
    }
    store_commit();
    return get(id, "y");
  }

  std::optional<double> computed_checksum(std::uint64_t updates) const override {
    if (mode_ == Mode::timed_update) return 0.0;
    double sum = 0;
    for (std::uint64_t u = 1; u <= updates; ++u) sum += static_cast<double>(u) * 0.5;
    return sum;
  }

  void add_counters(benchmark::UserCounters& counters) const override {
    counters["records"] = static_cast<double>(records_);
    counters["computed"] = static_cast<double>(last_commit_.computed);
  }

 private:
  std::size_t records_;
  Mode mode_;
  RecordId first_ = 0;
  FieldValues write_;
};

}  // namespace

void register_timing_benchmarks() {
  for (std::size_t n : {std::size_t{1000}, std::size_t{100000}}) {
    const std::string size = std::to_string(n);
    register_shape({"timed-update/" + size, kTimingVerify, std::nullopt,
                    [n] { return std::make_unique<Timing>(n, Timing::Mode::timed_update); }});
    register_shape({"immediate-update/" + size, kTimingVerify, std::nullopt,
                    [n] { return std::make_unique<Timing>(n, Timing::Mode::immediate_update); }});
    register_shape({"timed-tick/" + size, kTimingVerify, std::nullopt,
                    [n] { return std::make_unique<Timing>(n, Timing::Mode::tick); }});
  }
}

}  // namespace mgraph::bench
