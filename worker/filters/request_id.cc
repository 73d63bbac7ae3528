#include "worker/filters/request_id.h"

#include <cstdint>
#include <random>

namespace ccr::worker::filters {

std::string new_request_id() {
    static std::mt19937_64 rng{std::random_device{}()};
    std::uint64_t a = rng(), b = rng();
    a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
    b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
    // Hex by hand: snprintf was a visible share of a small request's instructions.
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(36, '-');
    std::size_t pos = 0;
    auto put = [&](std::uint64_t v, int nibbles) {
        for (int i = nibbles - 1; i >= 0; --i) out[pos++] = kHex[(v >> (4 * i)) & 0xf];
    };
    put(a >> 32, 8);
    ++pos;
    put(a >> 16, 4);
    ++pos;
    put(a, 4);
    ++pos;
    put(b >> 48, 4);
    ++pos;
    put(b, 12);
    return out;
}

bool acceptable_request_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok) return false;
    }
    return true;
}

}  // namespace ccr::worker::filters
