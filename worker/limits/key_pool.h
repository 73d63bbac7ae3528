#pragma once
// A provider's key pool (keys[], pooling.strategy): which upstream key a request uses. Every key
// has a row in the shared segment (KeyRow) with its GCRA buckets for requests, input tokens and
// output tokens per minute, a cooldown after an upstream 429, and what the upstream's
// anthropic-ratelimit-* headers taught; so the limits hold for the whole service.
//
// acquire() picks among keys that are not cooling down and have capacity, by strategy, and takes
// one request and the estimated input tokens from the chosen key; settle() corrects the input
// estimate and charges the output tokens from `usage` once the answer is known.

#include <atomic>
#include <cstdint>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "shared/stats/segment.h"

namespace ccr::worker::limits {

enum class PoolStrategy { least_loaded, round_robin, random, weighted };

/// Per-key policy from the config (plain numbers; 0: no limit of ours, but the upstream's own
/// limit once its headers have reported one).
struct KeyLimits {
    std::int64_t rpm = 0;
    std::int64_t itpm = 0;
    std::int64_t otpm = 0;
    int weight = 1;  // `weighted`: share of the picks
};

struct PoolKey {
    shared::stats::KeyRow* row = nullptr;  // Segment::find_key_row of (provider, fingerprint)
    KeyLimits limits;
};

/// What an upstream's anthropic-ratelimit-* headers said about one limit (-1: absent).
struct LimitReport {
    std::int64_t limit = -1;
    std::int64_t remaining = -1;
    std::int64_t reset_at_ms = -1;  // monotonic (convert from the header's wall time)
};
struct RateLimitReport {
    LimitReport requests, input_tokens, output_tokens;
};

class KeyPool {
  public:
    /// `cursor` is ProviderState::key_cursor of the provider's row (round robin and tie breaks).
    KeyPool(std::vector<PoolKey> keys, PoolStrategy strategy, std::atomic<std::uint64_t>& cursor);

    struct Pick {
        int index = -1;                // the key taken; -1: none available
        std::int64_t retry_at_ms = 0;  // index < 0: when the first key is available again
    };
    /// Picks a key and takes one request and `estimated_input` tokens from it. `random` is a
    /// fresh random draw (used by `random` and `weighted`).
    Pick acquire(std::int64_t estimated_input, std::int64_t now_ms, std::uint64_t random);
    /// The answer's usage: gives back or adds the difference to the input estimate, charges the
    /// output tokens.
    void settle(int index,
                std::int64_t estimated_input,
                std::int64_t input_tokens,
                std::int64_t output_tokens,
                std::int64_t now_ms);
    /// The upstream answered 429: the key rests until `until_ms` (never shortened).
    void cooldown(int index, std::int64_t until_ms);
    /// The upstream's anthropic-ratelimit-* headers: tightens the key's buckets, never refills.
    void learn(int index, const RateLimitReport& report, std::int64_t now_ms);

    /// Whether key `index` could take a request of `estimated_input` tokens now.
    bool can_take(int index, std::int64_t estimated_input, std::int64_t now_ms) const;
    /// When key `index` can take such a request (now_ms when it can now).
    std::int64_t ready_at_ms(int index, std::int64_t estimated_input, std::int64_t now_ms) const;
    std::size_t size() const { return keys_.size(); }

  private:
    /// Share of the key's capacity still free (0..1), the least-loaded measure.
    double free_share(int index, std::int64_t now_ms) const;
    bool take(int index, std::int64_t estimated_input, std::int64_t now_ms);
    // Index lists live on the stack for pools of up to kInline keys (no allocation per request).
    static constexpr std::size_t kInline = 16;
    using Indices = boost::container::small_vector<int, kInline>;
    Indices order(const Indices& eligible, std::int64_t now_ms, std::uint64_t random);

    std::vector<PoolKey> keys_;
    PoolStrategy strategy_;
    std::atomic<std::uint64_t>& cursor_;
};

}  // namespace ccr::worker::limits
