#include "worker/filters/request_id.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <random>

namespace ccr::worker::filters {

// Two hex digits for each byte value: one table load per byte of the id.
constexpr std::array<char, 512> kHexPairs = [] {
    constexpr char kHex[] = "0123456789abcdef";
    std::array<char, 512> t{};
    for (std::size_t b = 0; b < 256; ++b) {
        t[2 * b] = kHex[b >> 4];
        t[2 * b + 1] = kHex[b & 0xf];
    }
    return t;
}();

std::string new_request_id() {
    static std::mt19937_64 rng{std::random_device{}()};
    std::uint64_t a = rng(), b = rng();
    a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
    b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
    // Hex by table: snprintf, then a digit at a time, were visible in a small request's instructions.
    std::string out(36, '-');
    char* p = out.data();
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) ++p;  // the dashes of 8-4-4-4-12
        const std::uint64_t word = i < 8 ? a : b;
        const auto byte = static_cast<std::size_t>((word >> (56 - 8 * (i % 8))) & 0xff);
        std::memcpy(p, &kHexPairs[2 * byte], 2);
        p += 2;
    }
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
