// config.example.yaml at the repo root loads cleanly and mentions every key of the schema.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/shared/config/fake_env.h"

namespace ccr::shared {
namespace {

using ::testing::IsEmpty;

std::filesystem::path example_path() {
    // ctest sets CCR_SOURCE_DIR; run by hand, find the repo from this file's path.
    if (const char* dir = std::getenv("CCR_SOURCE_DIR"); dir != nullptr && *dir != '\0') {
        return std::filesystem::path(dir) / "config.example.yaml";
    }
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path() /
           "config.example.yaml";
}

std::string read_example() {
    std::ifstream in(example_path());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST(ConfigExample, LoadsWithoutErrorsOrWarnings) {
    testing::fake_vars() = {{"ANTHROPIC_API_KEY", "sk-ant"},
                            {"ZAI_API_KEY", "zai"},
                            {"CC_RELAY_KEY_ALICE", "sk-alice"},
                            {"CC_RELAY_KEY_BOB", "sk-bob"}};
    const Config cfg = load_config_file(example_path().string(), &testing::fake_env);
    EXPECT_THAT(cfg.warnings, IsEmpty());
    ASSERT_EQ(cfg.providers.size(), 3u);
    EXPECT_EQ(cfg.providers[0].keys[0].key, "sk-ant");
    EXPECT_EQ(cfg.server.auth.api_key, "");
    ASSERT_EQ(cfg.clients.size(), 2u);
    EXPECT_EQ(cfg.clients[0].key, "sk-alice");
    EXPECT_EQ(cfg.clients[0].rpm_limit, 30);
    EXPECT_EQ(cfg.clients[1].allowed_providers, std::vector<std::string>{"zai"});
    EXPECT_TRUE(cfg.auth_required());
}

TEST(ConfigExample, DocumentsEveryKeyOfTheSchema) {
    const std::string text = read_example();
    ASSERT_FALSE(text.empty()) << example_path();
    const char* keys[] = {
        // server
        "listen", "api_key", "max_body_bytes", "timeout_ms", "max_concurrent", "enable_http2",
        "workers", "cpu_affinity", "drain_timeout_ms", "read_header_timeout_ms", "idle_timeout_ms",
        "connect_timeout_ms", "response_header_timeout_ms", "max_open_files", "shm_name",
        "pid_file", "stats_group", "auth", "allow_bearer", "allow_subscription", "bearer_secret",
        // routing
        "strategy", "failover_timeout", "debug", "model_mapping", "default_provider",
        "max_attempts",
        // providers
        "name", "type", "enabled", "base_url", "models", "keys", "key", "rpm_limit", "itpm_limit",
        "otpm_limit", "tpm_limit", "priority", "weight", "pooling", "ca_file", "count_tokens",
        "aws_region", "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
        "aws_profile", "aws_bearer_token", "gcp_project_id", "gcp_region", "gcp_credentials_file",
        "azure_resource_name", "azure_api_version", "azure_deployment_id", "azure_tenant_id",
        "azure_client_id", "azure_client_secret", "azure_authority_host", "beta_headers", "deny",
        "strip_billing_header", "pricing",
        "input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok",
        // logging
        "level", "format", "output", "pretty", "debug_options", "log_request_body",
        "log_response_headers", "log_tls_metrics", "max_body_log_size",
        // health
        "health_check", "interval_ms", "circuit_breaker", "failure_threshold", "open_duration_ms",
        "half_open_probes",
        // clients
        "clients", "tpm_limit", "daily_token_budget", "allowed_providers"};
    for (const char* key : keys) {
        EXPECT_NE(text.find(std::string(key) + ":"), std::string::npos) << key;
    }
}

}  // namespace
}  // namespace ccr::shared
