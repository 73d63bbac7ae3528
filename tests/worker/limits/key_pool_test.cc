#include "worker/limits/key_pool.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>

#include "shared/clock.h"
#include "worker/limits/gcra.h"

namespace ccr::worker::limits {
namespace {

class KeyPoolTest : public ::testing::Test {
  protected:
    KeyPool make(std::vector<KeyLimits> limits, PoolStrategy strategy) {
        rows_ = std::make_unique<shared::stats::KeyRow[]>(limits.size());
        std::vector<PoolKey> keys;
        for (std::size_t i = 0; i < limits.size(); ++i) keys.push_back({&rows_[i], limits[i]});
        return KeyPool(std::move(keys), strategy, cursor_);
    }
    std::int64_t now() const { return clock_.mono_ms(); }

    /// How often each key is picked in `n` acquires.
    std::vector<int> picks(KeyPool& pool, int n, std::int64_t estimate = 0) {
        std::vector<int> count(pool.size(), 0);
        for (int i = 0; i < n; ++i) {
            const KeyPool::Pick p = pool.acquire(estimate, now(), rng_());
            EXPECT_GE(p.index, 0);
            if (p.index >= 0) ++count[static_cast<std::size_t>(p.index)];
        }
        return count;
    }

    std::unique_ptr<shared::stats::KeyRow[]> rows_;
    std::atomic<std::uint64_t> cursor_{0};
    shared::FakeClock clock_;
    std::mt19937_64 rng_{42};
};

TEST_F(KeyPoolTest, RoundRobinTakesTheKeysInTurn) {
    KeyPool pool = make({{}, {}, {}}, PoolStrategy::round_robin);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(pool.acquire(0, now(), 0).index, i % 3);
    EXPECT_EQ(picks(pool, 300), (std::vector<int>{100, 100, 100}));
}

TEST_F(KeyPoolTest, RandomSpreadsEvenly) {
    KeyPool pool = make({{}, {}, {}}, PoolStrategy::random);
    for (int n : picks(pool, 3000)) EXPECT_NEAR(n, 1000, 120);
}

TEST_F(KeyPoolTest, WeightedFollowsTheWeights) {
    KeyPool pool = make({{0, 0, 0, 1}, {0, 0, 0, 3}}, PoolStrategy::weighted);
    const std::vector<int> n = picks(pool, 4000);
    EXPECT_NEAR(n[0], 1000, 120);
    EXPECT_NEAR(n[1], 3000, 120);
}

TEST_F(KeyPoolTest, LeastLoadedPrefersTheKeyWithMoreFreeCapacityThenShares) {
    KeyPool pool = make({{10}, {10}}, PoolStrategy::least_loaded);
    Gcra(rows_[0].rpm_tat, 10).charge(4, now());  // key 0 has 6 left, key 1 has 10
    EXPECT_EQ(picks(pool, 4), (std::vector<int>{0, 4}));
    EXPECT_EQ(picks(pool, 12), (std::vector<int>{6, 6})) << "equal load: both in turn";
    EXPECT_EQ(pool.acquire(0, now(), 0).index, -1);
}

TEST_F(KeyPoolTest, CooldownSkipsKeyUntilRetryAfter) {
    KeyPool pool = make({{}, {}}, PoolStrategy::round_robin);
    pool.cooldown(0, now() + 5'000);
    pool.cooldown(0, now() + 1'000);  // never shortened
    EXPECT_EQ(picks(pool, 10), (std::vector<int>{0, 10}));
    clock_.advance(4'999);
    EXPECT_EQ(picks(pool, 10)[0], 0);
    clock_.advance(1);
    EXPECT_EQ(picks(pool, 10), (std::vector<int>{5, 5}));
    EXPECT_EQ(rows_[0].rate_limited.load(), 2u);
}

TEST_F(KeyPoolTest, AllKeysExhaustedGivesTheEarliestTimeOneFreesUp) {
    KeyPool pool = make({{2}, {1}}, PoolStrategy::round_robin);  // 30 s and 60 s a request
    EXPECT_EQ(picks(pool, 3), (std::vector<int>{2, 1}));
    KeyPool::Pick none = pool.acquire(0, now(), 0);
    EXPECT_EQ(none.index, -1);
    EXPECT_EQ(none.retry_at_ms, now() + 30'000);
    pool.cooldown(0, now() + 45'000);  // an upstream 429 on key 0
    none = pool.acquire(0, now(), 0);
    EXPECT_EQ(none.retry_at_ms, now() + 45'000);
    clock_.advance(45'000);
    EXPECT_EQ(pool.acquire(0, now(), 0).index, 0);
}

TEST_F(KeyPoolTest, InputTokenCapacityDecidesWhichKeyTakesARequest) {
    KeyPool pool = make({{0, 1'000}, {0, 100'000}}, PoolStrategy::round_robin);
    EXPECT_EQ(pool.acquire(600, now(), 0).index, 0);
    EXPECT_EQ(pool.acquire(600, now(), 0).index, 1);
    EXPECT_EQ(pool.acquire(600, now(), 0).index, 1) << "key 0 has 400 tokens left";
    EXPECT_FALSE(pool.can_take(0, 600, now()));
    EXPECT_TRUE(pool.can_take(0, 400, now()));
}

TEST_F(KeyPoolTest, SettleCorrectsTheEstimateAndChargesOutput) {
    KeyPool pool = make({{0, 1'000, 1'000}}, PoolStrategy::round_robin);
    ASSERT_EQ(pool.acquire(800, now(), 0).index, 0);
    pool.settle(0, 800, 100, 1'000, now());
    EXPECT_EQ(Gcra(rows_[0].itpm_tat, 1'000).available(now()), 900);
    EXPECT_EQ(Gcra(rows_[0].otpm_tat, 1'000).available(now()), 0);
    EXPECT_FALSE(pool.can_take(0, 1, now())) << "no output capacity left";
}

TEST_F(KeyPoolTest, LearnedHeadersLimitAKeyWithoutConfiguredLimitsButNeverRefill) {
    KeyPool pool = make({{}}, PoolStrategy::round_robin);
    RateLimitReport report;
    report.requests = {50, 0, now() + 1'200};  // 50 rpm upstream, none left for 1.2 s
    pool.learn(0, report, now());
    EXPECT_EQ(rows_[0].learned_rpm.load(), 50);
    const KeyPool::Pick none = pool.acquire(0, now(), 0);
    EXPECT_EQ(none.index, -1);
    EXPECT_EQ(none.retry_at_ms, now() + 1'200);
    report.requests = {50, 49, now()};  // a stale, more generous report
    pool.learn(0, report, now());
    EXPECT_EQ(pool.acquire(0, now(), 0).index, -1);
    clock_.advance(1'200);
    EXPECT_EQ(pool.acquire(0, now(), 0).index, 0);
}

TEST_F(KeyPoolTest, AnEmptyPoolHasNoKey) {
    KeyPool pool = make({}, PoolStrategy::round_robin);
    EXPECT_EQ(pool.acquire(0, now(), 0).index, -1);
}

}  // namespace
}  // namespace ccr::worker::limits
