// The node's heap on transparent huge pages (node/src/huge_pages.hpp): a running mgraphd
// has memory its allocator took from the system advised MADV_HUGEPAGE, which the kernel
// shows as the "hg" flag of the mapping in /proc/PID/smaps. Whatever the allocator
// (tcmalloc, whose system allocator the node wraps, or glibc with its tunable), a node
// without it would restore checkpoints on 4 KiB pages, many times slower on some machines,
// and nothing else would show it. Not built under the sanitizers, whose allocator is
// neither.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "support/child_process.hpp"
#include "support/node_processes.hpp"

namespace mgraph::node {
namespace {

using mgraph::testing::ChildProcess;

constexpr int kSilenceMs = 60'000;  ///< watchdog on every wait for the node

/// The mappings of process `pid` whose VmFlags include "hg", and the total of mappings.
std::pair<int, int> advised_mappings(pid_t pid) {
  std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
  std::string line;
  int advised = 0, mappings = 0;
  while (std::getline(smaps, line)) {
    if (line.rfind("VmFlags:", 0) != 0) continue;
    ++mappings;
    std::istringstream flags(line.substr(8));
    for (std::string flag; flags >> flag;) {
      if (flag == "hg") ++advised;
    }
  }
  return {advised, mappings};
}

TEST(NodeMemory, TheHeapOfARunningNodeIsAdvisedForHugePages) {
  const std::filesystem::path dir = mgraph::testing::fresh_test_dir("mgraph_memory");
  std::ofstream(dir / "s.mgs") << "entity Account { balance: float = 0 }\n";
  std::ofstream(dir / "cluster.toml") << "[cluster]\nschema = \"s.mgs\"\npartitions = 1\n\n"
                                         "[[node]]\nname = \"n1\"\ncoordinator = true\n"
                                         "partitions = [0]\n";
  ChildProcess node = ChildProcess::spawn(
      {MGRAPHD_BINARY, "--config", (dir / "cluster.toml").string(), "--node", "n1"}, true);
  ASSERT_TRUE(node.read_until(": ready", kSilenceMs)) << node.printed;

  const auto [advised, mappings] = advised_mappings(node.pid);
  EXPECT_GT(mappings, 0) << "no /proc/" << node.pid << "/smaps";
  EXPECT_GE(advised, 1) << "none of the node's " << mappings
                        << " mappings is advised for huge pages (VmFlags hg)";

  mgraph::testing::kill_all({&node}, kSilenceMs);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mgraph::node
