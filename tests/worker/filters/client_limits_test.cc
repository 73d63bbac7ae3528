#include "worker/filters/client_limits.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "worker/limits/budget.h"
#include "worker/limits/client_limits.h"
#include "worker/record.h"

namespace ccr::worker::filters {
namespace {

using ::testing::HasSubstr;

class ClientLimitsFilter : public ::testing::Test {
  protected:
    RequestRecord request(std::uint64_t body_bytes) {
        RequestRecord r;
        r.bytes_in = body_bytes;
        return r;
    }

    shared::stats::ClientRow row_{};
    shared::FakeClock clock_{1'000'000, 1'700'000'000'000};  // 22:13:20 UTC
};

TEST_F(ClientLimitsFilter, OverItsRpmAClientGets429WithRetryAfterInSeconds) {
    limits::ClientLimits limits(row_, {2, 0, 0});
    for (int i = 0; i < 2; ++i) {
        RequestRecord rec = request(400);
        ClientCharge charge;
        ASSERT_FALSE(charge_client(limits, "alice", rec, clock_, charge)) << i;
    }
    RequestRecord rec = request(400);
    ClientCharge charge;
    const Verdict no = charge_client(limits, "alice", rec, clock_, charge);
    ASSERT_TRUE(no);
    EXPECT_EQ(no->code, shared::Errc::rate_limited);
    EXPECT_EQ(no->extra_headers, "Retry-After: 30\r\n");  // 2 a minute: one every 30 s
    EXPECT_THAT(no->message, HasSubstr("client \"alice\" is over its rpm_limit (2 requests per minute)"));
}

TEST_F(ClientLimitsFilter, TheChargeIsSettledWithTheAnswersUsageWhenTheRequestEnds) {
    limits::ClientLimits limits(row_, {0, 1'000, 0});
    {
        RequestRecord rec = request(3'600);  // 900 tokens estimated
        ClientCharge charge;
        ASSERT_FALSE(charge_client(limits, "alice", rec, clock_, charge));
        rec.input_tokens = 100;  // the answer used 150 in all: 750 come back at the end
        rec.output_tokens = 50;
        RequestRecord next = request(2'000);
        ClientCharge refused;
        ASSERT_TRUE(charge_client(limits, "alice", next, clock_, refused)) << "900 of 1000 are taken";
    }
    RequestRecord rec = request(3'200);  // 800 tokens: room again
    ClientCharge charge;
    EXPECT_FALSE(charge_client(limits, "alice", rec, clock_, charge));
}

TEST_F(ClientLimitsFilter, AnExhaustedDailyBudgetIsRefusedUntilUtcMidnight) {
    limits::ClientLimits limits(row_, {0, 0, 300});
    {
        RequestRecord rec = request(100);
        ClientCharge charge;
        ASSERT_FALSE(charge_client(limits, "bob", rec, clock_, charge));
        rec.input_tokens = 321;
        rec.output_tokens = 57;
    }
    RequestRecord rec = request(100);
    ClientCharge charge;
    const Verdict no = charge_client(limits, "bob", rec, clock_, charge);
    ASSERT_TRUE(no);
    EXPECT_EQ(no->code, shared::Errc::rate_limited);
    // 22:13:20 UTC: 1 h 46 min 40 s to midnight.
    EXPECT_EQ(no->extra_headers, "Retry-After: 6400\r\n");
    EXPECT_THAT(no->message, HasSubstr("client \"bob\" has used its daily_token_budget (300 tokens "
                                       "per UTC day); it renews at 00:00 UTC, in 6400 s"));
    clock_.advance(6'400'000);
    RequestRecord tomorrow = request(100);
    ClientCharge again;
    EXPECT_FALSE(charge_client(limits, "bob", tomorrow, clock_, again));
}

TEST_F(ClientLimitsFilter, ARefusedRequestChargesNothingWhenItEnds) {
    limits::ClientLimits limits(row_, {1, 0, 100});
    RequestRecord first = request(4);
    ClientCharge taken;
    ASSERT_FALSE(charge_client(limits, "alice", first, clock_, taken));
    {
        RequestRecord rec = request(4);
        ClientCharge charge;
        ASSERT_TRUE(charge_client(limits, "alice", rec, clock_, charge));
        rec.input_tokens = 1'000;  // not this request's: it was never sent
    }
    EXPECT_EQ(limits::DailyBudget(row_.budget, 100).used(clock_.unix_ms()), 0);
}

TEST_F(ClientLimitsFilter, ANotAllowedMessageNamesTheClientTheModelAndItsProviders) {
    shared::ClientConfig c;
    c.name = "alice";
    c.allowed_providers = {"zai", "ollama"};
    EXPECT_EQ(not_allowed_message(c, "claude-opus-4"),
              "client \"alice\" may not use any provider that serves model \"claude-opus-4\" (its "
              "allowed_providers: zai, ollama)");
}

}  // namespace
}  // namespace ccr::worker::filters
