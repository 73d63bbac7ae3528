#pragma once
// Time, injected: breakers, rate limits, cooldowns and budgets take a Clock so their tests set the
// time instead of sleeping. Two readings: a monotonic one for intervals (CLOCK_MONOTONIC, the same
// in every process of the machine, so it may be stored in the shared segment) and the wall clock
// for what is defined by the calendar (the UTC day of a daily budget).

#include <atomic>
#include <cstdint>

namespace ccr::shared {

class Clock {
  public:
    virtual ~Clock() = default;
    /// Milliseconds of CLOCK_MONOTONIC: comparable across the processes of one machine.
    virtual std::int64_t mono_ms() const = 0;
    /// Milliseconds since the Unix epoch (wall time, UTC).
    virtual std::int64_t unix_ms() const = 0;
};

/// The real clocks.
class SystemClock final : public Clock {
  public:
    std::int64_t mono_ms() const override;
    std::int64_t unix_ms() const override;
};

/// The process's SystemClock.
const Clock& system_clock();

/// A clock that moves only when told to (tests). Both readings advance together. Atomic so that a
/// test may move it while another thread reads it.
class FakeClock final : public Clock {
  public:
    explicit FakeClock(std::int64_t mono_ms = 1'000'000, std::int64_t unix_ms = 1'700'000'000'000)
        : mono_(mono_ms), unix_(unix_ms) {}
    std::int64_t mono_ms() const override { return mono_.load(std::memory_order_relaxed); }
    std::int64_t unix_ms() const override { return unix_.load(std::memory_order_relaxed); }
    /// Moves both readings forward by `ms`.
    void advance(std::int64_t ms) {
        mono_.fetch_add(ms, std::memory_order_relaxed);
        unix_.fetch_add(ms, std::memory_order_relaxed);
    }
    void set_mono_ms(std::int64_t ms) { mono_.store(ms, std::memory_order_relaxed); }
    void set_unix_ms(std::int64_t ms) { unix_.store(ms, std::memory_order_relaxed); }

  private:
    std::atomic<std::int64_t> mono_;
    std::atomic<std::int64_t> unix_;
};

}  // namespace ccr::shared
