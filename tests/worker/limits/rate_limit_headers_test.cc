#include "worker/limits/rate_limit_headers.h"

#include <gtest/gtest.h>

namespace ccr::worker::limits {
namespace {

TEST(RateLimitHeaders, Rfc3339TimestampsBecomeUnixMilliseconds) {
    EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(parse_rfc3339_ms("2023-11-14T22:13:20Z"), 1'700'000'000'000);
    EXPECT_EQ(parse_rfc3339_ms("2023-11-14T22:13:20.25Z"), 1'700'000'000'250);
    EXPECT_EQ(parse_rfc3339_ms("2023-11-14T23:13:20+01:00"), 1'700'000'000'000);
    EXPECT_EQ(parse_rfc3339_ms("2023-11-14T21:13:20-01:00"), 1'700'000'000'000);
    EXPECT_EQ(parse_rfc3339_ms("2023-02-30T00:00:00Z"), std::nullopt);
    EXPECT_EQ(parse_rfc3339_ms("2023-11-14 22:13"), std::nullopt);
    EXPECT_EQ(parse_rfc3339_ms("soon"), std::nullopt);
}

TEST(RateLimitHeaders, RetryAfterIsInSeconds) {
    EXPECT_EQ(parse_retry_after_ms("30"), 30'000);
    EXPECT_EQ(parse_retry_after_ms(" 1.5 "), 1'500);
    EXPECT_EQ(parse_retry_after_ms("0"), 0);
    EXPECT_EQ(parse_retry_after_ms("-1"), std::nullopt);
    EXPECT_EQ(parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
}

TEST(RateLimitHeaders, AnthropicHeadersFillTheReportWithResetTimesInMonotonicTime) {
    RateLimitReport r;
    const std::int64_t unix_now = 1'700'000'000'000, mono_now = 5'000;
    EXPECT_TRUE(
        add_rate_limit_header(r, "anthropic-ratelimit-requests-limit", "50", unix_now, mono_now));
    EXPECT_TRUE(add_rate_limit_header(r, "Anthropic-RateLimit-Requests-Remaining", "49", unix_now,
                                      mono_now));
    EXPECT_TRUE(add_rate_limit_header(r, "anthropic-ratelimit-requests-reset",
                                      "2023-11-14T22:13:21Z", unix_now, mono_now));
    EXPECT_TRUE(add_rate_limit_header(r, "anthropic-ratelimit-input-tokens-remaining", "39000",
                                      unix_now, mono_now));
    EXPECT_TRUE(add_rate_limit_header(r, "anthropic-ratelimit-output-tokens-limit", "8000",
                                      unix_now, mono_now));
    EXPECT_FALSE(
        add_rate_limit_header(r, "anthropic-ratelimit-tokens-limit", "1", unix_now, mono_now));
    EXPECT_FALSE(add_rate_limit_header(r, "retry-after", "1", unix_now, mono_now));
    EXPECT_EQ(r.requests.limit, 50);
    EXPECT_EQ(r.requests.remaining, 49);
    EXPECT_EQ(r.requests.reset_at_ms, 6'000);
    EXPECT_EQ(r.input_tokens.remaining, 39'000);
    EXPECT_EQ(r.input_tokens.limit, -1);
    EXPECT_EQ(r.output_tokens.limit, 8'000);
}

}  // namespace
}  // namespace ccr::worker::limits
