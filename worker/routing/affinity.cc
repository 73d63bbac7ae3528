#include "worker/routing/affinity.h"

namespace ccr::worker::routing {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;
// value: tag (bits 48-63, from the hash) | row + 1 (bits 40-47) | monotonic ms (bits 0-39).
constexpr std::uint64_t kTimeMask = (1ULL << 40) - 1;

std::uint64_t tag_of(std::uint64_t session) { return session >> 48; }

}  // namespace

AffinityTable::AffinityTable(std::span<shared::stats::AffinityEntry> entries,
                             const shared::Clock& clock,
                             std::int64_t ttl_ms)
    : entries_(entries), clock_(clock), ttl_ms_(ttl_ms) {}

std::uint64_t AffinityTable::hash(std::string_view session_id) {
    // FNV-1a, then a final mix: stable across processes and builds, unlike std::hash.
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const char c : session_id) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h == 0 ? 1 : h;
}

std::uint64_t AffinityTable::encode(std::uint64_t session, int row) const {
    const auto now = static_cast<std::uint64_t>(std::max<std::int64_t>(clock_.mono_ms(), 1));
    return tag_of(session) << 48 | static_cast<std::uint64_t>(row + 1) << 40 | (now & kTimeMask);
}

std::optional<int> AffinityTable::decode(std::uint64_t session,
                                         std::uint64_t value,
                                         std::int64_t now) const {
    if (value == 0 || value >> 48 != tag_of(session)) return std::nullopt;
    const auto written = static_cast<std::int64_t>(value & kTimeMask);
    if (now - written >= ttl_ms_) return std::nullopt;
    return static_cast<int>((value >> 40) & 0xff) - 1;
}

std::optional<int> AffinityTable::find(std::uint64_t session) const {
    if (entries_.empty() || session == 0) return std::nullopt;
    const std::int64_t now = clock_.mono_ms();
    const std::size_t n = entries_.size();
    for (std::size_t i = 0; i < std::min(kProbe, n); ++i) {
        const auto& e = entries_[(session + i) % n];
        if (e.key.load(std::memory_order_acquire) != session) continue;
        return decode(session, e.value.load(std::memory_order_acquire), now);
    }
    return std::nullopt;
}

void AffinityTable::remember(std::uint64_t session, int row) {
    if (entries_.empty() || session == 0 || row < 0 || row >= 255) return;
    const std::int64_t now = clock_.mono_ms();
    const std::size_t n = entries_.size();
    const std::uint64_t value = encode(session, row);
    // The session's own entry, else the first free or expired one, else the oldest of the window.
    shared::stats::AffinityEntry* reuse = nullptr;
    std::int64_t oldest = 0;
    for (std::size_t i = 0; i < std::min(kProbe, n); ++i) {
        auto& e = entries_[(session + i) % n];
        const std::uint64_t key = e.key.load(std::memory_order_acquire);
        if (key == session) {
            e.value.store(value, std::memory_order_release);
            return;
        }
        const std::uint64_t v = e.value.load(kRelaxed);
        const auto written = static_cast<std::int64_t>(v & kTimeMask);
        const bool free = key == 0 || v == 0 || now - written >= ttl_ms_;
        if (free) {
            reuse = &e;
            break;
        }
        if (reuse == nullptr || written < oldest) {
            reuse = &e;
            oldest = written;
        }
    }
    // Another worker may take the same entry at the same time: the CAS makes one key win, and a
    // loser's session simply goes unremembered this turn.
    std::uint64_t seen = reuse->key.load(kRelaxed);
    if (seen != session && !reuse->key.compare_exchange_strong(seen, session, std::memory_order_acq_rel)) {
        if (seen != session) return;
    }
    reuse->value.store(value, std::memory_order_release);
}

}  // namespace ccr::worker::routing
