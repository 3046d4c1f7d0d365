#pragma once
// Assertions that stay on in release builds: a broken invariant stops the process
// with its location instead of corrupting state silently.

#include <cstdio>
#include <cstdlib>

#define MG_ASSERT(cond)                                                                  \
  do {                                                                                   \
    if (__builtin_expect(!(cond), 0)) {                                                  \
      std::fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

#define MG_ASSERT_MSG(cond, msg)                                                          \
  do {                                                                                    \
    if (__builtin_expect(!(cond), 0)) {                                                   \
      std::fprintf(stderr, "%s:%d: assertion failed: %s (%s)\n", __FILE__, __LINE__, #cond, \
                   msg);                                                                  \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)
