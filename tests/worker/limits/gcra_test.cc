#include "worker/limits/gcra.h"

#include <gtest/gtest.h>

#include "shared/clock.h"

namespace ccr::worker::limits {
namespace {

class GcraTest : public ::testing::Test {
  protected:
    std::int64_t now() const { return clock_.mono_ms(); }
    std::atomic<std::int64_t> tat_{0};
    shared::FakeClock clock_;
};

TEST_F(GcraTest, Rpm30AdmitsExactly30AtOnceThenOneEveryTwoSeconds) {
    Gcra g(tat_, 30);
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(g.try_take(1, now()).ok) << i;
    const Gcra::Take refused = g.try_take(1, now());
    EXPECT_FALSE(refused.ok);
    EXPECT_EQ(refused.retry_after_ms, 2'000);
    clock_.advance(1'999);
    EXPECT_FALSE(g.try_take(1, now()).ok);
    EXPECT_EQ(g.try_take(1, now()).retry_after_ms, 1);
    clock_.advance(1);
    EXPECT_TRUE(g.try_take(1, now()).ok);
    EXPECT_FALSE(g.try_take(1, now()).ok);
}

TEST_F(GcraTest, Rpm30AdmitsExactly30SpreadOverAMinute) {
    Gcra g(tat_, 30);
    int admitted = 0;
    for (int ms = 0; ms < 60'000; ms += 100) {
        // A request every 100 ms, 600 in the minute.
        if (g.try_take(1, now()).ok) ++admitted;
        clock_.advance(100);
    }
    // 30 at once, plus one per 2 s as the first ones age out over the minute.
    EXPECT_EQ(admitted, 30 + 29);
}

TEST_F(GcraTest, ABucketRefillsCompletelyAfterAPeriod) {
    Gcra g(tat_, 30);
    for (int i = 0; i < 30; ++i) g.try_take(1, now());
    EXPECT_EQ(g.available(now()), 0);
    clock_.advance(30'000);
    EXPECT_EQ(g.available(now()), 15);
    clock_.advance(60'000);
    EXPECT_EQ(g.available(now()), 30) << "never more than the limit";
}

TEST_F(GcraTest, TokensTakenInOneGoAndTheRetryAfterForTheRest) {
    Gcra g(tat_, 1'000);  // tokens per minute: 60 ms each
    EXPECT_TRUE(g.try_take(900, now()).ok);
    EXPECT_EQ(g.available(now()), 100);
    const Gcra::Take t = g.try_take(200, now());
    EXPECT_FALSE(t.ok);
    EXPECT_EQ(t.retry_after_ms, 100 * 60);
    EXPECT_EQ(g.ready_at_ms(200, now()), now() + 6'000);
    EXPECT_TRUE(g.try_take(100, now()).ok);
}

TEST_F(GcraTest, ARequestLargerThanTheBucketPassesOnlyWhenItIsFull) {
    Gcra g(tat_, 1'000);
    EXPECT_TRUE(g.try_take(5'000, now()).ok);
    EXPECT_EQ(g.available(now()), 0);
    // Charged in full: the bucket is empty for five minutes.
    EXPECT_EQ(g.ready_at_ms(1, now()), now() + 4 * 60'000 + 60);
}

TEST_F(GcraTest, ChargesCorrectAnEstimateBothWays) {
    Gcra g(tat_, 1'000);
    ASSERT_TRUE(g.try_take(500, now()).ok);  // estimated
    g.charge(-300, now());                   // usage said 200
    EXPECT_EQ(g.available(now()), 800);
    g.charge(400, now());  // output tokens counted afterwards
    EXPECT_EQ(g.available(now()), 400);
    g.charge(-5'000, now());
    EXPECT_EQ(g.available(now()), 1'000) << "a refund never makes the bucket more than full";
    g.charge(2'000, now());
    EXPECT_EQ(g.available(now()), 0);
    EXPECT_FALSE(g.try_take(1, now()).ok);
}

TEST_F(GcraTest, LearnOnlyEverTightens) {
    Gcra g(tat_, 100);
    EXPECT_TRUE(g.learn(40, -1, now()));
    EXPECT_EQ(g.available(now()), 40);
    EXPECT_FALSE(g.learn(90, -1, now())) << "more remaining upstream than here: no refill";
    EXPECT_EQ(g.available(now()), 40);
    ASSERT_TRUE(g.try_take(10, now()).ok);
    EXPECT_FALSE(g.learn(35, -1, now()));
    EXPECT_EQ(g.available(now()), 30);
    EXPECT_TRUE(g.learn(0, -1, now()));
    EXPECT_EQ(g.available(now()), 0);
}

TEST_F(GcraTest, LearnFromAResetTimeKeepsTheBucketFromBeingFullBeforeIt) {
    Gcra g(tat_, 100);  // 600 ms a unit
    EXPECT_TRUE(g.learn(100, now() + 6'000, now()));
    EXPECT_EQ(g.available(now()), 90);
    clock_.advance(6'000);
    EXPECT_EQ(g.available(now()), 100);
    EXPECT_FALSE(g.learn(100, now() - 1, now())) << "a reset in the past says nothing";
}

TEST_F(GcraTest, UnlimitedAdmitsEverythingAndWritesNothing) {
    Gcra g(tat_, 0);
    for (int i = 0; i < 1'000; ++i) EXPECT_TRUE(g.try_take(1'000'000, now()).ok);
    g.charge(5, now());
    EXPECT_FALSE(g.learn(0, -1, now()));
    EXPECT_EQ(tat_.load(), 0);
    EXPECT_TRUE(g.unlimited());
}

TEST_F(GcraTest, LargeTokenLimitsStayExact) {
    Gcra g(tat_, 4'000'000);  // 15 us a token
    EXPECT_TRUE(g.try_take(3'999'999, now()).ok);
    EXPECT_TRUE(g.try_take(1, now()).ok);
    EXPECT_FALSE(g.try_take(1, now()).ok);
    clock_.advance(15);
    EXPECT_EQ(g.available(now()), 1'000);
}

}  // namespace
}  // namespace ccr::worker::limits
