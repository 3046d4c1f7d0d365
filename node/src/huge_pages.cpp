#include "huge_pages.hpp"

#include <unistd.h>

#include <cstdlib>

namespace mgraph::node {

namespace {
/// The variable glibc reads its tunables from, and the one this sets.
constexpr const char* kTunables = "GLIBC_TUNABLES";
constexpr const char* kHugePages = "glibc.malloc.hugetlb=1";
}  // namespace

void restart_with_huge_pages(char** argv) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  (void)argv;  // the sanitizer's allocator replaces glibc's: the tunable means nothing
#else
  if (argv == nullptr || argv[0] == nullptr || std::getenv(kTunables) != nullptr) return;
  if (::setenv(kTunables, kHugePages, 0) != 0) return;
  ::execv("/proc/self/exe", argv);
  // Not executed (no /proc): go on as started, and leave the environment as it was.
  ::unsetenv(kTunables);
#endif
}

}  // namespace mgraph::node
