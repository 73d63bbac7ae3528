#include "worker/limits/client_limits.h"

#include <gtest/gtest.h>

#include "worker/limits/budget.h"

namespace ccr::worker::limits {
namespace {

using Refusal = ClientLimits::Refusal;

class ClientLimitsTest : public ::testing::Test {
  protected:
    shared::stats::ClientRow row_{};
    shared::FakeClock clock_{1'000'000, 1'700'000'000'000};  // 22:13:20 UTC
};

TEST_F(ClientLimitsTest, Rpm30Admits30ThenSaysWhenToRetry) {
    ClientLimits c(row_, {30, 0, 0});
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(c.admit(1'000, clock_).ok) << i;
    const ClientLimits::Admission a = c.admit(1'000, clock_);
    EXPECT_FALSE(a.ok);
    EXPECT_EQ(a.refusal, Refusal::rpm);
    EXPECT_EQ(a.retry_after_ms, 2'000);
}

TEST_F(ClientLimitsTest, ATokenRefusalGivesTheRequestBack) {
    ClientLimits c(row_, {2, 1'000, 0});
    ASSERT_TRUE(c.admit(900, clock_).ok);
    const ClientLimits::Admission a = c.admit(200, clock_);
    EXPECT_FALSE(a.ok);
    EXPECT_EQ(a.refusal, Refusal::tpm);
    EXPECT_EQ(a.retry_after_ms, 100 * 60);
    EXPECT_TRUE(c.admit(100, clock_).ok) << "the refused request did not use up the rpm";
}

TEST_F(ClientLimitsTest, SettleCorrectsTokensAndChargesTheBudget) {
    ClientLimits c(row_, {0, 1'000, 1'500});
    ASSERT_TRUE(c.admit(900, clock_).ok);
    c.settle(900, 300, 200, clock_);  // 500 used in all: 400 back
    EXPECT_TRUE(c.admit(500, clock_).ok);
    c.settle(500, 500, 500, clock_);
    EXPECT_EQ(DailyBudget(row_.budget, 1'500).used(clock_.unix_ms()), 1'500);
    const ClientLimits::Admission a = c.admit(1, clock_);
    EXPECT_FALSE(a.ok);
    EXPECT_EQ(a.refusal, Refusal::budget);
    EXPECT_EQ(a.retry_after_ms, 1'700'006'400'000 - 1'700'000'000'000) << "until UTC midnight";
    clock_.advance(a.retry_after_ms);
    EXPECT_TRUE(c.admit(1, clock_).ok);
}

TEST_F(ClientLimitsTest, NoLimitsAdmitEverything) {
    ClientLimits c(row_, {});
    for (int i = 0; i < 1'000; ++i) ASSERT_TRUE(c.admit(100'000, clock_).ok);
    c.settle(100'000, 1'000'000, 1'000'000, clock_);
    EXPECT_TRUE(c.admit(1, clock_).ok);
}

}  // namespace
}  // namespace ccr::worker::limits
