#include "worker/limits/budget.h"

#include <gtest/gtest.h>

#include "shared/clock.h"

namespace ccr::worker::limits {
namespace {

constexpr std::int64_t kDay = 86'400'000;
// 2023-11-14T22:13:20Z; midnight follows at 2023-11-15T00:00:00Z.
constexpr std::int64_t kEvening = 1'700'000'000'000;
constexpr std::int64_t kMidnight = 1'700'006'400'000;

TEST(DailyBudget, NextMidnightIsUtc) {
    EXPECT_EQ(DailyBudget::next_midnight_ms(kEvening), kMidnight);
    EXPECT_EQ(DailyBudget::next_midnight_ms(kMidnight), kMidnight + kDay);
    EXPECT_EQ(DailyBudget::day_of(kMidnight) - DailyBudget::day_of(kMidnight - 1), 1);
}

TEST(DailyBudget, RefusesOnceTheLimitIsReachedUntilTheNextUtcMidnight) {
    std::atomic<std::uint64_t> word{0};
    shared::FakeClock clock(0, kEvening);
    DailyBudget b(word, 1'000);
    EXPECT_TRUE(b.check(clock.unix_ms()).ok);
    b.charge(999, clock.unix_ms());
    EXPECT_TRUE(b.check(clock.unix_ms()).ok);
    b.charge(5, clock.unix_ms());  // an answer may take it past the limit
    EXPECT_EQ(b.used(clock.unix_ms()), 1'004);
    const DailyBudget::Check c = b.check(clock.unix_ms());
    EXPECT_FALSE(c.ok);
    EXPECT_EQ(c.retry_after_ms, kMidnight - kEvening);
    clock.set_unix_ms(kMidnight - 1);
    EXPECT_FALSE(b.check(clock.unix_ms()).ok);
    EXPECT_EQ(b.check(clock.unix_ms()).retry_after_ms, 1);
    clock.set_unix_ms(kMidnight);
    EXPECT_TRUE(b.check(clock.unix_ms()).ok) << "a new UTC day";
    EXPECT_EQ(b.used(clock.unix_ms()), 0);
}

TEST(DailyBudget, TheFirstChargeOfADayResetsTheCount) {
    std::atomic<std::uint64_t> word{0};
    DailyBudget b(word, 1'000);
    b.charge(700, kEvening);
    b.charge(10, kMidnight + 5);
    EXPECT_EQ(b.used(kMidnight + 6), 10);
    EXPECT_EQ(b.used(kEvening), 0) << "only one day is kept";
}

TEST(DailyBudget, AChargeStampedBeforeMidnightAddsToTheNewDayOnceItBegan) {
    std::atomic<std::uint64_t> word{0};
    DailyBudget b(word, 1'000);
    b.charge(10, kMidnight + 5);  // another worker already in the new day
    b.charge(20, kMidnight - 5);  // this one read the time just before midnight
    EXPECT_EQ(b.used(kMidnight + 10), 30);
}

TEST(DailyBudget, UnlimitedNeverRefusesAndWritesNothing) {
    std::atomic<std::uint64_t> word{0};
    DailyBudget b(word, 0);
    b.charge(1'000'000, kEvening);
    EXPECT_TRUE(b.check(kEvening).ok);
    EXPECT_EQ(word.load(), 0u);
}

}  // namespace
}  // namespace ccr::worker::limits
