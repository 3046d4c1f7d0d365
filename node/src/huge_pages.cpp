#include "huge_pages.hpp"

#include <unistd.h>

#include <cstdlib>

namespace mgraph::node {

namespace {
/// The variable glibc reads its tunables from, and the one this sets.
constexpr const char* kTunables = "GLIBC_TUNABLES";
/// Huge pages for large allocations and the heap; the heap's top is neither given back
/// (trim) below 1 GiB nor grown by less than 64 MiB at a time: otherwise the heap shrinks
/// and grows again under load, and each time a huge page is faulted in and zeroed whole
/// (without these two, durable writes/s fell by a tenth).
constexpr const char* kHugePages =
    "glibc.malloc.hugetlb=1:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864";
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
