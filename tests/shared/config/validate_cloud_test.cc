// Validation of the cloud providers: every problem at once, each at the key it concerns, warnings
// for settings not in effect, and no secret in any message.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/shared/cloud/temp_dir.h"
#include "tests/shared/config/fake_env.h"

namespace ccr::shared {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using testing::fake_vars;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::kOneProvider;
using testing::load;
using testing::load_error;
using ::testing::Not;

class CloudValidation : public ::testing::Test {
  protected:
    void SetUp() override { fake_vars() = {{"HOME", home_.path()}}; }
    testing::TempDir home_;
};

TEST_F(CloudValidation, EveryCloudProblemIsReportedAtOnceWithItsPosition) {
    const std::string error = load_error(R"(providers:
  - name: b
    type: bedrock
    enabled: true
    aws_access_key_id: AKIDONLY
  - name: v
    type: vertex
    enabled: true
  - name: f
    type: foundry
    enabled: true
    azure_tenant_id: t
)");
    EXPECT_THAT(error, HasSubstr("failed with 6 errors"));
    // bedrock: the lone key at its value; no region at the provider item.
    EXPECT_THAT(error, HasSubstr("config.yaml:2:5: provider \"b\" (bedrock): no AWS region: set "
                                 "aws_region (or AWS_REGION or AWS_DEFAULT_REGION"));
    EXPECT_THAT(error, HasSubstr("config.yaml:5:24: provider \"b\" (bedrock): aws_access_key_id "
                                 "is set but aws_secret_access_key is not"));
    EXPECT_THAT(error, HasSubstr("config.yaml:6:5: provider \"v\" (vertex): gcp_project_id is "
                                 "required"));
    EXPECT_THAT(error,
                HasSubstr("config.yaml:6:5: provider \"v\" (vertex): gcp_region is required"));
    EXPECT_THAT(error, HasSubstr("config.yaml:9:5: provider \"f\" (foundry): azure_resource_name "
                                 "(or base_url) is required"));
    EXPECT_THAT(error, HasSubstr("config.yaml:12:22: provider \"f\" (foundry): Entra ID client "
                                 "credentials need azure_tenant_id, azure_client_id and "
                                 "azure_client_secret together; missing: azure_client_id, "
                                 "azure_client_secret"));
    // The vertex entry has no key file: the metadata-server warning comes along.
    EXPECT_THAT(error, HasSubstr("metadata server"));
    EXPECT_THAT(error, Not(HasSubstr("AKIDONLY")));
}

TEST_F(CloudValidation, BedrockWithoutCredentialsSaysWhereItLooked) {
    const std::string error = load_error(
        "providers:\n  - {name: b, type: bedrock, enabled: true, aws_region: us-east-1, "
        "aws_profile: work}\n");
    EXPECT_THAT(error, HasSubstr("config.yaml:2:81: provider \"b\" (bedrock): no AWS credentials "
                                 "found: looked at aws_access_key_id/aws_secret_access_key in the "
                                 "config, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the "
                                 "environment and profile \"work\" (from aws_profile) in " +
                                 home_.path() + "/.aws/credentials, which does not exist"));
}

TEST_F(CloudValidation, BedrockWithAProfileOrAnApiKeyLoads) {
    home_.write(".aws/credentials", "[work]\naws_access_key_id=A\naws_secret_access_key=S\n");
    Config cfg = load(
        "providers:\n  - {name: b, type: bedrock, enabled: true, aws_region: "
        "us-east-1, aws_profile: work}\n");
    EXPECT_THAT(cfg.warnings, IsEmpty());
    fake_vars()["AWS_REGION"] = "eu-west-3";
    cfg = load("providers:\n  - {name: b, type: bedrock, enabled: true, aws_bearer_token: k}\n");
    EXPECT_THAT(cfg.warnings, IsEmpty());
}

TEST_F(CloudValidation, BedrockRegionMustBeAHostLabel) {
    fake_vars()["AWS_BEARER_TOKEN_BEDROCK"] = "k";
    EXPECT_THAT(load_error("providers:\n  - {name: b, type: bedrock, enabled: true, "
                           "aws_region: 'evil.com/x'}\n"),
                HasSubstr("config.yaml:2:57: provider \"b\" (bedrock): the AWS region must be a "
                          "name like \"us-east-1\" (got \"evil.com/x\" from config)"));
}

TEST_F(CloudValidation, KeysOnBedrockAndVertexAreNotInEffect) {
    fake_vars()["AWS_BEARER_TOKEN_BEDROCK"] = "k";
    fake_vars()["AWS_REGION"] = "us-east-1";
    const Config cfg = load(R"(providers:
  - name: b
    type: bedrock
    enabled: true
    keys:
      - key: sk-should-be-bearer
  - name: v
    type: vertex
    enabled: true
    gcp_project_id: p
    gcp_region: global
    keys: [{key: k}]
)");
    EXPECT_THAT(cfg.warnings,
                Contains(AllOf(HasSubstr("config.yaml:6:7: provider \"b\" (bedrock): keys are not "
                                         "in effect on a bedrock provider: a Bedrock API key goes "
                                         "in aws_bearer_token"),
                               Not(HasSubstr("sk-should-be-bearer")))));
    EXPECT_THAT(cfg.warnings, Contains(HasSubstr("config.yaml:12:11: provider \"v\" (vertex): keys "
                                                 "are not in effect on a vertex provider")));
}

TEST_F(CloudValidation, VertexKeyFileMustExistAndItsAbsenceMeansTheMetadataServer) {
    EXPECT_THAT(
        load_error("providers:\n  - {name: v, type: vertex, enabled: true, gcp_project_id: "
                   "p, gcp_region: us-east5, gcp_credentials_file: /nonexistent/sa.json}\n"),
        HasSubstr("config.yaml:2:107: provider \"v\" (vertex): gcp_credentials_file "
                  "\"/nonexistent/sa.json\", which does not exist"));
    const Config cfg = load(
        "providers:\n  - {name: v, type: vertex, enabled: true, "
        "gcp_project_id: p, gcp_region: us-east5}\n");
    ASSERT_EQ(cfg.warnings.size(), 1u);
    EXPECT_THAT(cfg.warnings[0],
                HasSubstr("config.yaml:2:5: provider \"v\" (vertex): neither "
                          "gcp_credentials_file nor GOOGLE_APPLICATION_CREDENTIALS "
                          "is set: access tokens will come from the GCE/GKE "
                          "metadata server"));
}

TEST_F(CloudValidation, VertexWithAServiceAccountKeyLoads) {
    const std::string file = home_.write(
        "sa.json", R"({"type": "service_account", "client_email": "a@p.iam", "private_key": "x"})");
    const Config cfg = load(
        "providers:\n  - {name: v, type: vertex, enabled: true, "
        "gcp_project_id: p, gcp_region: global, gcp_credentials_file: " +
        file + "}\n");
    EXPECT_THAT(cfg.warnings, IsEmpty());
}

TEST_F(CloudValidation, FoundrySettingsItDoesNotUseWarnAndAzureIsTheSame) {
    for (const char* type : {"azure", "foundry"}) {
        const Config cfg = load(std::string(R"(providers:
  - name: f
    type: )") + type + R"(
    enabled: true
    azure_resource_name: res
    azure_api_version: "2024-05-01-preview"
    azure_deployment_id: claude-sonnet
    keys: [{key: k}]
)");
        ASSERT_EQ(cfg.warnings.size(), 2u) << type;
        EXPECT_THAT(cfg.warnings[0],
                    HasSubstr("config.yaml:6:24: provider \"f\" (" + std::string(type) +
                              "): azure_api_version is not in effect"));
        EXPECT_THAT(cfg.warnings[1], HasSubstr("azure_deployment_id is not in effect: on Foundry "
                                               "the deployment is the model name; map client "
                                               "model names to it with model_mapping"));
        EXPECT_EQ(cfg.providers[0].type, type);  // kept as written
    }
}

TEST_F(CloudValidation, FoundryWithKeysAndEntraIdTogetherIsAnError) {
    EXPECT_THAT(load_error(R"(providers:
  - name: f
    type: foundry
    enabled: true
    azure_resource_name: res
    azure_tenant_id: t
    azure_client_id: c
    azure_client_secret: entra-secret-value
    keys: [{key: k}]
)"),
                AllOf(HasSubstr("config.yaml:9:11: provider \"f\" (foundry): give keys or Entra "
                                "ID client credentials"),
                      Not(HasSubstr("entra-secret-value"))));
}

TEST_F(CloudValidation, FoundryWithoutCredentialsIsAnError) {
    EXPECT_THAT(load_error("providers:\n  - {name: f, type: azure, enabled: true, "
                           "azure_resource_name: res}\n"),
                HasSubstr("config.yaml:2:5: provider \"f\" (azure): no credentials: add keys"));
    EXPECT_THAT(load_error("providers:\n  - {name: f, type: azure, enabled: true, "
                           "azure_resource_name: 'res.evil', keys: [{key: k}]}\n"),
                HasSubstr("azure_resource_name must be a name of letters, digits and \"-\""));
}

TEST_F(CloudValidation, CloudSettingsOnAnotherTypeWarnWithoutShowingSecrets) {
    const Config cfg = load(R"(providers:
  - name: anthropic
    type: anthropic
    enabled: true
    aws_secret_access_key: aws-secret-value
    aws_bearer_token: bedrock-api-key-value
    aws_session_token: session-token-value
    azure_client_secret: azure-secret-value
    gcp_region: us-east5
)");
    ASSERT_EQ(cfg.warnings.size(), 5u);
    EXPECT_THAT(cfg.warnings[0], HasSubstr("config.yaml:5:28: providers[0].aws_secret_access_key "
                                           "has no effect on a provider of type \"anthropic\" "
                                           "(aws_* settings are for type bedrock)"));
    EXPECT_THAT(cfg.warnings[4], HasSubstr("providers[0].gcp_region has no effect"));
    for (const std::string& w : cfg.warnings) {
        for (const char* secret : {"aws-secret-value", "bedrock-api-key-value",
                                   "session-token-value", "azure-secret-value"}) {
            EXPECT_THAT(w, Not(HasSubstr(secret)));
        }
    }
}

TEST_F(CloudValidation, NoMessageEverQuotesASecret) {
    // Secrets put in the wrong shape or next to errors: the messages name keys, never values.
    const std::string error = load_error(R"(server:
  auth:
    api_key: [relay-key-value]
providers:
  - name: a
    type: zai
    enabled: true
    keys: sk-literal-key-value
  - name: b
    type: bedrock
    enabled: true
    aws_secret_access_key: aws-secret-value
    aws_session_token: session-token-value
  - name: f
    type: foundry
    enabled: true
    azure_resource_name: r
    azure_client_secret: azure-secret-value
    keys: ["pool-key-value"]
)");
    EXPECT_THAT(error, HasSubstr("providers[0].keys must be a list (got a single value)"));
    EXPECT_THAT(error, HasSubstr("providers[2].keys[0] must be a mapping (got a single value)"));
    EXPECT_THAT(error, HasSubstr("aws_secret_access_key is set but aws_access_key_id is not"));
    EXPECT_THAT(error, HasSubstr("missing: azure_tenant_id, azure_client_id"));
    for (const char* secret : {"relay-key-value", "sk-literal-key-value", "aws-secret-value",
                               "session-token-value", "azure-secret-value", "pool-key-value"}) {
        EXPECT_THAT(error, Not(HasSubstr(secret))) << secret;
    }
}

}  // namespace
}  // namespace ccr::shared
