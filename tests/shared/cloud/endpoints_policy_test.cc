// Computed endpoints by type and region, and the beta and billing defaults.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shared/cloud/endpoints.h"
#include "shared/cloud/request_policy.h"
#include "tests/shared/config/fake_env.h"

namespace ccr::shared::cloud {
namespace {

using shared::testing::fake_env;
using shared::testing::fake_vars;

ProviderConfig of_type(const std::string& type) {
    ProviderConfig p;
    p.name = "p";
    p.type = type;
    return p;
}

TEST(CloudEndpoints, BedrockUsesTheResolvedRegion) {
    fake_vars().clear();
    ProviderConfig p = of_type("bedrock");
    EXPECT_EQ(effective_base_url(p, &fake_env), "");
    fake_vars()["AWS_DEFAULT_REGION"] = "eu-central-1";
    EXPECT_EQ(effective_base_url(p, &fake_env),
              "https://bedrock-runtime.eu-central-1.amazonaws.com");
    p.aws_region = "us-west-2";
    EXPECT_EQ(effective_base_url(p, &fake_env), "https://bedrock-runtime.us-west-2.amazonaws.com");
}

TEST(CloudEndpoints, VertexHostDependsOnTheRegion) {
    fake_vars().clear();
    ProviderConfig p = of_type("vertex");
    EXPECT_EQ(effective_base_url(p, &fake_env), "");
    const std::pair<const char*, const char*> cases[] = {
        {"global", "https://aiplatform.googleapis.com"},
        {"us", "https://aiplatform.us.rep.googleapis.com"},
        {"eu", "https://aiplatform.eu.rep.googleapis.com"},
        {"us-east5", "https://us-east5-aiplatform.googleapis.com"},
        {"europe-west1", "https://europe-west1-aiplatform.googleapis.com"},
    };
    for (const auto& [region, url] : cases) {
        p.gcp_region = region;
        EXPECT_EQ(effective_base_url(p, &fake_env), url) << region;
    }
}

TEST(CloudEndpoints, AzureAndFoundryUseTheResource) {
    fake_vars().clear();
    for (const char* type : {"azure", "foundry"}) {
        ProviderConfig p = of_type(type);
        EXPECT_EQ(effective_base_url(p, &fake_env), "");
        p.azure_resource_name = "my-res";
        EXPECT_EQ(effective_base_url(p, &fake_env),
                  "https://my-res.services.ai.azure.com/anthropic");
    }
}

TEST(CloudEndpoints, BaseUrlOverridesEveryType) {
    fake_vars().clear();
    for (const char* type : {"anthropic", "zai", "bedrock", "vertex", "azure", "foundry"}) {
        ProviderConfig p = of_type(type);
        p.aws_region = "us-east-1";
        p.gcp_region = "global";
        p.azure_resource_name = "r";
        p.base_url = "https://gateway.internal/x";
        EXPECT_EQ(effective_base_url(p, &fake_env), "https://gateway.internal/x") << type;
    }
}

TEST(CloudEndpoints, OtherTypesTakeTheTableDefault) {
    EXPECT_EQ(effective_base_url(of_type("anthropic"), &fake_env), "https://api.anthropic.com");
    EXPECT_EQ(effective_base_url(of_type("ollama"), &fake_env), "http://localhost:11434");
    EXPECT_EQ(effective_base_url(of_type("nope"), &fake_env), "");
}

TEST(CloudRequestPolicy, BedrockAndVertexDropFirstPartyBetasByDefault) {
    for (const char* type : {"bedrock", "vertex"}) {
        const BetaFilter& f = effective_beta_filter(of_type(type));
        EXPECT_FALSE(beta_allowed(f, "claude-code-20250219")) << type;
        EXPECT_FALSE(beta_allowed(f, "oauth-2025-04-20")) << type;
        EXPECT_FALSE(beta_allowed(f, " prompt-caching-scope-2026-01-05 ")) << type;
        EXPECT_TRUE(beta_allowed(f, "interleaved-thinking-2025-05-14")) << type;
        EXPECT_TRUE(beta_allowed(f, "context-1m-2025-08-07")) << type;
    }
    EXPECT_TRUE(beta_allowed(effective_beta_filter(of_type("bedrock")), "effort-2025-11-24"));
    EXPECT_FALSE(beta_allowed(effective_beta_filter(of_type("vertex")), "effort-2025-11-24"));
}

TEST(CloudRequestPolicy, OtherTypesPassEveryBeta) {
    for (const char* type : {"anthropic", "azure", "foundry", "zai"}) {
        EXPECT_TRUE(beta_allowed(effective_beta_filter(of_type(type)), "oauth-2025-04-20")) << type;
    }
}

TEST(CloudRequestPolicy, ConfiguredFilterReplacesTheDefault) {
    ProviderConfig p = of_type("bedrock");
    p.beta_headers = {true, BetaFilter::Mode::allow, {"context-1m-2025-08-07"}};
    const BetaFilter& f = effective_beta_filter(p);
    EXPECT_EQ(&f, &p.beta_headers);
    EXPECT_TRUE(beta_allowed(f, "context-1m-2025-08-07"));
    EXPECT_FALSE(beta_allowed(f, "interleaved-thinking-2025-05-14"));

    p.beta_headers = {true, BetaFilter::Mode::deny, {"interleaved-thinking-2025-05-14"}};
    EXPECT_TRUE(beta_allowed(effective_beta_filter(p), "claude-code-20250219"));
    EXPECT_FALSE(beta_allowed(effective_beta_filter(p), "interleaved-thinking-2025-05-14"));
}

TEST(CloudRequestPolicy, BillingHeaderIsStrippedForEveryTypeButAnthropicUnlessSet) {
    for (const char* type : {"bedrock", "vertex", "azure", "foundry", "zai", "ollama"}) {
        EXPECT_TRUE(effective_strip_billing(of_type(type))) << type;
    }
    ProviderConfig a = of_type("anthropic");
    EXPECT_FALSE(effective_strip_billing(a));
    a.strip_billing_header = true;
    EXPECT_TRUE(effective_strip_billing(a));
    ProviderConfig b = of_type("bedrock");
    b.strip_billing_header = false;
    EXPECT_FALSE(effective_strip_billing(b));
}

}  // namespace
}  // namespace ccr::shared::cloud
