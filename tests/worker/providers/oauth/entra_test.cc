#include "worker/providers/oauth/entra.h"

#include <gtest/gtest.h>

namespace ccr::worker::oauth {
namespace {

std::optional<std::string> no_env(const std::string&) { return std::nullopt; }
std::optional<std::string> env_with_authority(const std::string& name) {
    if (name == "AZURE_AUTHORITY_HOST") return "https://login.microsoftonline.us/";
    return std::nullopt;
}

shared::ProviderConfig entra_config() {
    shared::ProviderConfig cfg;
    cfg.name = "foundry";
    cfg.azure_tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    cfg.azure_client_id = "client-1";
    cfg.azure_client_secret = "a~b c&d=e";
    return cfg;
}

TEST(Entra, ClientCredentialsFormIsEncodedForTheFoundryScope) {
    TokenRequest req = entra_token_request(load_entra_credentials(entra_config(), &no_env));
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(
        req.url,
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token");
    EXPECT_EQ(req.form,
              "grant_type=client_credentials&client_id=client-1&client_secret=a~b+c%26d%3De"
              "&scope=https%3A%2F%2Fai.azure.com%2F.default");
    EXPECT_TRUE(req.headers.empty());
}

TEST(Entra, AuthorityHostComesFromConfigThenEnvironmentWithOrWithoutScheme) {
    shared::ProviderConfig cfg = entra_config();
    cfg.azure_tenant_id = "contoso.onmicrosoft.com";
    EXPECT_EQ(load_entra_credentials(cfg, &env_with_authority).token_url,
              "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token");
    cfg.azure_authority_host = "login.chinacloudapi.cn";
    EXPECT_EQ(load_entra_credentials(cfg, &env_with_authority).token_url,
              "https://login.chinacloudapi.cn/contoso.onmicrosoft.com/oauth2/v2.0/token");
    cfg.azure_authority_host = "http://127.0.0.1:8080/";
    EXPECT_EQ(load_entra_credentials(cfg, &no_env).token_url,
              "http://127.0.0.1:8080/contoso.onmicrosoft.com/oauth2/v2.0/token");
    cfg.azure_authority_host = "ftp://example.com";
    EXPECT_THROW(load_entra_credentials(cfg, &no_env), std::runtime_error);
}

TEST(Entra, MissingCredentialsAreAllNamed) {
    shared::ProviderConfig cfg;
    cfg.name = "foundry";
    cfg.azure_client_secret = "hunter2";
    try {
        load_entra_credentials(cfg, &no_env);
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(
            e.what(),
            "provider foundry: Entra ID client credentials lack azure_tenant_id, azure_client_id");
    }
}

}  // namespace
}  // namespace ccr::worker::oauth
