#pragma once
// Large allocations on transparent huge pages. A node restoring a checkpoint decodes images
// of hundreds of megabytes into fresh memory, and on a virtual machine each first touch of
// a 4 KiB page is a costly fault: a third of a checkpoint's save and restore time went to
// the kernel. glibc's allocator asks for huge pages (madvise) only when the tunable
// glibc.malloc.hugetlb=1 is set when the process starts, so the programs that load
// checkpoints (mgraphd, mgraph) start again with it set (docs/DECISIONS.md, "Huge pages
// for the allocator").

namespace mgraph::node {

/// Replaces the process by the same program with the same arguments and GLIBC_TUNABLES
/// set to glibc.malloc.hugetlb=1 (with a heap that is not trimmed below 1 GiB and grows by
/// 64 MiB at least, huge_pages.cpp), when GLIBC_TUNABLES is not set at all (an
/// operator who sets it, even empty, keeps what they set). Returns, changing nothing, when
/// the variable is set, in a sanitizer build (its allocator is not glibc's), or when the
/// program cannot be executed again. Call it first in main(), before any thread starts.
/// `argv` is main's, ending in a null pointer.
void restart_with_huge_pages(char** argv);

}  // namespace mgraph::node
