#pragma once
// Split points for the harnesses that check "the same answer whatever the chunking": derived
// from the input itself, so a corpus file (a plain stream, readable as is) replays the same
// splits everywhere.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ccr::fuzz {

/// Up to `n` increasing cut points in (0, size), from an FNV-1a hash of `data`.
inline std::vector<std::size_t> cut_points(std::string_view data, int n) {
    std::vector<std::size_t> cuts;
    if (data.size() < 2) return cuts;
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
    for (int i = 0; i < n; ++i) {
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ull;
        cuts.push_back(1 + static_cast<std::size_t>(h % (data.size() - 1)));
    }
    std::sort(cuts.begin(), cuts.end());
    return cuts;
}

/// `data` cut at `cuts` (pieces may be empty where cuts repeat).
inline std::vector<std::string_view> pieces(std::string_view data, const std::vector<std::size_t>& cuts) {
    std::vector<std::string_view> out;
    std::size_t from = 0;
    for (std::size_t c : cuts) {
        out.push_back(data.substr(from, c - from));
        from = c;
    }
    out.push_back(data.substr(from));
    return out;
}

}  // namespace ccr::fuzz
