// The coordinator's epoch log in LMDB with its write-ahead file (lmdb_epoch_log.hpp,
// epoch_wal.hpp): a group is durable in the file alone and read back after a process that
// never moved it into the store; the store takes the file's entries with every write of its
// own, and the file is written from its start again without its old records being read; a
// write that fails is never read back; a torn record ends the reading (also torn at random,
// 300 seeds); a file beside another store is not read.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lmdb_epoch_log.hpp"
#include "mgraph/graph/prng.hpp"
#include "mgraph/persistence/store.hpp"
#include "support/scratch_dir.hpp"

namespace mgraph::node {
namespace {

void expect_ok(const Status& s) { EXPECT_TRUE(s.is_ok()) << s.to_string(); }

std::string batch_of(codec::Epoch epoch, std::size_t bytes = 24) {
  std::string b = "epoch " + std::to_string(epoch) + " ";
  b.resize(std::max(bytes, b.size()), static_cast<char>('a' + epoch % 26));
  return b;
}

class EpochLogTest : public ::testing::Test {
 protected:
  /// Opens the log in the scratch directory; its file's syncs fail while `fail_syncs_` > 0
  /// (each failure counts one down), and do nothing while `skip_syncs_` (a test of many
  /// groups: what is read back does not depend on the sync).
  std::unique_ptr<LmdbEpochLog> open() {
    auto log = LmdbEpochLog::open(
        dir_.sub("log"), [this] { return ++clock_; },
        [this](int fd) {
          if (fail_syncs_ > 0) {
            --fail_syncs_;
            return EIO;
          }
          if (skip_syncs_) return 0;
          return ::fdatasync(fd) == 0 ? 0 : errno;
        });
    EXPECT_TRUE(log.is_ok()) << log.status().message();
    return log.is_ok() ? std::move(log).value() : nullptr;
  }
  static std::vector<std::pair<codec::Epoch, std::string>> replayed(LmdbEpochLog& log) {
    std::vector<std::pair<codec::Epoch, std::string>> out;
    expect_ok(log.replay([&](codec::Epoch e, std::string_view b) {
      out.emplace_back(e, std::string(b));
      return Status::ok();
    }));
    return out;
  }
  static std::vector<std::pair<codec::Epoch, std::string>> expected(codec::Epoch first,
                                                                    codec::Epoch last,
                                                                    std::size_t bytes = 24) {
    std::vector<std::pair<codec::Epoch, std::string>> out;
    for (codec::Epoch e = first; e <= last; ++e) out.emplace_back(e, batch_of(e, bytes));
    return out;
  }
  static void append(LmdbEpochLog& log, codec::Epoch first, codec::Epoch last,
                     std::size_t bytes = 24) {
    std::vector<std::string> batches;
    for (codec::Epoch e = first; e <= last; ++e) batches.push_back(batch_of(e, bytes));
    std::vector<std::pair<codec::Epoch, std::string_view>> group;
    for (codec::Epoch e = first; e <= last; ++e) group.emplace_back(e, batches[e - first]);
    expect_ok(log.append_group(group));
  }
  /// Closes `log` (as a killed process: nothing held moves), checks that the store itself
  /// holds `stored` epochs, and opens it again (null if it failed: recorded).
  void reopen(std::unique_ptr<LmdbEpochLog>& log, std::uint64_t stored) {
    log.reset();
    EXPECT_EQ(store_last(), stored);
    log = open();
  }
  /// The last epoch the LMDB store itself holds (the log closed).
  std::uint64_t store_last() {
    persistence::StoreOptions options;
    options.create_if_missing = false;
    auto store = persistence::Store::open(dir_.sub("log"), options);
    EXPECT_TRUE(store.is_ok()) << store.status().message();
    if (!store.is_ok()) return 0;
    auto last = (*store)->last_epoch();
    EXPECT_TRUE(last.is_ok());
    return last.is_ok() ? *last : 0;
  }

