// mgraph_persistence_crash_writer: the process the crash test kills.
//
//   mgraph_persistence_crash_writer <store dir> <seed> <batch_size_max> <epochs_max>
//
// Recovers its running-sum state (checkpoint of scope "oracle" + log replay), then appends
// the epochs after the store's last one with group commit in sync mode, writing
// "durable <epoch>\n" to stdout after every commit. Flushes come after a random number of
// appends (and automatically at batch_size_max); after a few commits it checkpoints its
// state and compacts the log before its previous checkpoint, so kills also land inside
// checkpoint and compaction transactions. Stops after epochs_max appends, or when killed.
// Exit codes: 0 done, 2 usage, 3 store error, 4 recovered state disagrees with the log.

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "mgraph/persistence/log_writer.hpp"
#include "mgraph/persistence/store.hpp"
#include "support/field_writes.hpp"

namespace {

using mgraph::Status;
using namespace mgraph::persistence;
using namespace mgraph::persistence::testing;

constexpr std::uint64_t recovery_entries_max = std::uint64_t{1} << 32;

[[noreturn]] void fail(int code, const std::string& message) {
  std::fprintf(stderr, "crash_writer: %s\n", message.c_str());
  std::exit(code);
}

void check(const Status& s, const char* what) {
  if (!s) fail(3, std::string(what) + ": " + s.to_string());
}

/// Writes one report line; a pipe write of this size is atomic.
void report_durable(std::uint64_t epoch) {
  char line[48];
  const int size =
      std::snprintf(line, sizeof line, "durable %llu\n", static_cast<unsigned long long>(epoch));
  for (int attempt = 0; attempt < 100; ++attempt) {
    const ssize_t written = ::write(STDOUT_FILENO, line, static_cast<std::size_t>(size));
    if (written == size) return;
    if (written < 0 && errno != EINTR) fail(3, "write to stdout failed");
  }
  fail(3, "write to stdout kept being interrupted");
}

std::uint64_t parse(const char* text, const char* what) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') fail(2, std::string("bad ") + what);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) fail(2, "usage: crash_writer <store dir> <seed> <batch_size_max> <epochs_max>");
  const std::string dir = argv[1];
  const std::uint64_t seed = parse(argv[2], "seed");
  const std::uint64_t batch_size_max = parse(argv[3], "batch_size_max");
  const std::uint64_t epochs_max = parse(argv[4], "epochs_max");

  StoreOptions options;
  options.durability = Durability::sync;
  options.map_size_initial_bytes = std::uint64_t{1} << 20;  // small: growth happens under kills
  options.create_if_missing = false;
  auto store = Store::open(dir, options);
  check(store.status(), "open");

  // Recovery: newest checkpoint, then the log after it.
  auto recovery = (*store)->recover("oracle");
  check(recovery.status(), "recover");
  SumState state;
  if (recovery->checkpoint && !state.decode(recovery->checkpoint->state)) {
    fail(4, "checkpoint state does not decode");
  }
  std::uint64_t previous_checkpoint = recovery->checkpoint ? recovery->checkpoint->epoch : 0;
  for (std::uint64_t i = 0; i < recovery_entries_max; ++i) {
    auto entry = recovery->log.next();
    check(entry.status(), "replay");
    if (*entry == nullptr) break;
    const mgraph::persistence::LogEntry& e = **entry;
    if (e.batch != batch_for_epoch(e.epoch, seed) || !state.apply(e.epoch, e.batch)) {
      fail(4, "log entry of epoch " + std::to_string(e.epoch) + " is not what was written");
    }
  }
  auto writer = LogWriter::create(**store, LogWriterOptions{batch_size_max, std::size_t{1} << 20});
  check(writer.status(), "LogWriter::create");
  if (state.epoch != writer->durable_epoch()) {
    fail(4, "replayed state at epoch " + std::to_string(state.epoch) + ", log ends at " +
                std::to_string(writer->durable_epoch()));
  }
  writer->set_on_durable(report_durable);

  const std::uint64_t start = writer->durable_epoch();
  Prng prng(seed ^ (start * 0x9e3779b97f4a7c15ull));
  std::uint64_t appends_until_flush = 1 + prng.below(batch_size_max);
  std::uint64_t commits_at_checkpoint = 0;
  std::uint64_t commits_between_checkpoints = 2 + prng.below(6);
  for (std::uint64_t epoch = start + 1; epoch <= start + epochs_max; ++epoch) {
    const std::string batch = batch_for_epoch(epoch, seed);
    if (!state.apply(epoch, batch)) fail(4, "generated batch does not decode");
    check(writer->append(epoch, time_ns_for_epoch(epoch), batch), "append");
    if (--appends_until_flush == 0) {
      check(writer->flush(), "flush");
      appends_until_flush = 1 + prng.below(batch_size_max);
    }
    if (writer->pending_count() == 0 &&
        writer->commit_count() >= commits_at_checkpoint + commits_between_checkpoints) {
      // Nothing pending: the state is exactly that of the durable epoch.
      WriteBatch checkpoint;
      checkpoint.put_checkpoint("oracle", writer->durable_epoch(), state.encode());
      check((*store)->write(checkpoint), "checkpoint");
      if (previous_checkpoint > 0) check((*store)->compact(previous_checkpoint + 1), "compact");
      previous_checkpoint = writer->durable_epoch();
      commits_at_checkpoint = writer->commit_count();
      commits_between_checkpoints = 2 + prng.below(6);
    }
  }
  check(writer->flush(), "final flush");
  return 0;
}
