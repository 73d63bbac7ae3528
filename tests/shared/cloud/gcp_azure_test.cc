// Vertex and Foundry settings: what is required, which credential is used, and the problems.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shared/cloud/azure.h"
#include "shared/cloud/gcp.h"
#include "tests/shared/cloud/temp_dir.h"
#include "tests/shared/config/fake_env.h"

namespace ccr::shared::cloud {
namespace {

using shared::testing::fake_env;
using shared::testing::fake_vars;
using shared::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Severity = Problem::Severity;

constexpr const char* kServiceAccount = R"({
  "type": "service_account",
  "project_id": "p",
  "private_key_id": "k",
  "private_key": "-----BEGIN PRIVATE KEY-----\nPRIVATEBITS\n-----END PRIVATE KEY-----\n",
  "client_email": "relay@p.iam.gserviceaccount.com",
  "token_uri": "https://oauth2.googleapis.com/token"
})";

class GcpResolve : public ::testing::Test {
  protected:
    void SetUp() override { fake_vars().clear(); }
    static ProviderConfig vertex() {
        ProviderConfig p;
        p.name = "v";
        p.type = "vertex";
        p.enabled = true;
        p.gcp_project_id = "p";
        p.gcp_region = "us-east5";
        return p;
    }
    TempDir dir_;
};

TEST_F(GcpResolve, ConfigKeyFileIsUsed) {
    ProviderConfig p = vertex();
    p.gcp_credentials_file = dir_.write("sa.json", kServiceAccount);
    fake_vars()["GOOGLE_APPLICATION_CREDENTIALS"] = "/nonexistent";
    const GcpResolution r = resolve_gcp(p, &fake_env);
    EXPECT_THAT(r.problems, IsEmpty());
    EXPECT_EQ(r.credentials_file, p.gcp_credentials_file);
    EXPECT_EQ(r.credentials_source, "config");
    EXPECT_EQ(r.credentials_type, "service_account");
    EXPECT_EQ(r.project_id, "p");
    EXPECT_EQ(r.region, "us-east5");
}

TEST_F(GcpResolve, GoogleApplicationCredentialsIsUsedWhenTheConfigHasNoFile) {
    const std::string file = dir_.write(
        "adc.json",
        R"({"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"})");
    fake_vars()["GOOGLE_APPLICATION_CREDENTIALS"] = file;
    const GcpResolution r = resolve_gcp(vertex(), &fake_env);
    EXPECT_THAT(r.problems, IsEmpty());
    EXPECT_EQ(r.credentials_file, file);
    EXPECT_EQ(r.credentials_source, "GOOGLE_APPLICATION_CREDENTIALS");
    EXPECT_EQ(r.credentials_type, "authorized_user");
}

TEST_F(GcpResolve, WithoutAnyFileTheMetadataServerIsUsedWithAWarning) {
    const GcpResolution r = resolve_gcp(vertex(), &fake_env);
    EXPECT_TRUE(r.uses_metadata_server());
    EXPECT_EQ(r.credentials_source, "metadata server");
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].severity, Severity::warning);
    EXPECT_THAT(r.problems[0].message, HasSubstr("metadata server"));
}

TEST_F(GcpResolve, ProjectAndRegionAreRequired) {
    ProviderConfig p = vertex();
    p.gcp_project_id.clear();
    p.gcp_region.clear();
    p.gcp_credentials_file = dir_.write("sa.json", kServiceAccount);
    const GcpResolution r = resolve_gcp(p, &fake_env);
    ASSERT_EQ(r.problems.size(), 2u);
    EXPECT_EQ(r.problems[0].key, "gcp_project_id");
    EXPECT_EQ(r.problems[1].key, "gcp_region");
    EXPECT_TRUE(has_error(r.problems));
}

TEST_F(GcpResolve, MissingOrWrongKeyFilesAreErrorsThatNeverQuoteTheFile) {
    ProviderConfig p = vertex();
    const auto problem_for = [&](const std::string& file) {
        p.gcp_credentials_file = file;
        const GcpResolution r = resolve_gcp(p, &fake_env);
        EXPECT_EQ(r.problems.size(), 1u) << file;
        if (r.problems.empty()) return std::string();
        EXPECT_EQ(r.problems[0].severity, Severity::error);
        EXPECT_EQ(r.problems[0].key, "gcp_credentials_file");
        return r.problems[0].message;
    };
    EXPECT_THAT(problem_for(dir_.path() + "/none.json"), HasSubstr("which does not exist"));
    EXPECT_THAT(problem_for(dir_.path()), HasSubstr("which is not a regular file"));
    EXPECT_THAT(problem_for(dir_.write("x.json", "not json")), HasSubstr("not a JSON key file"));
    EXPECT_THAT(problem_for(dir_.write("e.json", R"({"type": "external_account"})")),
                HasSubstr("its \"type\" is \"external_account\""));
    const std::string no_key = problem_for(dir_.write(
        "n.json",
        R"({"type": "service_account", "client_email": "a@b", "private_key_id": "PRIVATEBITS"})"));
    EXPECT_THAT(no_key, HasSubstr("service_account key file without \"private_key\""));
    EXPECT_THAT(no_key, Not(HasSubstr("PRIVATEBITS")));
}

