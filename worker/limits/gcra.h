#pragma once
// GCRA (the generic cell rate algorithm): a token bucket kept as one number, the "theoretical
// arrival time" (TAT), in an atomic<int64> of the shared segment, so a limit of 60 per minute is
// 60 for the whole service. The bucket is full when TAT <= now; taking n units moves TAT by n
// emission intervals; a take is allowed while TAT stays within one period of now. Times are
// monotonic; the TAT is kept in nanoseconds so that token limits (emission intervals of a few
// microseconds) stay exact enough.

#include <atomic>
#include <cstdint>

namespace ccr::worker::limits {

class Gcra {
  public:
    /// `limit` units per `period_ms`, all of them available at once (burst = limit).
    /// limit <= 0: unlimited (every take succeeds, nothing is written).
    Gcra(std::atomic<std::int64_t>& tat, std::int64_t limit, std::int64_t period_ms = 60'000);

    struct Take {
        bool ok = false;
        std::int64_t retry_after_ms = 0;  // when !ok: how long until `n` units are available
    };
    /// Takes `n` units if available now. A request larger than the whole bucket is admitted when
    /// the bucket is full (and charged in full), else it could never pass.
    Take try_take(std::int64_t n, std::int64_t now_ms);
    /// Charges `n` units whatever the state: positive for usage found afterwards, negative to
    /// give back an over-estimate. The bucket never holds more than `limit`.
    void charge(std::int64_t n, std::int64_t now_ms);
    /// What the upstream reported: `remaining` units now, and full again at `reset_at_ms`
    /// (monotonic; -1: unknown). Only ever tightens — moves TAT later — never refills.
    /// Returns whether it changed anything.
    bool learn(std::int64_t remaining, std::int64_t reset_at_ms, std::int64_t now_ms);

    /// Units available now (limit when unlimited).
    std::int64_t available(std::int64_t now_ms) const;
    /// When `n` units will be available (monotonic ms; now_ms when they are now).
    std::int64_t ready_at_ms(std::int64_t n, std::int64_t now_ms) const;
    bool unlimited() const { return limit_ <= 0; }
    std::int64_t limit() const { return limit_; }

  private:
    std::int64_t cost_ns(std::int64_t n) const;

    std::atomic<std::int64_t>& tat_;
    std::int64_t limit_;
    std::int64_t interval_ns_ = 0;   // period / limit
    std::int64_t tolerance_ns_ = 0;  // limit * interval: the whole bucket
};

}  // namespace ccr::worker::limits
