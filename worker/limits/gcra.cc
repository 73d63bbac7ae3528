#include "worker/limits/gcra.h"

#include <algorithm>

namespace ccr::worker::limits {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;
constexpr std::int64_t kNsPerMs = 1'000'000;

/// ns -> ms, rounded up: a retry-after of 0.2 ms is 1 ms, not 0.
std::int64_t ceil_ms(std::int64_t ns) { return ns <= 0 ? 0 : (ns + kNsPerMs - 1) / kNsPerMs; }

}  // namespace

Gcra::Gcra(std::atomic<std::int64_t>& tat, std::int64_t limit, std::int64_t period_ms)
    : tat_(tat), limit_(limit) {
    if (limit_ > 0) {
        // Rounded up: the long-run rate errs on the side of the limit.
        const std::int64_t period_ns = std::max<std::int64_t>(period_ms, 1) * kNsPerMs;
        interval_ns_ = (period_ns + limit_ - 1) / limit_;
        tolerance_ns_ = interval_ns_ * limit_;
    }
}

std::int64_t Gcra::cost_ns(std::int64_t n) const {
    // Saturate rather than overflow on absurd token counts.
    constexpr std::int64_t kMax = std::int64_t{1} << 62;
    if (n > 0 && n > kMax / interval_ns_) return kMax;
    if (n < 0 && -n > kMax / interval_ns_) return -kMax;
    return n * interval_ns_;
}

Gcra::Take Gcra::try_take(std::int64_t n, std::int64_t now_ms) {
    if (unlimited() || n <= 0) return {true, 0};
    const std::int64_t now = now_ms * kNsPerMs;
    // Admission looks at most one bucketful; the charge is the real size.
    const std::int64_t need = cost_ns(std::min(n, limit_));
    std::int64_t old = tat_.load(kRelaxed);
    for (;;) {
        const std::int64_t base = std::max(old, now);
        const std::int64_t allow_at = base + need - tolerance_ns_;
        if (now < allow_at) return {false, ceil_ms(allow_at - now)};
        if (tat_.compare_exchange_weak(old, base + cost_ns(n), kRelaxed)) return {true, 0};
    }
}

void Gcra::charge(std::int64_t n, std::int64_t now_ms) {
    if (unlimited() || n == 0) return;
    const std::int64_t now = now_ms * kNsPerMs;
    std::int64_t old = tat_.load(kRelaxed);
    std::int64_t next = 0;
    do {
        // Below `now` the bucket is full: a refund cannot make it fuller.
        next = std::max(std::max(old, now) + cost_ns(n), now);
    } while (!tat_.compare_exchange_weak(old, next, kRelaxed));
}

bool Gcra::learn(std::int64_t remaining, std::int64_t reset_at_ms, std::int64_t now_ms) {
    if (unlimited() || remaining < 0) return false;
    const std::int64_t now = now_ms * kNsPerMs;
    // `remaining` units now: the bucket holds (now + tolerance - TAT) / interval.
    std::int64_t target = now + tolerance_ns_ - cost_ns(std::min(remaining, limit_));
    // Full again at reset_at: not full before it (a bucket is full when TAT <= now).
    if (reset_at_ms > now_ms)
        target = std::max(target, std::min(reset_at_ms * kNsPerMs, now + tolerance_ns_));
    std::int64_t old = tat_.load(kRelaxed);
    while (old < target) {
        if (tat_.compare_exchange_weak(old, target, kRelaxed)) return true;
    }
    return false;
}

std::int64_t Gcra::available(std::int64_t now_ms) const {
    if (unlimited()) return limit_;
    const std::int64_t now = now_ms * kNsPerMs;
    const std::int64_t used = std::max(tat_.load(kRelaxed), now) - now;
    if (used >= tolerance_ns_) return 0;
    return (tolerance_ns_ - used) / interval_ns_;
}

std::int64_t Gcra::ready_at_ms(std::int64_t n, std::int64_t now_ms) const {
    if (unlimited() || n <= 0) return now_ms;
    const std::int64_t now = now_ms * kNsPerMs;
    const std::int64_t allow_at =
        std::max(tat_.load(kRelaxed), now) + cost_ns(std::min(n, limit_)) - tolerance_ns_;
    return allow_at <= now ? now_ms : now_ms + ceil_ms(allow_at - now);
}

}  // namespace ccr::worker::limits
