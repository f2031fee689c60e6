// AMBIT_CHECK: abort on a broken invariant (Envoy's RELEASE_ASSERT bucket).
// Use only for "cannot happen after startup"; input and environment failures
// are returned as Result errors instead.
#pragma once

#include <cstdio>
#include <cstdlib>

#define AMBIT_CHECK(cond, msg)                                                        \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: check failed: %s: %s\n", __FILE__, __LINE__, #cond, \
                   msg);                                                              \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)
