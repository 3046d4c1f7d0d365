// mgraph_bench_persistence: what the LMDB store costs (docs/PERFORMANCE.md, "Persistence").
//
//   GroupCommit/<n>: small durable log appends (32 bytes each) in sync mode, n appends per
//     LMDB transaction (one fsync each); n = 1 is one transaction per write, the baseline.
//     items_per_second = durable writes per second.
//   Replay/<n>: recovery's log replay: a LogCursor over records holding n field writes each
//     (field id u64, value i64, big-endian), every write decoded and applied to running
//     sums. items_per_second = field writes replayed per second.
//
// Stores live in fresh directories under $TMPDIR (default /tmp): the figures are those of
// that file system.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "mgraph/persistence/log_writer.hpp"
#include "mgraph/persistence/store.hpp"

namespace {

using namespace mgraph::persistence;

/// A fresh directory, removed on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                          "/mgraph-bench-persistence-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    MG_ASSERT(::mkdtemp(buffer.data()) != nullptr);
    path_ = std::string(buffer.data()) + "/store";
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(std::filesystem::path(path_).parent_path(), ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<Store> open_store(const std::string& path, Durability durability) {
  StoreOptions options;
  options.durability = durability;
  auto store = Store::open(path, options);
  MG_ASSERT_MSG(store.is_ok(), store.status().to_string().c_str());
  return std::move(store).value();
}

void put_be64(char* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
}
std::uint64_t get_be64(const char* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

constexpr std::size_t small_write_bytes = 32;
constexpr std::size_t field_write_bytes = 16;
constexpr std::uint64_t replay_field_writes = 2'000'000;
constexpr std::size_t field_count = 64;

void GroupCommit(benchmark::State& state) {
  const auto batch_size = static_cast<std::size_t>(state.range(0));
  ScratchDir dir;
  auto store = open_store(dir.path(), Durability::sync);
  auto writer = LogWriter::create(*store, LogWriterOptions{batch_size, std::size_t{64} << 20});
  MG_ASSERT(writer.is_ok());
  std::string payload(small_write_bytes, 'w');
  std::uint64_t epoch = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < batch_size; ++i) {
      ++epoch;
      put_be64(payload.data(), epoch);
      const mgraph::Status s = writer->append(epoch, epoch, payload);  // flushes at batch_size
      if (!s) state.SkipWithError(s.to_string().c_str());
    }
  }
  MG_ASSERT(writer->pending_count() == 0 && writer->durable_epoch() == epoch);
  state.SetItemsProcessed(static_cast<std::int64_t>(epoch));
  state.counters["commits_per_s"] =
      benchmark::Counter(static_cast<double>(writer->commit_count()), benchmark::Counter::kIsRate);
}
BENCHMARK(GroupCommit)
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

/// A store holding replay_field_writes field writes, n per record; built once per n.
struct ReplayLog {
  ScratchDir dir;
  std::unique_ptr<Store> store;
  std::uint64_t records = 0;
};

ReplayLog& replay_log(std::size_t writes_per_record) {
  static std::map<std::size_t, std::unique_ptr<ReplayLog>> logs;
  auto& log = logs[writes_per_record];
  if (log) return *log;
  log = std::make_unique<ReplayLog>();
  log->store = open_store(log->dir.path(), Durability::nosync);  // setup only
  log->records = replay_field_writes / writes_per_record;
  std::string batch(writes_per_record * field_write_bytes, '\0');
  std::uint64_t field = 0;
  WriteBatch write;
  for (std::uint64_t epoch = 1; epoch <= log->records; ++epoch) {
    for (std::size_t w = 0; w < writes_per_record; ++w, ++field) {
      put_be64(batch.data() + w * field_write_bytes, field % field_count);
      put_be64(batch.data() + w * field_write_bytes + 8, field * 7);
    }
    write.append_log(epoch, epoch, batch);
    if (write.log_count() == 10'000 || epoch == log->records) {
      const mgraph::Status s = log->store->write(write);
      MG_ASSERT_MSG(s.is_ok(), s.to_string().c_str());
      write.clear();
    }
  }
  return *log;
}

void Replay(benchmark::State& state) {
  const auto writes_per_record = static_cast<std::size_t>(state.range(0));
  ReplayLog& log = replay_log(writes_per_record);
  std::uint64_t replayed = 0;
  for (auto _ : state) {
    std::array<std::uint64_t, field_count> sums{};
    LogCursor cursor = log.store->log_cursor(0, 4096);
    for (std::uint64_t i = 0; i <= log.records; ++i) {
      auto entry = cursor.next();
      if (!entry) {
        state.SkipWithError(entry.status().to_string().c_str());
        break;
      }
      if (*entry == nullptr) break;
      const std::string& batch = (*entry)->batch;
      for (std::size_t at = 0; at + field_write_bytes <= batch.size(); at += field_write_bytes) {
        sums[get_be64(batch.data() + at) % field_count] += get_be64(batch.data() + at + 8);
        ++replayed;
      }
    }
    benchmark::DoNotOptimize(sums);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(replayed));
}
BENCHMARK(Replay)->Arg(10)->Arg(100)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
