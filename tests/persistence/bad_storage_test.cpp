// Damaged, truncated and foreign files: every case gives a Status naming the file and the
// problem; none crashes and none reads back wrong data.

#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "mgraph/persistence/crc32c.hpp"
#include "mgraph/persistence/store.hpp"
#include "support/field_writes.hpp"
#include "support/store_fixture.hpp"

namespace mgraph::persistence {
namespace {

using testing::StoreTest;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Flips one byte in every copy of `needle` in the file (LMDB's copy-on-write may leave
/// stale copies of a page); returns how many copies it changed.
int flip_byte_in_every_copy(const std::string& path, const std::string& needle,
                            std::size_t offset) {
  std::string bytes = read_file(path);
  int copies = 0;
  for (std::size_t at = bytes.find(needle); at != std::string::npos && copies < 1000;
       at = bytes.find(needle, at + 1)) {
    bytes[at + offset] = static_cast<char>(bytes[at + offset] ^ 0x20);
    ++copies;
  }
  write_file(path, bytes);
  return copies;
}

void expect_names_file_and_problem(const Status& s, const std::string& file,
                                   const std::string& problem) {
  EXPECT_EQ(s.code(), StatusCode::corruption) << s.to_string();
  EXPECT_NE(s.message().find(file), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(problem), std::string::npos) << s.message();
}

/// A meta value as docs/PERSISTENCE.md specifies it: masked CRC-32C (big-endian) over the
/// tag 'M', the key and the payload, then the payload.
std::string sealed_meta(std::string_view key, std::string_view payload) {
  std::uint32_t crc = crc32c_extend(0, "M", 1);
  crc = crc32c_extend(crc, key.data(), key.size());
  crc = crc32c_extend(crc, payload.data(), payload.size());
  const std::uint32_t masked = crc32c_mask(crc);
  std::string value;
  for (int shift = 24; shift >= 0; shift -= 8) value.push_back(static_cast<char>(masked >> shift));
  value.append(payload);
  return value;
}

/// Writes key/value pairs into database `db` (nullptr: the main one) of an LMDB
/// environment at `dir`, as another program would.
void lmdb_put(const std::string& dir, const char* db,
              const std::vector<std::pair<std::string, std::string>>& pairs) {
  MDB_env* env = nullptr;
  MG_ASSERT(mdb_env_create(&env) == 0);
  MG_ASSERT(mdb_env_set_maxdbs(env, 8) == 0);
  MG_ASSERT(mdb_env_set_mapsize(env, std::size_t{64} << 20) == 0);
  MG_ASSERT(mdb_env_open(env, dir.c_str(), 0, 0644) == 0);
  MDB_txn* txn = nullptr;
  MG_ASSERT(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  MDB_dbi dbi = 0;
  MG_ASSERT(mdb_dbi_open(txn, db, MDB_CREATE, &dbi) == 0);
  for (const auto& [key, value] : pairs) {
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v{value.size(), const_cast<char*>(value.data())};
    MG_ASSERT(mdb_put(txn, dbi, &k, &v, 0) == 0);
  }
  MG_ASSERT(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
}

class BadStorage : public StoreTest {
 protected:
  /// Fills the store with one record of every kind, each holding a recognisable marker.
  void fill() {
    WriteBatch batch;
    for (std::uint64_t epoch = 1; epoch <= 20; ++epoch) {
      batch.append_log(epoch, epoch, "log-marker-" + std::to_string(epoch) + "-end");
    }
    batch.put_history(HistoryEntry{3, 1, 5, 0, "history-marker"});
    batch.put_ledger(LedgerEntry{3, 1, 0, LedgerKind::transition, 5, 0, "ledger-marker"});
    batch.put_checkpoint("scope", 20, "checkpoint-marker");
    MG_ASSERT_OK(store_->write(batch));
    store_.reset();
  }
  Result<std::unique_ptr<Store>> open_again() { return Store::open(store_dir(), fast_options()); }
  static StoreOptions fast_options() { return testing::fast_options(); }
};

TEST_F(BadStorage, AFlippedByteInALogRecordFailsItsChecksum) {
  fill();
  ASSERT_GE(flip_byte_in_every_copy(data_file(), "log-marker-7-end", 4), 1);
  auto store = open_again();  // opening does not read records
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  auto six = (*store)->log_entry(6);
  ASSERT_TRUE(six.is_ok());
  auto seven = (*store)->log_entry(7);
  expect_names_file_and_problem(seven.status(), data_file(), "log entry of epoch 7: checksum");
  std::vector<LogEntry> entries;
  expect_names_file_and_problem((*store)->read_log(0, 100, entries), data_file(), "checksum");
  LogCursor cursor = (*store)->log_cursor(0, 2);
  Status replay;
  for (int i = 0; i < 30 && replay.is_ok(); ++i) {
    auto entry = cursor.next();
    replay = entry.status();
    if (replay.is_ok() && *entry == nullptr) break;
  }
  expect_names_file_and_problem(replay, data_file(), "epoch 7");
  EXPECT_EQ(cursor.position(), 6u);                      // replay stops before the damaged entry
  LogCursor large_chunks = (*store)->log_cursor(0, 10);  // the damaged entry in its first chunk
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto entry = large_chunks.next();
    expect_names_file_and_problem(entry.status(), data_file(), "epoch 7");  // again and again
  }
  expect_names_file_and_problem((*store)->verify().status(), data_file(), "epoch 7");
}

TEST_F(BadStorage, AFlippedByteInEveryOtherRecordKindFailsItsChecksum) {
  fill();
  ASSERT_GE(flip_byte_in_every_copy(data_file(), "history-marker", 2), 1);
  ASSERT_GE(flip_byte_in_every_copy(data_file(), "ledger-marker", 2), 1);
  ASSERT_GE(flip_byte_in_every_copy(data_file(), "checkpoint-marker", 2), 1);
  auto store = open_again();
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  expect_names_file_and_problem((*store)->value_at(3, 5).status(), data_file(),
                                "history of field 3 version 1: checksum");
  expect_names_file_and_problem((*store)->history(3).status(), data_file(), "checksum");
  expect_names_file_and_problem((*store)->audit_trail(3).status(), data_file(),
                                "ledger record of effect field 3 version 1 seq 0: checksum");
  expect_names_file_and_problem((*store)->newest_checkpoint("scope").status(), data_file(),
                                "checkpoint of scope 'scope' at epoch 20: checksum");
  expect_names_file_and_problem((*store)->recover("scope").status(), data_file(), "checksum");
}

TEST_F(BadStorage, AFlippedByteInTheMetaRecordsIsReportedAtOpen) {
  fill();
  ASSERT_GE(flip_byte_in_every_copy(data_file(), std::string(store_magic), 3), 1);
  expect_names_file_and_problem(open_again().status(), data_file(), "meta record 'magic'");
}

TEST_F(BadStorage, ATruncatedDataFileIsReported) {
  fill();
  const auto size = std::filesystem::file_size(data_file());
  std::filesystem::resize_file(data_file(), size / 2);
  expect_names_file_and_problem(open_again().status(), data_file(), "truncated");
  std::filesystem::resize_file(data_file(), 100);
  expect_names_file_and_problem(open_again().status(), data_file(), "truncated");
  std::filesystem::resize_file(data_file(), 0);  // LMDB alone would take this for a new file
  expect_names_file_and_problem(open_again().status(), data_file(), "truncated");
  EXPECT_EQ(std::filesystem::file_size(data_file()), 0u);  // and nothing was written to it
}

TEST_F(BadStorage, AGarbageDataFileIsNotTakenForLmdb) {
  fill();
  testing::Prng prng(11);
  std::string garbage;
  for (int i = 0; i < 64 * 1024; ++i) garbage.push_back(static_cast<char>(prng.next()));
  write_file(data_file(), garbage);
  expect_names_file_and_problem(open_again().status(), data_file(), "not an LMDB data file");
}

TEST_F(BadStorage, AnotherProgramsLmdbEnvironmentIsForeign) {
  store_.reset();
  testing::TempDir other;
  lmdb_put(other.path(), nullptr, {{"hello", "world"}, {"users", "42"}});
  auto store = Store::open(other.path(), fast_options());
  expect_names_file_and_problem(store.status(), other.path() + "/data.mdb", "not an mgraph store");

  testing::TempDir plain_meta;  // a plain key named like our database
  lmdb_put(plain_meta.path(), nullptr, {{"meta", "not a database"}});
  expect_names_file_and_problem(Store::open(plain_meta.path(), fast_options()).status(),
                                plain_meta.path() + "/data.mdb", "not an mgraph store");
}

TEST_F(BadStorage, AForeignMagicIsDetected) {
  store_.reset();
  testing::TempDir other;
  lmdb_put(other.path(), "meta", {{"magic", sealed_meta("magic", "some.other.program")}});
  expect_names_file_and_problem(Store::open(other.path(), fast_options()).status(),
                                other.path() + "/data.mdb", "magic is 'some.other.program'");
}

TEST_F(BadStorage, AnotherFormatVersionIsDetected) {
  fill();
  // A version from the future (this build writes format_version, reads back to 1).
  const std::string version_3("\0\0\0\3", 4);
  lmdb_put(store_dir(), "meta", {{"format_version", sealed_meta("format_version", version_3)}});
  auto store = open_again();
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::failed_precondition) << store.status().to_string();
  EXPECT_NE(store.status().message().find(data_file()), std::string::npos);
  EXPECT_NE(store.status().message().find("format version 3"), std::string::npos);
}

TEST_F(BadStorage, AMissingDatabaseIsReported) {
  fill();
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 8), 0);
  ASSERT_EQ(mdb_env_open(env, store_dir().c_str(), 0, 0644), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi = 0;
  ASSERT_EQ(mdb_dbi_open(txn, "ledger", 0, &dbi), 0);
  ASSERT_EQ(mdb_drop(txn, dbi, 1), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  expect_names_file_and_problem(open_again().status(), data_file(), "no 'ledger' database");
}

}  // namespace
}  // namespace mgraph::persistence
