#include "worker/providers/oauth/token_source.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ccr::worker::oauth {
namespace {

namespace net = boost::asio;

// A token endpoint in the test: answers with `replies` in turn (the last one repeated), each after
// the gate opens (a timer the test cancels) when `gated`.
struct FakeEndpoint {
    explicit FakeEndpoint(net::io_context& ioc) : gate(ioc, net::steady_timer::time_point::max()) {}
    net::steady_timer gate;
    bool gated = false;
    std::vector<HttpReply> replies;
    std::vector<TokenRequest> requests;
    std::vector<std::int64_t> built_at;

    Transport transport() {
        return [this](const TokenRequest& req) -> net::awaitable<HttpReply> {
            requests.push_back(req);
            const std::size_t i = std::min(requests.size(), replies.size()) - 1;
            if (gated) co_await gate.async_wait(net::as_tuple(net::use_awaitable));
            co_return replies[i];
        };
    }
    RequestBuilder builder() {
        return [this](std::int64_t now, std::string&) {
            built_at.push_back(now);
            return std::optional<TokenRequest>(
                TokenRequest{"POST", "https://auth.test/token", {}, "grant_type=x"});
        };
    }
    void open_gate() {
        gated = false;
        gate.cancel();
    }
};

HttpReply token_reply(const std::string& token, int expires_in) {
    return {200,
            R"({"access_token":")" + token + R"(","expires_in":)" + std::to_string(expires_in) +
                R"(,"token_type":"Bearer"})",
            {}};
}

class TokenSourceTest : public ::testing::Test {
  protected:
    TokenSourceTest()
        : endpoint(ioc), source("test provider", endpoint.builder(), endpoint.transport(), clock) {}

    // Starts `n` token() calls; they run when the io_context does.
    void start(int n) {
        for (int i = 0; i < n; ++i) {
            net::co_spawn(ioc, source.token(), [this](std::exception_ptr e, TokenResult r) {
                if (e) std::rethrow_exception(e);
                results.push_back(std::move(r));
            });
        }
    }
    TokenResult one() {
        results.clear();
        start(1);
        ioc.restart();
        ioc.run();
        EXPECT_EQ(results.size(), 1u);
        return results.empty() ? TokenResult{} : results.front();
    }

