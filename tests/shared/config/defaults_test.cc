// Built-in knowledge: the provider table, the default config and its YAML, listen parsing,
// discovery and the shared-memory name.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/shared/config/fake_env.h"

namespace ccr::shared {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ProviderTypes, TableHoldsTheElevenSupportedTypesWithTheirDefaults) {
    std::vector<std::string> names;
    for (const ProviderTypeInfo& t : provider_types()) names.emplace_back(t.type);
    EXPECT_THAT(names, ElementsAre("anthropic", "zai", "minimax", "deepseek", "moonshot",
                                   "openrouter", "ollama", "bedrock", "vertex", "azure",
                                   "foundry"));
    const ProviderTypeInfo* zai = find_provider_type("zai");
    ASSERT_NE(zai, nullptr);
    EXPECT_STREQ(zai->owner, "zhipu");
    EXPECT_STREQ(zai->default_base_url, "https://api.z.ai/api/anthropic");
    EXPECT_TRUE(zai->bearer_auth);
    EXPECT_FALSE(zai->serves_count_tokens);
    EXPECT_TRUE(zai->needs_key);
}

TEST(ProviderTypes, AnthropicAndTheCloudsServeCountTokensAndNeedNoKeys) {
    for (const ProviderTypeInfo& t : provider_types()) {
        const std::string type = t.type;
        const bool cloud = type == "bedrock" || type == "vertex" || type == "azure" ||
                           type == "foundry";
        EXPECT_EQ(t.serves_count_tokens, type == "anthropic" || cloud) << type;
        EXPECT_EQ(t.needs_key, type != "anthropic" && type != "ollama" && !cloud) << type;
    }
}

TEST(ProviderTypes, CloudTypesHaveOwnersComputedUrlsAndTheAnthropicModels) {
    const std::pair<const char*, const char*> owners[] = {
        {"bedrock", "aws"}, {"vertex", "google"}, {"azure", "microsoft"}, {"foundry", "microsoft"}};
    for (const auto& [type, owner] : owners) {
        const ProviderTypeInfo* info = find_provider_type(type);
        ASSERT_NE(info, nullptr) << type;
        EXPECT_STREQ(info->owner, owner);
        EXPECT_STREQ(info->default_base_url, "") << "computed by shared/cloud/endpoints.h";
        EXPECT_FALSE(info->bearer_auth) << type;
        EXPECT_EQ(default_models(type), default_models("anthropic")) << type;
    }
}

TEST(ProviderTypes, EveryTypeHasDefaultModels) {
    for (const ProviderTypeInfo& t : provider_types()) {
        EXPECT_THAT(default_models(t.type), ::testing::Not(IsEmpty())) << t.type;
    }
    EXPECT_THAT(default_models("deepseek"), ElementsAre("deepseek-chat", "deepseek-reasoner"));
    EXPECT_THAT(default_models("unknown"), IsEmpty());
}

TEST(DefaultConfig, ListensOnLoopback8787AndPassesThroughToAnthropic) {
    const Config cfg = default_config();
    EXPECT_EQ(cfg.server.listen, "127.0.0.1:8787");
    EXPECT_TRUE(cfg.server.effective_api_key().empty());
    EXPECT_FALSE(cfg.server.bearer_enabled());
    ASSERT_EQ(cfg.providers.size(), 1u);
    EXPECT_EQ(cfg.providers[0].name, "anthropic");
    EXPECT_EQ(cfg.providers[0].type, "anthropic");
    EXPECT_TRUE(cfg.providers[0].enabled);
    EXPECT_THAT(cfg.providers[0].keys, IsEmpty());
    EXPECT_EQ(cfg.source, "<built-in>");
}

TEST(DefaultConfig, LoadingTheDefaultYamlGivesTheDefaultConfig) {
    testing::fake_vars().clear();  // the YAML must not depend on the environment
    const Config loaded = load_config_text(default_config_yaml(), "init.yaml", &testing::fake_env);
    const Config built_in = default_config();
    EXPECT_EQ(loaded.server, built_in.server);
    EXPECT_EQ(loaded.routing, built_in.routing);
    EXPECT_EQ(loaded.providers, built_in.providers);
    EXPECT_EQ(loaded.logging, built_in.logging);
    EXPECT_EQ(loaded.health, built_in.health);
    EXPECT_THAT(loaded.warnings, IsEmpty());
}

