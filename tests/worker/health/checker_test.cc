#include "worker/health/checker.h"

#include <gtest/gtest.h>

#include "shared/clock.h"
#include "worker/health/breaker.h"

namespace ccr::worker::health {
namespace {

TEST(HealthCheck, AnyAnswerBelow500But429MeansAlive) {
    EXPECT_TRUE(check_says_alive(200));
    EXPECT_TRUE(check_says_alive(401));
    EXPECT_TRUE(check_says_alive(404));
    EXPECT_FALSE(check_says_alive(0));
    EXPECT_FALSE(check_says_alive(429));
    EXPECT_FALSE(check_says_alive(500));
    EXPECT_FALSE(check_says_alive(529));
}

class CheckScheduleTest : public ::testing::Test {
  protected:
    std::int64_t now() const { return clock_.mono_ms(); }
    shared::FakeClock clock_;
    std::vector<bool> open_{false, false};
    std::function<bool(int)> is_open = [this](int p) { return open_[static_cast<std::size_t>(p)]; };
};

TEST_F(CheckScheduleTest, ClosedProvidersAreNeverChecked) {
    CheckSchedule s(2, 500);
    for (int i = 0; i < 10; ++i) {
        EXPECT_TRUE(s.due(now(), is_open).empty());
        clock_.advance(1000);
    }
}

TEST_F(CheckScheduleTest, AnOpenProviderIsCheckedOnceAnIntervalAfterItWasSeenOpen) {
    CheckSchedule s(2, 500);
    open_[1] = true;
    EXPECT_TRUE(s.due(now(), is_open).empty());  // just opened by a failed request
    clock_.advance(499);
    EXPECT_TRUE(s.due(now(), is_open).empty());
    clock_.advance(1);
    EXPECT_EQ(s.due(now(), is_open), std::vector<int>{1});
    EXPECT_TRUE(s.due(now(), is_open).empty());  // not twice in one interval
    clock_.advance(500);
    EXPECT_EQ(s.due(now(), is_open), std::vector<int>{1});
}

TEST_F(CheckScheduleTest, AProviderThatClosesAndReopensWaitsAFreshInterval) {
    CheckSchedule s(2, 500);
    open_[0] = true;
    s.due(now(), is_open);
    clock_.advance(600);
    EXPECT_EQ(s.due(now(), is_open), std::vector<int>{0});
    open_[0] = false;
    clock_.advance(600);
    EXPECT_TRUE(s.due(now(), is_open).empty());
    open_[0] = true;
    EXPECT_TRUE(s.due(now(), is_open).empty());
    clock_.advance(500);
    EXPECT_EQ(s.due(now(), is_open), std::vector<int>{0});
}

TEST_F(CheckScheduleTest, ZeroIntervalMeansTheDefaultTenSeconds) {
    EXPECT_EQ(CheckSchedule(1, 0).interval_ms(), 10'000);
}

// What the loop does with a check that answered: the open circuit goes half-open before its
// window ends, and admits probes at once.
TEST_F(CheckScheduleTest, ASuccessfulCheckHalfOpensTheCircuitBeforeItsWindowEnds) {
    std::atomic<std::uint64_t> word{0};
    Breaker b(word, BreakerPolicy{3, 30'000, 2});
    for (int i = 0; i < 3; ++i) b.on_failure(now());
    ASSERT_EQ(b.state(now()), BreakerState::open);
    CheckSchedule s(1, 1000);
    auto open = [&](int) { return b.state(now()) == BreakerState::open; };
    EXPECT_TRUE(s.due(now(), open).empty());
    clock_.advance(1000);
    ASSERT_EQ(s.due(now(), open), std::vector<int>{0});
    EXPECT_EQ(b.force_half_open(now()), Transition::half_opened);
    EXPECT_EQ(b.force_half_open(now()), Transition::none);  // a second checker changes nothing
    EXPECT_EQ(b.state(now()), BreakerState::half_open);
    EXPECT_TRUE(b.allow(now()).allowed);
    EXPECT_TRUE(s.due(now(), open).empty());
}

}  // namespace
}  // namespace ccr::worker::health
