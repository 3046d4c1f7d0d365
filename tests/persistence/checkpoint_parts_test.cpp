// Checkpoints written in parts (CheckpointWriter): each part in its own transaction, the
// checkpoint visible only once complete, read back whole, replaced, compacted and verified
// like a checkpoint in one record; a store of format 1 reads on and is upgraded.

#include <gtest/gtest.h>
#include <lmdb.h>

#include <fstream>
#include <iterator>
#include <string>

#include "mgraph/persistence/checkpoint_writer.hpp"
#include "mgraph/persistence/crc32c.hpp"
#include "mgraph/persistence/store.hpp"
#include "support/prng.hpp"
#include "support/store_fixture.hpp"

namespace mgraph::persistence {
namespace {

using testing::StoreTest;

constexpr std::size_t kPart = checkpoint_part_bytes_min;

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  mgraph::testing::Prng rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng.below(256));
  return out;
}

class CheckpointParts : public StoreTest {
 protected:
  /// Logs epochs 1..n.
  void log_epochs(std::uint64_t n) {
    WriteBatch batch;
    for (std::uint64_t e = 1; e <= n; ++e) batch.append_log(e, e, "epoch " + std::to_string(e));
    MG_ASSERT_OK(store_->write(batch));
  }

  /// Writes `state` as a checkpoint of `scope` at `epoch` in parts of kPart bytes, appended
  /// in pieces of `piece` bytes; returns the parts it took.
  std::uint32_t write(std::string_view scope, std::uint64_t epoch, std::string_view state,
                      std::size_t piece = 100) {
    auto writer = CheckpointWriter::begin(*store_, scope, epoch, kPart);
    EXPECT_TRUE(writer.is_ok()) << writer.status().to_string();
    if (!writer.is_ok()) return 0;
    for (std::size_t at = 0; at < state.size(); at += piece) {
      const Status s = writer->append(state.substr(at, piece));
      EXPECT_TRUE(s.is_ok()) << s.to_string();
    }
    const Status s = writer->finish();
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    EXPECT_EQ(writer->state_bytes(), state.size());
    return writer->parts_written();
  }

  std::string newest_state(std::string_view scope) {
    auto cp = store_->newest_checkpoint(scope);
    EXPECT_TRUE(cp.is_ok()) << cp.status().to_string();
    return cp.is_ok() && cp->has_value() ? (*cp)->state : std::string("<none>");
  }

  VerifyReport verified() {
    auto report = store_->verify();
    EXPECT_TRUE(report.is_ok()) << report.status().to_string();
    return report.is_ok() ? *report : VerifyReport{};
  }
};

TEST_F(CheckpointParts, ALargeStateIsStoredInPartsAndReadBackWhole) {
  log_epochs(3);
  const std::string state = random_bytes(10 * kPart + 17, 1);
  EXPECT_EQ(write("s", 2, state), 11u);
  EXPECT_EQ(newest_state("s"), state);
  auto recovery = store_->recover("s");
  ASSERT_TRUE(recovery.is_ok()) << recovery.status().to_string();
  ASSERT_TRUE(recovery->checkpoint.has_value());
  EXPECT_EQ(recovery->checkpoint->epoch, 2u);
  EXPECT_EQ(recovery->checkpoint->state, state);
  auto next = recovery->log.next();
  ASSERT_TRUE(next.is_ok() && *next != nullptr);
  EXPECT_EQ((*next)->epoch, 3u);
  const VerifyReport report = verified();
  EXPECT_EQ(report.checkpoints, 1u);
  EXPECT_EQ(report.checkpoint_parts, 11u);
  reopen();
  EXPECT_EQ(newest_state("s"), state);
  EXPECT_EQ(store_->info().format_version, format_version);
}

TEST_F(CheckpointParts, AStateOfOnePartIsOneRecord) {
  log_epochs(1);
  const std::string state = random_bytes(kPart, 2);
  EXPECT_EQ(write("s", 1, state, kPart), 0u);
  EXPECT_EQ(newest_state("s"), state);
  EXPECT_EQ(verified().checkpoint_parts, 0u);
  EXPECT_EQ(write("s", 1, ""), 0u);  // empty states too
  EXPECT_EQ(newest_state("s"), "");
}

