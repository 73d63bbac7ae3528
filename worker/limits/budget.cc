#include "worker/limits/budget.h"

#include "shared/stats/segment.h"

namespace ccr::worker::limits {

namespace {

constexpr std::int64_t kDayMs = 86'400'000;
using Word = shared::stats::BudgetWord;

}  // namespace

DailyBudget::DailyBudget(std::atomic<std::uint64_t>& word, std::int64_t limit)
    : word_(word), limit_(limit) {}

std::int64_t DailyBudget::day_of(std::int64_t unix_ms) {
    // Floor division: days before 1970 do not occur, but a negative clock must not crash.
    return unix_ms >= 0 ? unix_ms / kDayMs : -((-unix_ms + kDayMs - 1) / kDayMs);
}

std::int64_t DailyBudget::next_midnight_ms(std::int64_t unix_ms) {
    return (day_of(unix_ms) + 1) * kDayMs;
}

std::int64_t DailyBudget::used(std::int64_t unix_ms) const {
    const Word w = Word::decode(word_.load(std::memory_order_relaxed));
    return w.day == day_of(unix_ms) ? w.used : 0;
}

DailyBudget::Check DailyBudget::check(std::int64_t unix_ms) const {
    if (limit_ <= 0 || used(unix_ms) < limit_) return {};
    return {false, next_midnight_ms(unix_ms) - unix_ms};
}

void DailyBudget::charge(std::int64_t tokens, std::int64_t unix_ms) {
    if (limit_ <= 0 || tokens <= 0) return;
    const std::int64_t today = day_of(unix_ms);
    std::uint64_t old = word_.load(std::memory_order_relaxed);
    for (;;) {
        const Word w = Word::decode(old);
        // Never back to an earlier day: a process that read the time just before midnight must
        // not wipe what others already charged to the new day.
        const Word next = w.day >= today ? Word{w.day, w.used + tokens} : Word{today, tokens};
        if (word_.compare_exchange_weak(old, next.encode(), std::memory_order_relaxed)) return;
    }
}

}  // namespace ccr::worker::limits