  testing::ScratchDir dir_{"mgraph_epoch_log"};
  std::uint64_t clock_ = 0;
  int fail_syncs_ = 0;
  bool skip_syncs_ = false;
};

TEST_F(EpochLogTest, AGroupIsDurableInTheFileAloneAndMovesIntoTheStoreWhenTheLogOpensAgain) {
  {
    auto log = open();
    ASSERT_NE(log, nullptr);
    append(*log, 1, 3);
    append(*log, 4, 4);
    expect_ok(log->append(5, batch_of(5)));
    EXPECT_EQ(log->held(), 5u);
    EXPECT_EQ(*log->last(), 5u);
    EXPECT_EQ(replayed(*log), expected(1, 5));
  }  // gone without moving anything, as a killed process
  EXPECT_EQ(store_last(), 0u);
  auto log = open();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->held(), 0u);
  EXPECT_EQ(*log->last(), 5u);
  EXPECT_EQ(replayed(*log), expected(1, 5));
  // The file is written from its start again: the old records are not read after new ones.
  append(*log, 6, 7);
  reopen(log, 5);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(replayed(*log), expected(1, 7));
}

TEST_F(EpochLogTest, EveryWriteOfTheStoreTakesTheHeldEntriesAndTheFileStartsAgain) {
  auto log = open();
  ASSERT_NE(log, nullptr);
  append(*log, 1, 2);
  expect_ok(log->compact(2));  // a checkpoint at 1: the store writes, with 1 and 2
  EXPECT_EQ(log->held(), 0u);
  append(*log, 3, 3);
  EXPECT_EQ(log->held(), 1u);
  // A group larger than kEpochWalGroupBytesMax goes to the store, with what is held.
  append(*log, 4, 4, kEpochWalGroupBytesMax + 1);
  EXPECT_EQ(log->held(), 0u);
  // Groups of 32 KiB fill the file: the one that does not fit moves them all.
  const std::size_t kib32 = std::size_t{32} << 10;
  const codec::Epoch fit = kEpochWalBytes / EpochWal::record_bytes(kib32);
  for (codec::Epoch e = 5; e < 5 + fit; ++e) append(*log, e, e, kib32);
  EXPECT_EQ(log->held(), static_cast<std::size_t>(fit));
  append(*log, 5 + fit, 5 + fit, kib32);
  EXPECT_EQ(log->held(), 0u);
  append(*log, 6 + fit, 6 + fit);
  EXPECT_EQ(log->held(), 1u);
  reopen(log, 5 + fit);
  ASSERT_NE(log, nullptr);
  const auto all = replayed(*log);
  ASSERT_EQ(all.size(), 5 + fit);  // from 2: compaction dropped 1
  for (std::size_t i = 0; i < all.size(); ++i) {
    const codec::Epoch e = i + 2;
    const std::size_t bytes = e == 4                     ? kEpochWalGroupBytesMax + 1
                              : (e >= 5 && e <= 5 + fit) ? kib32
                                                         : 24;
    EXPECT_EQ(all[i].first, e);
    EXPECT_TRUE(all[i].second == batch_of(e, bytes)) << "epoch " << e;
  }
}

TEST_F(EpochLogTest, NoMoreThanKWalEntriesMaxWaitInTheFile) {
  skip_syncs_ = true;
  auto log = open();
  ASSERT_NE(log, nullptr);
  for (codec::Epoch e = 1; e <= kWalEntriesMax; ++e) expect_ok(log->append(e, "x"));
  EXPECT_EQ(log->held(), kWalEntriesMax);
  expect_ok(log->append(kWalEntriesMax + 1, "x"));  // one too many: all move, with it
  EXPECT_EQ(log->held(), 0u);
  expect_ok(log->append(kWalEntriesMax + 2, "x"));
  EXPECT_EQ(log->held(), 1u);
  reopen(log, kWalEntriesMax + 1);
  ASSERT_NE(log, nullptr);
  const auto all = replayed(*log);
  ASSERT_EQ(all.size(), kWalEntriesMax + 2);
  EXPECT_EQ(all.back().first, kWalEntriesMax + 2);
}

TEST_F(EpochLogTest, AGroupWhoseSyncFailedIsNeverReadBackAndTheNextIsWrittenInItsPlace) {
  auto log = open();
  ASSERT_NE(log, nullptr);
  append(*log, 1, 2);
  fail_syncs_ = 1;  // the group's sync fails, its unwriting succeeds
  std::vector<std::pair<codec::Epoch, std::string_view>> group{{3, "three"}, {4, "four"}};
  const Status failed = log->append_group(group);
  EXPECT_EQ(failed.code(), StatusCode::io_error);
  EXPECT_NE(failed.message().find("cannot log epochs 3-4"), std::string::npos) << failed.message();
  EXPECT_EQ(*log->last(), 2u);
  reopen(log, 0);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(replayed(*log), expected(1, 2));
  // Written after a failure that could not be unwritten either: the file is not written
  // again, the store takes every group.
  append(*log, 3, 3);
  fail_syncs_ = 2;
  EXPECT_FALSE(log->append(4, "four").is_ok());
  append(*log, 4, 5);
  EXPECT_EQ(log->held(), 0u);
  reopen(log, 5);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(replayed(*log), expected(1, 5));
}

TEST_F(EpochLogTest, ATornRecordEndsTheReadingAndAFileBesideAnotherStoreIsNotRead) {
  {
    auto log = open();
    ASSERT_NE(log, nullptr);
    append(*log, 1, 3);
  }
  const std::string wal = dir_.sub("log/epochs.wal");
  const std::string kept = dir_.sub("kept.wal");
  std::filesystem::copy_file(wal, kept);
  {
    // One byte of the third record's batch changed: epochs 1 and 2 only.
    std::fstream f(wal, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(2 * EpochWal::record_bytes(24) + kEpochWalHeaderBytes + 3));
    f.put('#');
  }
  {
    auto log = open();
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(replayed(*log), expected(1, 2));
  }
  // A new store in another directory with the first one's file: nothing of it is read.
  std::filesystem::remove_all(dir_.sub("log"));
  const std::size_t large = kEpochWalGroupBytesMax + 1;  // written to the store itself
  {
    auto log = open();
    ASSERT_NE(log, nullptr);
    append(*log, 1, 1, large);
    EXPECT_EQ(log->held(), 0u);
  }
  std::filesystem::copy_file(kept, wal, std::filesystem::copy_options::overwrite_existing);
  auto log = open();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(replayed(*log), expected(1, 1, large));
}

TEST_F(EpochLogTest, AWriteAheadPathThatIsNotAFileIsRefusedNamingIt) {
  std::filesystem::create_directories(dir_.sub("log/epochs.wal"));
  auto log = LmdbEpochLog::open(dir_.sub("log"), [] { return std::uint64_t{1}; });
  ASSERT_FALSE(log.is_ok());
  EXPECT_NE(log.status().message().find("epochs.wal"), std::string::npos) << log.status().message();
}

// Torn writes, as a crash during a group's write may leave them: the file's last group
// damaged at random (bytes changed, a range overwritten, its end zeroed) after earlier
// groups were synced. Every earlier group is read back whole, and of the last group exactly
// the records before the first one whose checked bytes changed; nothing after it, nothing
// altered. 300 seeds.
TEST_F(EpochLogTest, ATornLastGroupKeepsEveryEarlierGroupAndItsRecordsBeforeTheFirstDamagedOne) {
  constexpr std::size_t kCapacity = 64 * 1024;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Prng prng(seed);
    const std::string path = dir_.sub("torn-" + std::to_string(seed) + ".wal");
    auto wal = EpochWal::open(path, 42, kCapacity);
    ASSERT_TRUE(wal.is_ok()) << wal.status().message();
    // Groups of 1-4 epochs of 1-3,000 bytes while they fit; the last one is torn.
    std::vector<std::vector<std::pair<codec::Epoch, std::string>>> groups;
    std::vector<std::size_t> group_start;
    codec::Epoch epoch = 0;
    for (int g = 0, n = 1 + static_cast<int>(prng.below(6)); g < n; ++g) {
      std::vector<std::pair<codec::Epoch, std::string>> group;
      std::size_t bytes = 0;
      for (std::uint64_t k = 0, m = 1 + prng.below(4); k < m; ++k) {
        std::string b(1 + prng.below(3000), '\0');
        for (char& c : b) c = static_cast<char>(1 + prng.below(255));
        bytes += EpochWal::record_bytes(b.size());
        group.emplace_back(++epoch, std::move(b));
      }
      if (!(*wal)->fits(bytes)) break;
      std::vector<std::pair<codec::Epoch, std::string_view>> views(group.begin(), group.end());
      group_start.push_back((*wal)->used());
      expect_ok((*wal)->append(views, 1000 + epoch));
      groups.push_back(std::move(group));
    }
    ASSERT_FALSE(groups.empty());
    wal->reset();
    const std::size_t start = group_start.back();
    std::string before(kCapacity, '\0');
    {
      std::ifstream in(path, std::ios::binary);
      in.read(before.data(), static_cast<std::streamsize>(before.size()));
    }
    std::string after = before;
    std::size_t end = start;
    for (const auto& [e, b] : groups.back()) end += EpochWal::record_bytes(b.size());
    switch (prng.below(3)) {
      case 0:  // a few bytes changed
        for (std::uint64_t k = 0, n = 1 + prng.below(3); k < n; ++k) {
          after[start + prng.below(end - start)] ^= static_cast<char>(1 + prng.below(255));
        }
        break;
      case 1: {  // a range overwritten
        const std::size_t from = start + prng.below(end - start);
        const std::size_t to = from + prng.below(end - from) + 1;
        for (std::size_t i = from; i < to; ++i) after[i] = static_cast<char>(prng.below(256));
        break;
      }
      default: {  // its end never written
        const std::size_t from = start + prng.below(end - start);
        std::fill(after.begin() + static_cast<std::ptrdiff_t>(from),
                  after.begin() + static_cast<std::ptrdiff_t>(end), '\0');
      }
    }
    {
      std::ofstream out(path, std::ios::binary | std::ios::in | std::ios::out);
      out.write(after.data(), static_cast<std::streamsize>(after.size()));
    }
    // What must be read: every earlier group, then the last group's records up to the
    // first whose checked bytes (header and batch, not the padding) changed.
    std::vector<codec::Epoch> expected_epochs;
    for (std::size_t g = 0; g + 1 < groups.size(); ++g) {
      for (const auto& [e, b] : groups[g]) expected_epochs.push_back(e);
    }
    std::size_t at = start;
    for (const auto& [e, b] : groups.back()) {
      const std::size_t checked = kEpochWalHeaderBytes + b.size();
      if (before.compare(at, checked, after, at, checked) != 0) break;
      expected_epochs.push_back(e);
      at += EpochWal::record_bytes(b.size());
    }
    auto reopened = EpochWal::open(path, 42, kCapacity);
    ASSERT_TRUE(reopened.is_ok()) << reopened.status().message();
    auto read = (*reopened)->read();
    ASSERT_TRUE(read.is_ok()) << read.status().message();
    std::vector<codec::Epoch> got;
    for (const WalEntry& w : *read) got.push_back(w.epoch);
    ASSERT_EQ(got, expected_epochs);
    std::size_t i = 0;
    for (const auto& group : groups) {
      for (const auto& [e, b] : group) {
        if (i < read->size() && (*read)[i].epoch == e) {
          EXPECT_TRUE((*read)[i].batch == b) << "epoch " << e;
          ++i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace mgraph::node