TEST_F(CheckpointParts, AnUnfinishedCheckpointIsInvisibleAndCleanedUpByTheNext) {
  log_epochs(5);
  const std::string old_state = random_bytes(3 * kPart, 3);
  write("s", 2, old_state);
  {
    auto writer = CheckpointWriter::begin(*store_, "s", 5, kPart);
    ASSERT_TRUE(writer.is_ok());
    MG_ASSERT_OK(writer->append(random_bytes(4 * kPart + 1, 4)));
    EXPECT_EQ(writer->parts_written(), 4u);
    // Dropped without finish(), as a killed process leaves it.
  }
  EXPECT_EQ(newest_state("s"), old_state);
  EXPECT_EQ(verified().checkpoint_parts, 3u + 4u);
  reopen();
  EXPECT_EQ(newest_state("s"), old_state);
  // The next writer of the scope deletes what was left.
  const std::string state = random_bytes(2 * kPart + 5, 5);
  write("s", 5, state);
  EXPECT_EQ(newest_state("s"), state);
  EXPECT_EQ(verified().checkpoint_parts, 3u + 3u);
}

TEST_F(CheckpointParts, ACheckpointAtTheSameEpochReplacesTheOtherWithItsParts) {
  log_epochs(2);
  const std::string parted = random_bytes(5 * kPart, 6);
  const std::string parted_again = random_bytes(2 * kPart + 1, 7);
  const std::string single = "small state";
  write("s", 2, parted);
  write("s", 2, parted_again);
  EXPECT_EQ(newest_state("s"), parted_again);
  EXPECT_EQ(verified().checkpoint_parts, 3u);
  WriteBatch batch;
  batch.put_checkpoint("s", 2, single);  // a checkpoint in one record replaces it too
  MG_ASSERT_OK(store_->write(batch));
  EXPECT_EQ(newest_state("s"), single);
  EXPECT_EQ(verified().checkpoints, 1u);
  EXPECT_EQ(verified().checkpoint_parts, 0u);
  write("s", 2, parted);
  EXPECT_EQ(newest_state("s"), parted);
  EXPECT_EQ(verified().checkpoints, 1u);
}

TEST_F(CheckpointParts, CompactionDeletesOldCheckpointsWithTheirParts) {
  log_epochs(6);
  write("s", 2, random_bytes(3 * kPart, 8));
  write("t", 3, random_bytes(3 * kPart, 9));
  const std::string s_state = random_bytes(2 * kPart + 3, 10);
  const std::string t_state = random_bytes(4 * kPart, 11);
  write("s", 5, s_state);
  write("t", 6, t_state);
  EXPECT_EQ(verified().checkpoint_parts, 3u + 3u + 3u + 4u);
  MG_ASSERT_OK(store_->compact(6));
  EXPECT_EQ(newest_state("s"), s_state);
  EXPECT_EQ(newest_state("t"), t_state);
  const VerifyReport report = verified();
  EXPECT_EQ(report.checkpoints, 2u);
  EXPECT_EQ(report.checkpoint_parts, 3u + 4u);
}

