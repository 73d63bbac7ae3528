#pragma once
// What the harnesses assert with: an invariant that does not hold prints where and why and
// aborts, which libFuzzer reports as a crash (and saves the input) and the corpus replay as a
// failed test. Not assert(): it must hold in release builds too.

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, ...)                                                     \
    do {                                                                          \
        if (!(cond)) {                                                            \
            std::fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__,       \
                         __LINE__, #cond);                                        \
            std::fprintf(stderr, __VA_ARGS__);                                    \
            std::fputc('\n', stderr);                                             \
            std::abort();                                                         \
        }                                                                         \
    } while (0)
