// The cloud adapters' requests, without a network: path, body bytes and headers.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "shared/clock.h"
#include "shared/config/config.h"
#include "worker/providers/aws/sigv4.h"
#include "worker/providers/provider.h"
#include "worker/upstream/pool.h"

namespace ccr::worker {
namespace {

namespace net = boost::asio;

struct Prepared {
    std::string path;
    std::string body;
    std::map<std::string, std::string> headers;
    std::optional<std::string> beta;
    std::optional<PrepareError> error;
};

class Cloud : public ::testing::Test {
protected:
    net::io_context io;
    upstream::Pool pool{io};
    shared::FakeClock clock{1'000'000, 1'440'000'000'000};  // 2015-08-19T16:00:00Z
    ProviderDeps deps{&pool, &clock, std::chrono::milliseconds(1000)};

    Prepared prepare(const shared::ProviderConfig& pc, const std::string& body, std::string_view beta = {},
                     Endpoint endpoint = Endpoint::messages) {
        auto provider = make_provider(pc, deps);
        auto json = make_json_parser();
        const BodyInfo info = inspect_body(*json, body);
        EXPECT_TRUE(info.valid) << info.error;
        ClientCredentials creds;
        UpstreamRequest up("POST", endpoint == Endpoint::messages ? "/v1/messages?beta=true" : "/v1/messages/count_tokens",
                           body, body.capacity(), info, endpoint, creds, beta, 0, *json);
        Prepared out;
        // As the relay does: at once when the provider can, else awaited. A cloud provider that
        // took the Anthropic wire's prepare_now would fail the tests below.
        if (!provider->prepare_now(up)) {
            net::co_spawn(io, provider->prepare(up), [&](std::exception_ptr e, std::optional<PrepareError> r) {
                EXPECT_FALSE(e);
                out.error = r;
            });
            io.run();
            io.restart();
        }
        out.path = up.path;
        out.body = up.splice.str();
        out.beta = up.beta;
        for (const auto& f : up.headers) out.headers[std::string(f.name_string())] = std::string(f.value());
        return out;
    }
};

shared::ProviderConfig bedrock() {
    shared::ProviderConfig pc;
    pc.name = "bedrock";
    pc.type = "bedrock";
    pc.enabled = true;
    pc.aws_region = "us-east-1";
    pc.aws_access_key_id = "AKIDEXAMPLE";
    pc.aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    pc.model_mapping = {{"claude-sonnet-4-5", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}};
    return pc;
}

TEST_F(Cloud, BedrockInvokesTheMappedModelWithTheBodyItTakes) {
    const std::string body =
        R"({"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"system":[{"type":"text","text":"x-anthropic-billing-header: cch=1;"},{"type":"text","text":"sys"}],"messages":[{"role":"user","content":"hi"}]})";
    Prepared r = prepare(bedrock(), body, "claude-code-20250219,interleaved-thinking-2025-05-14");
    ASSERT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(r.path, "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke-with-response-stream");
    EXPECT_EQ(r.body,
              R"({"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["interleaved-thinking-2025-05-14"],"max_tokens":64,"system":[{"type":"text","text":"sys"}],"messages":[{"role":"user","content":"hi"}]})");
    EXPECT_EQ(r.beta, "interleaved-thinking-2025-05-14") << "claude-code-20250219 is on Bedrock's deny list";
    EXPECT_EQ(r.headers["X-Amz-Date"], "20150819T160000Z");
    EXPECT_EQ(r.headers["X-Amz-Content-Sha256"], aws::sha256_hex(std::string_view(r.body)));
    EXPECT_EQ(r.headers["Content-Type"], "application/json");
    EXPECT_EQ(r.headers["Authorization"].rfind(
                  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150819/us-east-1/bedrock/aws4_request, "
                  "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=",
                  0),
              0u)
        << r.headers["Authorization"];
}

TEST_F(Cloud, BedrockWithoutStreamInvokesAndAnApiKeyIsABearer) {
    auto pc = bedrock();
    pc.aws_access_key_id.clear();
    pc.aws_secret_access_key.clear();
    pc.aws_bearer_token = "bedrock-api-key-1";
    Prepared r = prepare(pc, R"({"max_tokens":5,"model":"anthropic.claude-v2"})");
    ASSERT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(r.path, "/model/anthropic.claude-v2/invoke");
    EXPECT_EQ(r.body, R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":5})");
    EXPECT_EQ(r.headers["Authorization"], "Bearer bedrock-api-key-1");
    EXPECT_EQ(r.headers.count("X-Amz-Date"), 0u);
}

TEST_F(Cloud, BedrockEncodesArnsAndCountsTokensThroughCountTokens) {
    auto pc = bedrock();
    pc.model_mapping = {{"m", "arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.x-v1:0"}};
    Prepared r = prepare(pc, R"({"model":"m","messages":[]})", {}, Endpoint::count_tokens);
    ASSERT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(r.path, "/model/arn:aws:bedrock:us-east-1:123:inference-profile%2Fus.anthropic.x-v1:0/count-tokens");
    // {"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[]}, base64-encoded.
    EXPECT_EQ(r.body,
              R"({"input":{"invokeModel":{"body":"eyJhbnRocm9waWNfdmVyc2lvbiI6ImJlZHJvY2stMjAyMy0wNS0zMSIsIm1heF90b2tlbnMiOjEsIm1lc3NhZ2VzIjpbXX0="}}})");
}

TEST_F(Cloud, FoundrySendsTheKeyBothWaysAndTheBodyUnchanged) {
    shared::ProviderConfig pc;
    pc.name = "foundry";
    pc.type = "foundry";
    pc.enabled = true;
    pc.azure_resource_name = "my-res";
    pc.keys.push_back({.key = "az-key"});
    const std::string body = R"({"model":"claude-sonnet-4-5","messages":[]})";
    Prepared r = prepare(pc, body);
    ASSERT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(r.path, "/anthropic/v1/messages?beta=true");
    EXPECT_EQ(r.body, body);
    EXPECT_EQ(r.headers["x-api-key"], "az-key");
    EXPECT_EQ(r.headers["api-key"], "az-key");
    EXPECT_EQ(make_provider(pc, deps)->origin().host, "my-res.services.ai.azure.com");
}

TEST_F(Cloud, VertexWithUnreadableCredentialsFailsTheAttemptNotTheWorker) {
    shared::ProviderConfig pc;
    pc.name = "vertex";
    pc.type = "vertex";
    pc.enabled = true;
    pc.gcp_project_id = "p";
    pc.gcp_region = "us-east5";
    pc.gcp_credentials_file = "/nonexistent/cc-relay-test-key.json";
    Prepared r = prepare(pc, R"({"model":"m"})");
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("cc-relay-test-key.json"), std::string::npos) << r.error->message;
}

}  // namespace
}  // namespace ccr::worker
