#include "huge_pages.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(MGRAPH_TCMALLOC)
#include <gperftools/malloc_extension.h>
#endif

namespace mgraph::node {

namespace {

#if defined(MGRAPH_TCMALLOC)

/// The size of a transparent huge page on x86-64 and the alignment the kernel needs to back
/// a range with one.
constexpr std::size_t kHugePage = std::size_t{2} << 20;

/// tcmalloc's source of memory, wrapped: each request is rounded up to whole huge pages,
/// aligned to one, and advised MADV_HUGEPAGE. tcmalloc asks for memory in runs of at least
/// 1 MiB, so the rounding costs at most 1 MiB per run. Called with tcmalloc's lock held: it
/// must not allocate (madvise is a system call; a failed one only leaves 4 KiB pages).
class HugePageSystemAllocator final : public SysAllocator {
 public:
  explicit HugePageSystemAllocator(SysAllocator* next) : next_(next) {}

  void* Alloc(std::size_t size, std::size_t* actual_size, std::size_t alignment) override {
    const std::size_t rounded = (size + kHugePage - 1) & ~(kHugePage - 1);
    if (rounded < size) return nullptr;  // overflow
    void* p = next_->Alloc(rounded, actual_size, std::max(alignment, kHugePage));
    if (p == nullptr) return next_->Alloc(size, actual_size, alignment);  // as tcmalloc would
    ::madvise(p, *actual_size, MADV_HUGEPAGE);
    return p;
  }

 private:
  SysAllocator* next_;
};

void advise_tcmalloc_regions() {
  MallocExtension* tcmalloc = MallocExtension::instance();
  SysAllocator* next = tcmalloc->GetSystemAllocator();
  if (next == nullptr) return;  // an allocator without the hook: nothing to wrap
  // Static storage: tcmalloc keeps the pointer for the life of the process.
  alignas(HugePageSystemAllocator) static unsigned char storage[sizeof(HugePageSystemAllocator)];
  tcmalloc->SetSystemAllocator(new (storage) HugePageSystemAllocator(next));
  if (std::getenv("TCMALLOC_RELEASE_RATE") == nullptr) tcmalloc->SetMemoryReleaseRate(0);
}

#elif !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)

/// The variable glibc reads its tunables from, and the one this sets.
constexpr const char* kTunables = "GLIBC_TUNABLES";
/// Huge pages for large allocations and the heap; the heap's top is neither given back
/// (trim) below 1 GiB nor grown by less than 64 MiB at a time: otherwise the heap shrinks
/// and grows again under load, and each time a huge page is faulted in and zeroed whole
/// (without these two, durable writes/s fell by a tenth).
constexpr const char* kHugePages =
    "glibc.malloc.hugetlb=1:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864";

void restart_with_glibc_tunables(char** argv) {
  if (argv == nullptr || argv[0] == nullptr || std::getenv(kTunables) != nullptr) return;
  if (::setenv(kTunables, kHugePages, 0) != 0) return;
  ::execv("/proc/self/exe", argv);
  // Not executed (no /proc): go on as started, and leave the environment as it was.
  ::unsetenv(kTunables);
}

#endif

}  // namespace

void use_huge_pages(char** argv) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  (void)argv;  // the sanitizer's allocator replaces the program's
#elif defined(MGRAPH_TCMALLOC)
  (void)argv;
  advise_tcmalloc_regions();
#else
  restart_with_glibc_tunables(argv);
#endif
}

}  // namespace mgraph::node
