#include "worker/providers/provider.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "shared/config/config.h"

namespace ccr::worker {
namespace {

namespace net = boost::asio;

// One request body and what a provider makes of it.
struct Prepared {
    std::string path;
    std::string body;
    std::map<std::string, std::string> headers;
    std::optional<std::string> beta;
};

Prepared prepare(const Provider& p, const std::string& body, std::string_view beta = {},
                 std::string_view target = "/v1/messages?beta=true", Endpoint endpoint = Endpoint::messages) {
    auto json = make_json_parser();
    const BodyInfo info = inspect_body(*json, body);
    EXPECT_TRUE(info.valid) << info.error;
    ClientCredentials creds;
    // Both ways of preparing (at once, as the relay does, and awaited) must agree.
    UpstreamRequest now("POST", target, body, body.capacity(), info, endpoint, creds, beta, 0, *json);
    EXPECT_TRUE(p.prepare_now(now));
    UpstreamRequest up("POST", target, body, body.capacity(), info, endpoint, creds, beta, 0, *json);
    net::io_context io;
    bool done = false;
    net::co_spawn(io, p.prepare(up), [&](std::exception_ptr e, std::optional<PrepareError> r) {
        EXPECT_FALSE(e);
        EXPECT_FALSE(r) << r->message;
        done = true;
    });
    io.run();
    EXPECT_TRUE(done);
    Prepared out{up.path, up.splice.str(), {}, up.beta};
    for (const auto& f : up.headers) out.headers[std::string(f.name_string())] = std::string(f.value());
    EXPECT_EQ(now.path, out.path);
    EXPECT_EQ(now.splice.str(), out.body);
    EXPECT_EQ(now.beta, out.beta);
    std::map<std::string, std::string> now_headers;
    for (const auto& f : now.headers) now_headers[std::string(f.name_string())] = std::string(f.value());
    EXPECT_EQ(now_headers, out.headers);
    return out;
}

shared::ProviderConfig provider(const std::string& type) {
    shared::ProviderConfig pc;
    pc.name = type;
    pc.type = type;
    pc.enabled = true;
    pc.keys.push_back({.key = "sk-upstream"});
    return pc;
}

TEST(Origin, HostHeaderBracketsIPv6LiteralsAndNamesOnlyANonDefaultPort) {
    const auto host = [](std::string_view url) {
        Origin o;
        EXPECT_TRUE(parse_origin(url, o)) << url;
        std::string appended = "Host: ";
        o.append_host_header(appended);
        EXPECT_EQ(appended, "Host: " + o.host_header()) << url;
        return o.host_header();
    };
    EXPECT_EQ(host("https://api.anthropic.com"), "api.anthropic.com");
    EXPECT_EQ(host("https://api.anthropic.com:8443"), "api.anthropic.com:8443");
    EXPECT_EQ(host("http://127.0.0.1"), "127.0.0.1");
    EXPECT_EQ(host("http://127.0.0.1:443"), "127.0.0.1:443");
    EXPECT_EQ(host("http://[::1]:8080"), "[::1]:8080");
    EXPECT_EQ(host("https://[::1]"), "[::1]");
}

TEST(AnthropicFormat, MapsTheModelByChangingOnlyItsBytes) {
    auto pc = provider("zai");
    pc.model_mapping = {{"claude-sonnet-4-5", "glm-4.7 \"quoted\""}};
    const std::string body =
        "{ \"messages\": [{\"role\":\"user\",\"content\":\"h\u00e9\"}],\n  \"model\":\"claude-sonnet-4-5\",\"x\":1.50 }";
    Prepared r = prepare(*make_provider(pc), body);
    std::string expected = body;
    expected.replace(expected.find("\"claude-sonnet-4-5\""), 19, "\"glm-4.7 \\\"quoted\\\"\"");
    EXPECT_EQ(r.body, expected);
    EXPECT_EQ(r.path, "/api/anthropic/v1/messages?beta=true");
    EXPECT_EQ(r.headers["Authorization"], "Bearer sk-upstream");
}

TEST(AnthropicFormat, AnUnmappedModelLeavesTheBodyAlone) {
    auto pc = provider("anthropic");
    pc.model_mapping = {{"other", "x"}};
    const std::string body = R"({"model":"claude","system":[{"type":"text","text":"x-anthropic-billing-header: a"}]})";
    Prepared r = prepare(*make_provider(pc), body);
    EXPECT_EQ(r.body, body) << "anthropic keeps Claude Code's billing block by default";
    EXPECT_EQ(r.headers["x-api-key"], "sk-upstream");
}

TEST(AnthropicFormat, OtherTypesDropTheBillingBlockUnlessTold) {
    const std::string body =
        R"({"model":"m","system":[{"type":"text","text":"x-anthropic-billing-header: cch=1;"},{"type":"text","text":"You are"}]})";
    EXPECT_EQ(prepare(*make_provider(provider("deepseek")), body).body,
              R"({"model":"m","system":[{"type":"text","text":"You are"}]})");
    auto keep = provider("deepseek");
    keep.strip_billing_header = false;
    EXPECT_EQ(prepare(*make_provider(keep), body).body, body);
    auto strip = provider("anthropic");
    strip.strip_billing_header = true;
    EXPECT_EQ(prepare(*make_provider(strip), body).body,
              R"({"model":"m","system":[{"type":"text","text":"You are"}]})");
}

TEST(AnthropicFormat, BetaHeadersFollowTheProvidersFilter) {
    const std::string body = R"({"model":"m"})";
    const std::string betas = "claude-code-20250219, oauth-2025-04-20,context-1m-2025-08-07";
    EXPECT_FALSE(prepare(*make_provider(provider("anthropic")), body, betas).beta) << "no filter: unchanged";
    auto deny = provider("anthropic");
    deny.beta_headers = {true, shared::BetaFilter::Mode::deny, {"oauth-2025-04-20"}};
    EXPECT_EQ(prepare(*make_provider(deny), body, betas).beta, "claude-code-20250219,context-1m-2025-08-07");
    auto allow = provider("anthropic");
    allow.beta_headers = {true, shared::BetaFilter::Mode::allow, {"context-1m-2025-08-07"}};
    EXPECT_EQ(prepare(*make_provider(allow), body, betas).beta, "context-1m-2025-08-07");
    allow.beta_headers.values = {"none-of-these"};
    EXPECT_EQ(prepare(*make_provider(allow), body, betas).beta, "") << "every value filtered: the header is dropped";
}

}  // namespace
}  // namespace ccr::worker