TEST_F(CheckpointParts, DamagedOrMissingPartsAreCorruption) {
  log_epochs(1);
  const std::string state = std::string(3 * kPart, 'x') + "needle-in-part-three" +
                            std::string(kPart, 'y');
  write("s", 1, state);
  store_.reset();
  // Flip one byte of the part that holds the needle (LMDB may keep stale page copies).
  {
    std::string bytes;
    {
      std::ifstream in(data_file(), std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::size_t copies = 0;
    for (std::size_t at = bytes.find("needle"); at != std::string::npos && copies < 100;
         at = bytes.find("needle", at + 1), ++copies) {
      bytes[at] = 'N';
    }
    ASSERT_GT(copies, 0u);
    std::ofstream(data_file(), std::ios::binary | std::ios::trunc) << bytes;
  }
  reopen();
  auto cp = store_->newest_checkpoint("s");
  ASSERT_FALSE(cp.is_ok());
  EXPECT_EQ(cp.status().code(), StatusCode::corruption);
  EXPECT_NE(cp.status().message().find("checkpoint of scope 's' at epoch 1, part 3: checksum"),
            std::string::npos)
      << cp.status().message();
  EXPECT_EQ(store_->verify().status().code(), StatusCode::corruption);
}

TEST_F(CheckpointParts, AMissingPartIsCorruption) {
  log_epochs(1);
  write("m", 1, random_bytes(3 * kPart + 1, 13));
  store_.reset();
  {
    // Part 2 of generation 1: scope length, scope, epoch, generation, index (big-endian).
    std::string key = std::string(1, '\1') + "m";
    for (const std::uint64_t v : {std::uint64_t{1}, std::uint64_t{1}})
      for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(v >> shift));
    key += std::string("\0\0\0\2", 4);
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    ASSERT_EQ(mdb_env_set_maxdbs(env, 8), 0);
    ASSERT_EQ(mdb_env_open(env, store_dir().c_str(), 0, 0644), 0);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    MDB_dbi parts = 0;
    ASSERT_EQ(mdb_dbi_open(txn, "checkpoint_parts", 0, &parts), 0);
    MDB_val k{key.size(), key.data()};
    ASSERT_EQ(mdb_del(txn, parts, &k, nullptr), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  reopen();
  auto cp = store_->newest_checkpoint("m");
  ASSERT_FALSE(cp.is_ok());
  EXPECT_NE(cp.status().message().find("checkpoint of scope 'm' at epoch 1, part 2 is missing"),
            std::string::npos)
      << cp.status().message();
}

TEST_F(CheckpointParts, BadArgumentsAreRefusedBeforeAnythingIsWritten) {
  log_epochs(2);
  EXPECT_EQ(CheckpointWriter::begin(*store_, "s", 3, kPart).status().code(),
            StatusCode::invalid_argument);  // ahead of the log
  EXPECT_EQ(CheckpointWriter::begin(*store_, "s", 1, kPart - 1).status().code(),
            StatusCode::invalid_argument);
  EXPECT_EQ(CheckpointWriter::begin(*store_, "s", 1, checkpoint_part_bytes_max + 1).status().code(),
            StatusCode::invalid_argument);
  EXPECT_EQ(CheckpointWriter::begin(*store_, "", 1, kPart).status().code(),
            StatusCode::invalid_argument);
  auto writer = CheckpointWriter::begin(*store_, "s", 1, kPart);
  ASSERT_TRUE(writer.is_ok());
  MG_ASSERT_OK(writer->finish());
  EXPECT_EQ(writer->append("x").code(), StatusCode::failed_precondition);
  EXPECT_EQ(writer->finish().code(), StatusCode::failed_precondition);
}

/// Turns the store at `dir` into one of format 1 as the previous build wrote it: no
/// checkpoint_parts database, meta format_version 1.
void make_format_1(const std::string& dir) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 8), 0);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0644), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi parts = 0, meta = 0;
  ASSERT_EQ(mdb_dbi_open(txn, "checkpoint_parts", 0, &parts), 0);
  ASSERT_EQ(mdb_drop(txn, parts, 1), 0);
  ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
  const std::string key = "format_version", payload("\0\0\0\1", 4);
  std::uint32_t crc = crc32c_extend(0, "M", 1);
  crc = crc32c_extend(crc, key.data(), key.size());
  crc = crc32c_mask(crc32c_extend(crc, payload.data(), payload.size()));
  std::string value;
  for (int shift = 24; shift >= 0; shift -= 8) value.push_back(static_cast<char>(crc >> shift));
  value += payload;
  MDB_val k{key.size(), const_cast<char*>(key.data())}, v{value.size(), value.data()};
  ASSERT_EQ(mdb_put(txn, meta, &k, &v, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

TEST_F(CheckpointParts, AStoreOfFormatOneReadsOnAndIsUpgradedByItsFirstParts) {
  log_epochs(3);
  WriteBatch batch;
  batch.put_checkpoint("s", 1, "format 1 state");
  MG_ASSERT_OK(store_->write(batch));
  store_.reset();
  make_format_1(store_dir());
  reopen();
  EXPECT_EQ(store_->info().format_version, 1u);
  EXPECT_EQ(newest_state("s"), "format 1 state");
  write("s", 2, "still one record");
  reopen();
  EXPECT_EQ(store_->info().format_version, 1u);  // nothing a format-1 reader cannot read
  const std::string state = random_bytes(3 * kPart + 1, 12);
  write("s", 3, state);
  EXPECT_EQ(store_->info().format_version, 2u);
  reopen();
  EXPECT_EQ(store_->info().format_version, 2u);
  EXPECT_EQ(newest_state("s"), state);
  EXPECT_EQ(verified().checkpoint_parts, 4u);
}

}  // namespace
}  // namespace mgraph::persistence
