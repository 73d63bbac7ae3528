// `cc-relay version` (and `--version`): the version and how this binary was built.

#include <iostream>

#include "cli/commands.h"

#ifndef CCR_VERSION
#define CCR_VERSION "dev"
#endif

// cli/CMakeLists.txt defines CCR_BUILD_TYPE from the CMake configuration.
#ifndef CCR_BUILD_TYPE
#ifdef NDEBUG
#define CCR_BUILD_TYPE "Release"
#else
#define CCR_BUILD_TYPE "Debug"
#endif
#endif

// cli/CMakeLists.txt: "tcmalloc" when the binary is linked with it (CCR_ALLOCATOR), else "system".
#ifndef CCR_ALLOCATOR_NAME
#define CCR_ALLOCATOR_NAME "system"
#endif

#if defined(__clang__)
#define CCR_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define CCR_COMPILER "GCC " __VERSION__
#else
#define CCR_COMPILER "unknown compiler"
#endif

namespace ccr::cli {

int run_version() {
    std::cout << "cc-relay " << CCR_VERSION << "\n"
              << "built " << CCR_BUILD_TYPE << " with " << CCR_COMPILER << ", C++"
              << (__cplusplus / 100) % 100 << "\n"
              << "allocator " << CCR_ALLOCATOR_NAME << "\n";
    return 0;
}

}  // namespace ccr::cli