TEST(ParseListen, AcceptsHostPortBracketedIpv6AndBarePort) {
    const auto a = parse_listen("127.0.0.1:8787");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 8787);
    const auto b = parse_listen("[::1]:443");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->host, "::1");
    EXPECT_EQ(b->port, 443);
    const auto c = parse_listen(":0");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->host, "");
    EXPECT_EQ(c->port, 0);
    const auto d = parse_listen("localhost:65535");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->port, 65535);
}

TEST(ParseListen, RejectsMalformedAddresses) {
    for (const char* bad : {"", "8787", "host:", "host:65536", "host:-1", "host:80x", "::1:80",
                            "[::1]80", "[]:80", "[::1", "my host:80", "http://h:80"}) {
        EXPECT_FALSE(parse_listen(bad)) << bad;
    }
}

TEST(ShmName, ComesFromTheConfigOrElseFromThePort) {
    Config cfg = default_config();
    EXPECT_EQ(shm_name_for(cfg), "/cc-relay-8787");
    cfg.server.listen = "[::]:9000";
    EXPECT_EQ(shm_name_for(cfg), "/cc-relay-9000");
    cfg.server.shm_name = "/mine";
    EXPECT_EQ(shm_name_for(cfg), "/mine");
}

class ConfigDiscovery : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ = std::filesystem::temp_directory_path() /
                ("ccr-discovery-" + std::to_string(::getpid()));
        std::filesystem::create_directories(root_ / "cwd");
        std::filesystem::create_directories(root_ / "home/.config/cc-relay");
        old_cwd_ = std::filesystem::current_path();
        std::filesystem::current_path(root_ / "cwd");
        const char* home = std::getenv("HOME");
        old_home_ = home ? home : "";
        ::setenv("HOME", (root_ / "home").c_str(), 1);
    }
    void TearDown() override {
        std::filesystem::current_path(old_cwd_);
        ::setenv("HOME", old_home_.c_str(), 1);
        std::filesystem::remove_all(root_);
    }

    std::filesystem::path root_;
    std::filesystem::path old_cwd_;
    std::string old_home_;
};

TEST_F(ConfigDiscovery, ExplicitPathWinsEvenWhenItDoesNotExist) {
    std::ofstream("config.yaml") << "{}\n";
    EXPECT_EQ(discover_config_path("/nonexistent/x.yaml"), "/nonexistent/x.yaml");
    EXPECT_THROW(load_config("/nonexistent/x.yaml"), ConfigError);
}

TEST_F(ConfigDiscovery, WorkingDirectoryConfigComesBeforeTheHomeConfig) {
    std::ofstream(root_ / "home/.config/cc-relay/config.yaml") << "{}\n";
    std::ofstream("config.yaml") << "{}\n";
    EXPECT_EQ(discover_config_path(""), "config.yaml");
}

TEST_F(ConfigDiscovery, HomeConfigIsFoundWhenTheWorkingDirectoryHasNone) {
    const auto home_config = root_ / "home/.config/cc-relay/config.yaml";
    std::ofstream(home_config) << "server: {listen: ':0'}\n"
                               << "providers: [{name: a, type: anthropic, enabled: true}]\n";
    EXPECT_EQ(discover_config_path(""), home_config.string());
    EXPECT_EQ(load_config("").server.listen, ":0");
}

TEST_F(ConfigDiscovery, NothingFoundMeansTheBuiltInDefault) {
    if (std::filesystem::exists("/etc/cc-relay/config.yaml")) {
        GTEST_SKIP() << "/etc/cc-relay/config.yaml exists on this machine";
    }
    EXPECT_EQ(discover_config_path(""), std::nullopt);
    EXPECT_EQ(load_config("").source, "<built-in>");
}

}  // namespace
}  // namespace ccr::shared