TEST_F(GcpResolve, BadGoogleApplicationCredentialsIsAnErrorAtTheProvider) {
    fake_vars()["GOOGLE_APPLICATION_CREDENTIALS"] = dir_.path() + "/gone.json";
    const GcpResolution r = resolve_gcp(vertex(), &fake_env);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].key, "");
    EXPECT_THAT(r.problems[0].message, HasSubstr("GOOGLE_APPLICATION_CREDENTIALS names \""));
}

class AzureResolve : public ::testing::Test {
  protected:
    void SetUp() override { fake_vars().clear(); }
    static ProviderConfig foundry() {
        ProviderConfig p;
        p.name = "f";
        p.type = "foundry";
        p.enabled = true;
        p.azure_resource_name = "res";
        return p;
    }
    static ProviderConfig with_entra(ProviderConfig p) {
        p.azure_tenant_id = "t";
        p.azure_client_id = "c";
        p.azure_client_secret = "client-secret-value";
        return p;
    }
};

TEST_F(AzureResolve, KeysAreUsed) {
    ProviderConfig p = foundry();
    p.keys.push_back({.key = "k"});
    const AzureResolution r = resolve_azure(p, &fake_env);
    EXPECT_EQ(r.auth, AzureResolution::Auth::keys);
    EXPECT_THAT(r.problems, IsEmpty());
}

TEST_F(AzureResolve, EntraTrioIsUsedWithTheDefaultOrConfiguredAuthority) {
    AzureResolution r = resolve_azure(with_entra(foundry()), &fake_env);
    EXPECT_EQ(r.auth, AzureResolution::Auth::entra_id);
    EXPECT_EQ(r.tenant_id, "t");
    EXPECT_EQ(r.client_secret, "client-secret-value");
    EXPECT_EQ(r.authority_host, "https://login.microsoftonline.com");
    EXPECT_THAT(r.problems, IsEmpty());

    fake_vars()["AZURE_AUTHORITY_HOST"] = "login.microsoftonline.us";
    EXPECT_EQ(resolve_azure(with_entra(foundry()), &fake_env).authority_host,
              "https://login.microsoftonline.us");
    ProviderConfig p = with_entra(foundry());
    p.azure_authority_host = "https://login.chinacloudapi.cn/";
    EXPECT_EQ(resolve_azure(p, &fake_env).authority_host, "https://login.chinacloudapi.cn");
}

TEST_F(AzureResolve, PartialTrioNamesWhatIsMissing) {
    ProviderConfig p = foundry();
    p.azure_client_id = "c";
    const AzureResolution r = resolve_azure(p, &fake_env);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].key, "azure_client_id");
    EXPECT_THAT(r.problems[0].message, HasSubstr("missing: azure_tenant_id, azure_client_secret"));
}

TEST_F(AzureResolve, KeysAndEntraTogetherIsAnError) {
    ProviderConfig p = with_entra(foundry());
    p.keys.push_back({.key = "k"});
    const AzureResolution r = resolve_azure(p, &fake_env);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].key, "keys");
    EXPECT_THAT(r.problems[0].message, HasSubstr("not both"));
    EXPECT_THAT(r.problems[0].message, Not(HasSubstr("client-secret-value")));
}

TEST_F(AzureResolve, NoResourceNoBaseUrlAndNoCredentialsAreErrors) {
    ProviderConfig p = foundry();
    p.azure_resource_name.clear();
    const AzureResolution r = resolve_azure(p, &fake_env);
    ASSERT_EQ(r.problems.size(), 2u);
    EXPECT_EQ(r.problems[0].key, "azure_resource_name");
    EXPECT_EQ(r.problems[1].key, "");
    EXPECT_THAT(r.problems[1].message, HasSubstr("no credentials"));
}

TEST_F(AzureResolve, SettingsFoundryDoesNotUseAreWarnings) {
    ProviderConfig p = foundry();
    p.keys.push_back({.key = "k"});
    p.azure_api_version = "2024-05-01";
    p.azure_deployment_id = "claude";
    p.azure_authority_host = "login.microsoftonline.us";
    p.base_url = "https://gateway.example/anthropic";
    const AzureResolution r = resolve_azure(p, &fake_env);
    std::vector<std::string> keys;
    for (const Problem& pr : r.problems) {
        EXPECT_EQ(pr.severity, Severity::warning) << pr.message;
        keys.push_back(pr.key);
    }
    EXPECT_EQ(keys, (std::vector<std::string>{"azure_api_version", "azure_deployment_id",
                                              "azure_resource_name", "azure_authority_host"}));
}

}  // namespace
}  // namespace ccr::shared::cloud
