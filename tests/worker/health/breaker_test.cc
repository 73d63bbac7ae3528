#include "worker/health/breaker.h"

#include <gtest/gtest.h>

#include "shared/clock.h"

namespace ccr::worker::health {
namespace {

class BreakerTest : public ::testing::Test {
  protected:
    Breaker make(int threshold = 3, std::int64_t open_ms = 10'000, int probes = 2) {
        return Breaker(word_, BreakerPolicy{threshold, open_ms, probes});
    }
    std::int64_t now() const { return clock_.mono_ms(); }

    std::atomic<std::uint64_t> word_{0};
    shared::FakeClock clock_;
};

TEST_F(BreakerTest, StartsClosedAndAdmitsEverything) {
    Breaker b = make();
    EXPECT_EQ(b.state(now()), BreakerState::closed);
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(b.allow(now()).allowed);
    EXPECT_EQ(b.open_until(), 0);
}

TEST_F(BreakerTest, OpensAfterThresholdConsecutiveFailures) {
    Breaker b = make(3);
    EXPECT_EQ(b.on_failure(now()), Transition::none);
    EXPECT_EQ(b.on_failure(now()), Transition::none);
    EXPECT_EQ(b.count(), 2);
    EXPECT_EQ(b.on_failure(now()), Transition::opened);
    EXPECT_EQ(b.state(now()), BreakerState::open);
    EXPECT_EQ(b.open_until(), now() + 10'000);
    EXPECT_FALSE(b.allow(now()).allowed);
    EXPECT_EQ(b.on_failure(now()), Transition::none) << "already open: no second transition";
}

TEST_F(BreakerTest, ASuccessResetsTheConsecutiveFailures) {
    Breaker b = make(3);
    b.on_failure(now());
    b.on_failure(now());
    EXPECT_EQ(b.on_success(now()), Transition::none);
    EXPECT_EQ(b.count(), 0);
    EXPECT_EQ(b.on_failure(now()), Transition::none);
    EXPECT_EQ(b.on_failure(now()), Transition::none);
    EXPECT_EQ(b.state(now()), BreakerState::closed);
}

TEST_F(BreakerTest, StaysOpenForTheWholeWindowThenTheFirstCallerMovesItToHalfOpen) {
    Breaker b = make(1, 10'000, 2);
    EXPECT_EQ(b.on_failure(now()), Transition::opened);
    clock_.advance(9'999);
    EXPECT_FALSE(b.allow(now()).allowed);
    clock_.advance(1);
    EXPECT_EQ(b.state(now()), BreakerState::half_open) << "due, though nobody moved it yet";
    const Breaker::Admission first = b.allow(now());
    EXPECT_TRUE(first.allowed);
    EXPECT_EQ(first.transition, Transition::half_opened);
    const Breaker::Admission second = b.allow(now());
    EXPECT_TRUE(second.allowed);
    EXPECT_EQ(second.transition, Transition::none);
    EXPECT_FALSE(b.allow(now()).allowed) << "two probes out: the third waits";
    EXPECT_EQ(b.open_until(), 0);
}

TEST_F(BreakerTest, HalfOpenClosesAfterTheProbesSucceed) {
    Breaker b = make(1, 10'000, 2);
    b.on_failure(now());
    clock_.advance(10'000);
    b.allow(now());
    b.allow(now());
    EXPECT_EQ(b.on_success(now()), Transition::none);
    EXPECT_EQ(b.state(now()), BreakerState::half_open);
    EXPECT_EQ(b.on_success(now()), Transition::closed);
    EXPECT_EQ(b.state(now()), BreakerState::closed);
    EXPECT_TRUE(b.allow(now()).allowed);
    EXPECT_EQ(b.count(), 0);
}

TEST_F(BreakerTest, AFailureInHalfOpenReopensForAnotherWindow) {
    Breaker b = make(1, 10'000, 2);
    b.on_failure(now());
    clock_.advance(10'000);
    b.allow(now());
    b.on_success(now());
    clock_.advance(5);
    EXPECT_EQ(b.on_failure(now()), Transition::reopened);
    EXPECT_EQ(b.state(now()), BreakerState::open);
    EXPECT_EQ(b.open_until(), now() + 10'000);
    EXPECT_FALSE(b.allow(now()).allowed);
}

TEST_F(BreakerTest, AStalledProbeRoundStartsAgainAfterAWindow) {
    Breaker b = make(1, 10'000, 1);
    b.on_failure(now());
    clock_.advance(10'000);
    EXPECT_TRUE(b.allow(now()).allowed);  // the probe's client goes away: no report
    EXPECT_FALSE(b.allow(now()).allowed);
    clock_.advance(9'999);
    EXPECT_FALSE(b.allow(now()).allowed);
    clock_.advance(1);
    const Breaker::Admission again = b.allow(now());
    EXPECT_TRUE(again.allowed);
    EXPECT_EQ(again.transition, Transition::none) << "still half-open, a new round";
}

TEST_F(BreakerTest, ALateSuccessWhileOpenChangesNothing) {
    Breaker b = make(1);
    b.on_failure(now());
    EXPECT_EQ(b.on_success(now()), Transition::none);
    EXPECT_EQ(b.state(now()), BreakerState::open);
}

TEST_F(BreakerTest, AHealthCheckSuccessMovesAnOpenBreakerToHalfOpenAtOnce) {
    Breaker b = make(1, 60'000, 1);
    EXPECT_EQ(b.force_half_open(now()), Transition::none) << "closed: nothing to do";
    b.on_failure(now());
    clock_.advance(1'000);
    EXPECT_EQ(b.force_half_open(now()), Transition::half_opened);
    EXPECT_EQ(b.force_half_open(now()), Transition::none);
    const Breaker::Admission probe = b.allow(now());
    EXPECT_TRUE(probe.allowed);
    EXPECT_EQ(probe.transition, Transition::none);
    EXPECT_EQ(b.on_success(now()), Transition::closed);
}

TEST_F(BreakerTest, WorkersShareTheStateThroughTheWord) {
    Breaker a = make(2);
    Breaker b = make(2);
    EXPECT_EQ(a.on_failure(now()), Transition::none);
    EXPECT_EQ(b.on_failure(now()), Transition::opened);
    EXPECT_FALSE(a.allow(now()).allowed);
}

TEST_F(BreakerTest, PolicyNumbersOutOfRangeAreClamped) {
    Breaker b(word_, BreakerPolicy{0, -5, 0});
    EXPECT_EQ(b.on_failure(now()), Transition::opened) << "threshold 0 acts as 1";
    const Breaker::Admission probe = b.allow(now());
    EXPECT_TRUE(probe.allowed) << "a negative window is no window";
    EXPECT_EQ(b.on_success(now()), Transition::closed) << "probes 0 acts as 1";
}

TEST(BreakerWord, RoundTripsEveryField) {
    const shared::stats::BreakerWord w{BreakerState::half_open, 1234, 2047, (1LL << 40) - 1};
    const auto d = shared::stats::BreakerWord::decode(w.encode());
    EXPECT_EQ(d.state, BreakerState::half_open);
    EXPECT_EQ(d.count, 1234);
    EXPECT_EQ(d.admitted, 2047);
    EXPECT_EQ(d.time, (1LL << 40) - 1);
}

}  // namespace
}  // namespace ccr::worker::health
