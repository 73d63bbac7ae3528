#include "shared/util/proc_title.h"

#include <cstdlib>
#include <cstring>
#include <algorithm>

extern char** environ;

namespace ccr::shared {
namespace {

char* g_begin = nullptr;  // argv[0]
char* g_end = nullptr;    // one past the last byte of the contiguous argv (+ environ) strings

}  // namespace

void init_proc_title(int argc, char** argv) {
    if (argc <= 0 || argv == nullptr || argv[0] == nullptr) return;
    char* end = argv[0] + std::strlen(argv[0]) + 1;
    for (int i = 1; i < argc; ++i) {
        if (argv[i] != end) break;  // not contiguous: stop where it is
        end = argv[i] + std::strlen(argv[i]) + 1;
    }
    // The environment strings usually follow argv: take their room too, after moving them to the
    // heap so getenv/setenv keep working.
    std::size_t n = 0;
    while (environ != nullptr && environ[n] != nullptr) ++n;
    if (n > 0 && environ[0] == end) {
        char** moved = static_cast<char**>(std::calloc(n + 1, sizeof(char*)));
        if (moved != nullptr) {
            for (std::size_t i = 0; i < n; ++i) {
                if (environ[i] == end) end = environ[i] + std::strlen(environ[i]) + 1;
                moved[i] = ::strdup(environ[i]);
            }
            environ = moved;  // kept for the life of the process
        }
    }
    g_begin = argv[0];
    g_end = end;
}

void set_proc_title(std::string_view title) {
    // The short name (comm) stays "cc-relay", so `pgrep cc-relay` and `top` still find them all.
    if (g_begin == nullptr) return;
    const std::size_t room = static_cast<std::size_t>(g_end - g_begin);
    const std::size_t n = std::min(title.size(), room - 1);
    std::memcpy(g_begin, title.data(), n);
    std::memset(g_begin + n, 0, room - n);
}

}  // namespace ccr::shared