    net::io_context ioc;
    shared::FakeClock clock;
    FakeEndpoint endpoint;
    TokenSource source;
    std::vector<TokenResult> results;
};

TEST_F(TokenSourceTest, FiftyConcurrentCallersShareOneRequest) {
    endpoint.replies = {token_reply("tok-1", 3600)};
    endpoint.gated = true;
    start(50);
    ioc.poll();  // every caller runs up to its wait; the first one is inside the transport
    EXPECT_EQ(endpoint.requests.size(), 1u);
    EXPECT_TRUE(results.empty());
    endpoint.open_gate();
    ioc.run();
    ASSERT_EQ(results.size(), 50u);
    for (const auto& r : results) {
        EXPECT_TRUE(r.ok()) << r.error;
        EXPECT_EQ(r.access_token, "tok-1");
    }
    EXPECT_EQ(endpoint.requests.size(), 1u);
    EXPECT_EQ(endpoint.built_at.front(), clock.unix_ms() / 1000);
}

TEST_F(TokenSourceTest, CachedTokenIsServedUntilTheRefreshMarginThenRefreshedOnce) {
    endpoint.replies = {token_reply("tok-1", 3600), token_reply("tok-2", 3600)};
    EXPECT_EQ(one().access_token, "tok-1");
    clock.advance((3600 - 300) * 1000 - 1);  // one millisecond before the 5-minute margin
    EXPECT_EQ(one().access_token, "tok-1");
    EXPECT_EQ(endpoint.requests.size(), 1u);
    clock.advance(1);
    EXPECT_EQ(one().access_token, "tok-2");
    EXPECT_EQ(one().access_token, "tok-2");
    EXPECT_EQ(endpoint.requests.size(), 2u);
}

TEST_F(TokenSourceTest, AShortLivedTokenIsRefreshedATenthOfItsLifetimeEarly) {
    endpoint.replies = {token_reply("tok-1", 100), token_reply("tok-2", 100)};
    EXPECT_EQ(one().access_token, "tok-1");
    clock.advance(89'999);
    EXPECT_EQ(one().access_token, "tok-1");
    clock.advance(1);
    EXPECT_EQ(one().access_token, "tok-2");
}

TEST_F(TokenSourceTest, AFailedRefreshFailsEveryWaiterAndTheNextCallRetries) {
    endpoint.replies = {
        {400,
         R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret"})",
         {}},
        token_reply("tok-1", 3600)};
    endpoint.gated = true;
    start(10);
    ioc.poll();
    endpoint.open_gate();
    ioc.run();
    ASSERT_EQ(results.size(), 10u);
    for (const auto& r : results) {
        EXPECT_FALSE(r.ok());
        EXPECT_TRUE(r.access_token.empty());
        EXPECT_EQ(r.error,
                  "test provider: token endpoint answered 400: invalid_client: AADSTS7000215: "
                  "Invalid client secret");
    }
    EXPECT_EQ(endpoint.requests.size(), 1u);
    EXPECT_EQ(one().access_token, "tok-1");
    EXPECT_EQ(endpoint.requests.size(), 2u);
}

TEST_F(TokenSourceTest, DuringTheMarginOthersKeepTheOldTokenAndAFailureKeepsItToo) {
    endpoint.replies = {token_reply("tok-1", 3600), {503, "upstream connect error", {}}};
    EXPECT_EQ(one().access_token, "tok-1");
    clock.advance((3600 - 60) * 1000);  // in the margin, a minute left
    endpoint.gated = true;
    results.clear();
    start(5);
    ioc.restart();
    ioc.poll();
    EXPECT_EQ(endpoint.requests.size(), 2u);
    EXPECT_EQ(results.size(), 4u);  // all but the refreshing caller, at once
    endpoint.open_gate();
    ioc.run();
    ASSERT_EQ(results.size(), 5u);
    for (const auto& r : results) EXPECT_EQ(r.access_token, "tok-1");
    // Less than kMinValidityMs left: the failure is the caller's.
    clock.advance(31'000);
    TokenResult r = one();
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error, "test provider: token endpoint answered 503: upstream connect error");
}

TEST_F(TokenSourceTest, InvalidateForcesARefresh) {
    endpoint.replies = {token_reply("tok-1", 3600), token_reply("tok-2", 3600)};
    EXPECT_EQ(one().access_token, "tok-1");
    source.invalidate();
    EXPECT_EQ(one().access_token, "tok-2");
}

TEST_F(TokenSourceTest, ATransportFailureIsReportedWithoutTheRequest) {
    endpoint.replies = {{0, {}, "connecting to auth.test failed: Connection refused"}};
    TokenResult r = one();
    EXPECT_EQ(
        r.error,
        "test provider: token request failed: connecting to auth.test failed: Connection refused");
    EXPECT_EQ(r.error.find("grant_type"), std::string::npos);
}

TEST(TokenReply, ExpiresInMayBeANumberOrAString) {
    TokenReply r = parse_token_reply(
        {200, R"({"token_type":"Bearer","expires_in":"3599","access_token":"a"})", {}});
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.access_token, "a");
    EXPECT_EQ(r.expires_in_s, 3599);
    r = parse_token_reply({200, R"({"access_token":"a","expires_in":3599.0})", {}});
    EXPECT_EQ(r.expires_in_s, 3599);
    r = parse_token_reply({200, R"({"access_token":"a"})", {}});
    EXPECT_EQ(r.expires_in_s, TokenSource::kDefaultLifetimeS);
}

TEST(TokenReply, UnusableRepliesAreErrorsWithoutTheToken) {
    EXPECT_EQ(parse_token_reply({200, R"({"access_token":"a","expires_in":"soon"})", {}}).error,
              "token endpoint answered 200 with an unusable expires_in");
    EXPECT_EQ(parse_token_reply({200, R"({"expires_in":1})", {}}).error,
              "token endpoint answered 200 without an access_token");
    EXPECT_EQ(parse_token_reply({200, "<html>", {}}).error,
              "token endpoint answered 200 with a body that is not a JSON object");
    TokenReply r = parse_token_reply(
        {401,
         R"({"error":{"code":401,"message":"Request had invalid credentials.","status":"UNAUTHENTICATED"}})",
         {}});
    EXPECT_EQ(r.error,
              "token endpoint answered 401: UNAUTHENTICATED: Request had invalid credentials.");
    r = parse_token_reply({400, R"({"access_token":"leak","error":"invalid_grant"})", {}});
    EXPECT_EQ(r.access_token, "");
    EXPECT_EQ(r.error, "token endpoint answered 400: invalid_grant");
}

TEST(FormEncoding, KeepsUnreservedCharactersAndEncodesTheRest) {
    EXPECT_EQ(form_encode({{"a b", "x+y/z=1&2~._-"}, {"e", "\xc3\xa9"}}),
              "a+b=x%2By%2Fz%3D1%262~._-&e=%C3%A9");
}

}  // namespace
}  // namespace ccr::worker::oauth
