#pragma once
// Large allocations on transparent huge pages. A node restoring a checkpoint decodes images
// of hundreds of megabytes into fresh memory, and on a virtual machine each first touch of
// a 4 KiB page is a costly fault: a third of a checkpoint's save and restore time went to
// the kernel. With Debian's transparent huge pages in "madvise" mode, memory is backed by
// 2 MiB pages only where the program asks (madvise(MADV_HUGEPAGE)), so the programs that
// load checkpoints (mgraphd, mgraph) ask for it for what their allocator takes from the
// system (docs/DECISIONS.md, "Huge pages for the allocator", "tcmalloc for the programs").

namespace mgraph::node {

/// Puts the program's heap on transparent huge pages. Call it first in main(), before any
/// thread starts; `argv` is main's, ending in a null pointer.
///
/// Linked with tcmalloc (MGRAPH_TCMALLOC): every region tcmalloc takes from the system is
/// taken in whole, aligned 2 MiB pages and advised MADV_HUGEPAGE (huge_pages.cpp). Unless
/// the operator set TCMALLOC_RELEASE_RATE, tcmalloc then keeps the memory it freed instead
/// of giving it back page by page: a given-back 8 KiB page splits its huge page, and is
/// faulted in again under load.
///
/// With glibc's allocator: replaces the process by the same program with the same arguments
/// and GLIBC_TUNABLES set to glibc.malloc.hugetlb=1 (with a heap that is not trimmed below
/// 1 GiB and grows by 64 MiB at least), when GLIBC_TUNABLES is not set at all (an operator
/// who sets it, even empty, keeps what they set); returns, changing nothing, when the
/// variable is set or the program cannot be executed again.
///
/// In a sanitizer build (its allocator is neither) it does nothing.
void use_huge_pages(char** argv);

}  // namespace mgraph::node
