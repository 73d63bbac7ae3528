// Loading: every key reaches its field, types are checked with positions, unknown keys warn,
// and all errors come back together in one ConfigError.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/shared/config/fake_env.h"

namespace ccr::shared {
namespace {

using ::testing::ElementsAre;
using testing::fake_vars;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::kOneProvider;
using testing::load;
using testing::load_error;
using ::testing::Pair;

class ConfigLoader : public ::testing::Test {
  protected:
    void SetUp() override { fake_vars().clear(); }
};

TEST_F(ConfigLoader, EveryServerKeyReachesItsField) {
    const Config cfg = load(R"(
server:
  listen: "0.0.0.0:9999"
  api_key: legacy
  max_body_bytes: 1024
  timeout_ms: 5000
  max_concurrent: 7
  enable_http2: true
  workers: 3
  drain_timeout_ms: 1000
  read_header_timeout_ms: 2000
  idle_timeout_ms: 3000
  connect_timeout_ms: 4000
  response_header_timeout_ms: 6000
  max_open_files: 65536
  shm_name: /ccr-test
  pid_file: /run/cc-relay.pid
  auth:
    api_key: secret
    allow_bearer: yes
    allow_subscription: false
    bearer_secret: bs
)" + std::string(kOneProvider));
    const ServerConfig& s = cfg.server;
    EXPECT_EQ(s.listen, "0.0.0.0:9999");
    EXPECT_EQ(s.api_key, "legacy");
    EXPECT_EQ(s.max_body_bytes, 1024);
    EXPECT_EQ(s.timeout_ms, 5000);
    EXPECT_EQ(s.max_concurrent, 7);
    EXPECT_TRUE(s.enable_http2);
    EXPECT_EQ(s.workers, 3);
    EXPECT_EQ(s.drain_timeout_ms, 1000);
    EXPECT_EQ(s.read_header_timeout_ms, 2000);
    EXPECT_EQ(s.idle_timeout_ms, 3000);
    EXPECT_EQ(s.connect_timeout_ms, 4000);
    EXPECT_EQ(s.response_header_timeout_ms, 6000);
    EXPECT_EQ(s.max_open_files, 65536);
    EXPECT_EQ(s.shm_name, "/ccr-test");
    EXPECT_EQ(s.pid_file, "/run/cc-relay.pid");
    EXPECT_EQ(s.auth.api_key, "secret");
    EXPECT_TRUE(s.auth.allow_bearer);
    EXPECT_FALSE(s.auth.allow_subscription);
    EXPECT_EQ(s.auth.bearer_secret, "bs");
    EXPECT_EQ(s.effective_api_key(), "secret");
    EXPECT_THAT(cfg.warnings, ::testing::IsEmpty());  // HTTP/2 is in effect
}

TEST_F(ConfigLoader, EveryProviderKeyReachesItsField) {
    const Config cfg = load(R"(
providers:
  - name: z
    type: zai
    enabled: true
    base_url: https://example.com:8443/api
    models: [a, b]
    model_mapping:
      claude-sonnet-4-5: glm-4.7
      claude-haiku: glm-4.5-air
    keys:
      - key: k1
        rpm_limit: 1
        itpm_limit: 2
        otpm_limit: 3
        tpm_limit: 4
        priority: 2
        weight: 5
    pooling: {enabled: true, strategy: weighted}
    count_tokens: false
    aws_region: r
    aws_access_key_id: id
    aws_secret_access_key: sk
    gcp_project_id: gp
    gcp_region: gr
    azure_resource_name: ar
    azure_api_version: av
    azure_deployment_id: ad
)");
    ASSERT_EQ(cfg.providers.size(), 1u);
    const ProviderConfig& p = cfg.providers[0];
    EXPECT_EQ(p.name, "z");
    EXPECT_EQ(p.type, "zai");
    EXPECT_TRUE(p.enabled);
    EXPECT_EQ(p.base_url, "https://example.com:8443/api");
    EXPECT_THAT(p.models, ElementsAre("a", "b"));
    EXPECT_THAT(p.model_mapping, ElementsAre(Pair("claude-sonnet-4-5", "glm-4.7"),
                                             Pair("claude-haiku", "glm-4.5-air")));
    ASSERT_EQ(p.keys.size(), 1u);
    EXPECT_EQ(p.keys[0], (KeyConfig{"k1", 1, 2, 3, 4, 2, 5}));
    EXPECT_TRUE(p.pooling.enabled);
    EXPECT_EQ(p.pooling.strategy, "weighted");
    EXPECT_EQ(p.count_tokens, std::optional<bool>(false));
    EXPECT_EQ(p.aws_region, "r");
    EXPECT_EQ(p.aws_access_key_id, "id");
    EXPECT_EQ(p.aws_secret_access_key, "sk");
    EXPECT_EQ(p.gcp_project_id, "gp");
    EXPECT_EQ(p.gcp_region, "gr");
    EXPECT_EQ(p.azure_resource_name, "ar");
    EXPECT_EQ(p.azure_api_version, "av");
    EXPECT_EQ(p.azure_deployment_id, "ad");
    // The cloud settings reach their fields, and do nothing on a zai provider: each says so.
    EXPECT_EQ(cfg.warnings.size(), 8u);
    EXPECT_THAT(cfg.warnings, ::testing::Each(HasSubstr("has no effect on a provider of type \"zai\"")));
}

TEST_F(ConfigLoader, RoutingLoggingAndHealthKeysReachTheirFields) {
    const Config cfg = load(R"(
routing:
  strategy: model_based
  failover_timeout: 100
  debug: true
  model_mapping: {claude-opus: anthropic, claude: anthropic, glm: anthropic}
  default_provider: anthropic
logging:
  level: debug
  format: json
  output: stderr
  pretty: true
  debug_options:
    log_request_body: true
    log_response_headers: true
    log_tls_metrics: true
    max_body_log_size: 50
health:
  health_check: {enabled: false, interval_ms: 500}
  circuit_breaker: {failure_threshold: 2, open_duration_ms: 700, half_open_probes: 1}
)" + std::string(kOneProvider));
    EXPECT_EQ(cfg.routing.strategy, "model_based");
    EXPECT_EQ(cfg.routing.failover_timeout, 100);
    EXPECT_TRUE(cfg.routing.debug);
    EXPECT_THAT(cfg.routing.model_mapping,
                ElementsAre(Pair("claude-opus", "anthropic"), Pair("claude", "anthropic"),
                            Pair("glm", "anthropic")));
    EXPECT_EQ(cfg.routing.default_provider, "anthropic");
    EXPECT_EQ(cfg.logging.level, "debug");
    EXPECT_EQ(cfg.logging.format, "json");
    EXPECT_EQ(cfg.logging.output, "stderr");
    EXPECT_TRUE(cfg.logging.pretty);
    EXPECT_EQ(cfg.logging.debug_options, (DebugOptions{true, true, true, 50}));
    EXPECT_FALSE(cfg.health.health_check.enabled);
    EXPECT_EQ(cfg.health.health_check.interval_ms, 500);
    EXPECT_EQ(cfg.health.circuit_breaker, (CircuitBreakerConfig{2, 700, 1}));
    EXPECT_THAT(cfg.warnings, ::testing::Each(HasSubstr("is not in effect yet")));
}

TEST_F(ConfigLoader, AbsentKeysKeepTheDocumentedDefaults) {
    const Config cfg = load(kOneProvider);
    EXPECT_EQ(cfg.server, ServerConfig{});
    EXPECT_EQ(cfg.routing, RoutingConfig{});
    EXPECT_EQ(cfg.logging, LoggingConfig{});
    EXPECT_EQ(cfg.health, HealthConfig{});
    EXPECT_THAT(cfg.clients, IsEmpty());
    EXPECT_THAT(cfg.providers[0].pricing, IsEmpty());
    EXPECT_EQ(cfg.routing.kind, RoutingStrategy::failover);
    EXPECT_EQ(cfg.routing.max_attempts, 0);
    EXPECT_EQ(cfg.server.max_body_bytes, 32 * 1024 * 1024);
    EXPECT_EQ(cfg.source, "config.yaml");
}

TEST_F(ConfigLoader, PricingReachesItsFieldsInFileOrder) {
    const Config cfg = load(std::string(kOneProvider) + R"(    pricing:
      claude-sonnet-4-5: {input_per_mtok: 3, output_per_mtok: 15, cache_read_per_mtok: 0.3,
                          cache_write_per_mtok: 3.75}
      claude: {input_per_mtok: +1e1, output_per_mtok: "${OUT:-20}"}
      claude-haiku: {}
)");
    const PriceTable& pricing = cfg.providers[0].pricing;
    ASSERT_EQ(pricing.size(), 3u);
    EXPECT_EQ(pricing[0].first, "claude-sonnet-4-5");
    EXPECT_EQ(pricing[0].second, (ModelPrice{3, 15, 0.3, 3.75}));
    EXPECT_EQ(pricing[1].first, "claude");
    EXPECT_EQ(pricing[1].second, (ModelPrice{10, 20, 0, 0}));
    EXPECT_EQ(pricing[2].first, "claude-haiku");
    EXPECT_EQ(pricing[2].second, ModelPrice{});
    // No value is a mistake here rather than "the default": no entry means no price, not zero.
    EXPECT_THAT(load_error(std::string(kOneProvider) + "    pricing:\n      claude-haiku: ~\n"),
                HasSubstr("config.yaml:7:21: providers[0].pricing.claude-haiku must be a mapping"));
}

TEST_F(ConfigLoader, PriceOfAModelIsTheExactEntryElseTheLongestPrefix) {
    const PriceTable pricing = {{"claude", {1, 0, 0, 0}},
                                {"claude-sonnet-4-5-20250929", {2, 0, 0, 0}},
                                {"claude-sonnet", {3, 0, 0, 0}},
                                {"claude-sonnet-4", {4, 0, 0, 0}},
                                {"glm", {5, 0, 0, 0}}};
    const auto input_of = [&](std::string_view model) {
        const ModelPrice* p = find_price(pricing, model);
        return p == nullptr ? -1.0 : p->input_per_mtok;
    };
    EXPECT_EQ(input_of("claude-sonnet-4-5-20250929"), 2);
    EXPECT_EQ(input_of("claude-sonnet-4-5"), 4);
    EXPECT_EQ(input_of("claude-sonnet-3"), 3);
    EXPECT_EQ(input_of("claude-opus-4"), 1);
    EXPECT_EQ(input_of("claude"), 1);
    EXPECT_EQ(input_of("glm-4.7"), 5);
    EXPECT_EQ(input_of("clau"), -1);
    EXPECT_EQ(input_of(""), -1);
    EXPECT_EQ(find_price({}, "claude"), nullptr);
    ProviderConfig p;
    p.pricing = pricing;
    EXPECT_EQ(p.price_for("glm-5"), &p.pricing[4].second);
}

TEST_F(ConfigLoader, EveryClientKeyReachesItsField) {
    fake_vars()["ALICE_KEY"] = "ka";
    const Config cfg = load(std::string(kOneProvider) +
                            R"(  - {name: zai, type: zai, enabled: true, keys: [{key: z}]}
clients:
  - name: alice
    key: "${ALICE_KEY}"
    rpm_limit: 30
    tpm_limit: 200000
    daily_token_budget: 5000000
    allowed_providers: [anthropic, zai]
  - {name: bob, key: kb}
)");
    ASSERT_EQ(cfg.clients.size(), 2u);
    EXPECT_EQ(cfg.clients[0],
              (ClientConfig{"alice", "ka", 30, 200000, 5000000, {"anthropic", "zai"}}));
    EXPECT_EQ(cfg.clients[1], (ClientConfig{"bob", "kb", 0, 0, 0, {}}));
    EXPECT_THAT(cfg.warnings, IsEmpty());
}

TEST_F(ConfigLoader, MaxAttemptsReachesItsField) {
    EXPECT_EQ(load("routing: {max_attempts: 3}\n" + std::string(kOneProvider)).routing.max_attempts,
              3);
    EXPECT_THAT(load_error("routing: {max_attempts: lots}\n" + std::string(kOneProvider)),
                HasSubstr("config.yaml:1:25: routing.max_attempts must be an integer (got "
                          "\"lots\")"));
}

TEST_F(ConfigLoader, UnknownKeyInAClientWarnsWithTheClosestKnownKey) {
    const Config cfg =
        load(std::string(kOneProvider) + "clients:\n  - {name: a, key: k, rpm: 5}\n");
    EXPECT_THAT(cfg.warnings,
                ::testing::Contains(HasSubstr("config.yaml:7:23: unknown key \"clients[0].rpm\"")));
}

TEST_F(ConfigLoader, ZeroMeansTheDefaultForTimeoutsButUnlimitedForMaxBodyBytes) {
    const Config cfg = load(R"(
server: {timeout_ms: 0, max_body_bytes: 0, drain_timeout_ms: 0, connect_timeout_ms: 0}
routing: {failover_timeout: 0}
logging: {debug_options: {max_body_log_size: 0}}
)" + std::string(kOneProvider));
    EXPECT_EQ(cfg.server.timeout_ms, 600000);
    EXPECT_EQ(cfg.server.max_body_bytes, 0);
    EXPECT_EQ(cfg.server.drain_timeout_ms, 30000);
    EXPECT_EQ(cfg.server.connect_timeout_ms, 10000);
    EXPECT_EQ(cfg.routing.failover_timeout, 5000);
    EXPECT_EQ(cfg.logging.debug_options.max_body_log_size, 1000);
}

TEST_F(ConfigLoader, ProviderWithoutModelsGetsTheTypeDefaults) {
    const Config cfg = load(kOneProvider);
    EXPECT_EQ(cfg.providers[0].models, default_models("anthropic"));
}

TEST_F(ConfigLoader, DeprecatedTpmLimitIsSplitBetweenInputAndOutput) {
    const Config cfg = load(R"(
providers:
  - {name: a, type: anthropic, enabled: true, keys: [{key: k, tpm_limit: 1001}]}
)");
    EXPECT_EQ(cfg.providers[0].keys[0].itpm_limit, 500);
    EXPECT_EQ(cfg.providers[0].keys[0].otpm_limit, 501);
}

TEST_F(ConfigLoader, EmptyFileIsAnErrorThatNoProviderIsConfigured) {
    EXPECT_THAT(load_error(""), HasSubstr("config.yaml: no providers are configured"));
}

TEST_F(ConfigLoader, NoEnabledProviderIsAnErrorNotAWarning) {
    // A typo'd "enabled" leaves the provider disabled: the file serves nothing.
    const std::string error =
        load_error("providers:\n  - name: a\n    type: anthropic\n    enabeld: true\n");
    EXPECT_THAT(error, HasSubstr("config.yaml:2:3: no provider is enabled"));
}

TEST_F(ConfigLoader, UnknownKeyWarnsWithItsPathPositionAndTheClosestKnownKey) {
    const Config cfg = load("server:\n  listen: ':1'\n  listn: ':2'\n" + std::string(kOneProvider));
    ASSERT_EQ(cfg.warnings.size(), 1u);
    EXPECT_EQ(cfg.warnings[0],
              "config.yaml:3:3: unknown key \"server.listn\" (did you mean \"listen\"?)");
}

TEST_F(ConfigLoader, UnknownKeyFarFromAnyKnownKeyWarnsWithoutASuggestion) {
    const Config cfg = load("server:\n  completely_else: 1\n" + std::string(kOneProvider));
    ASSERT_EQ(cfg.warnings.size(), 1u);
    EXPECT_EQ(cfg.warnings[0], "config.yaml:2:3: unknown key \"server.completely_else\"");
}

TEST_F(ConfigLoader, UnknownKeyInsideAProviderNamesItsIndex) {
    const Config cfg = load(R"(
providers:
  - name: a
    type: anthropic
    enabled: true
    modles: [x]
)");
    ASSERT_EQ(cfg.warnings.size(), 1u);
    EXPECT_EQ(cfg.warnings[0],
              "config.yaml:6:5: unknown key \"providers[0].modles\" (did you mean \"models\"?)");
}

TEST_F(ConfigLoader, GoSchemaKeysThatDoNothingHereWarnThatTheyAreIgnored) {
    const Config cfg = load(R"(
cache:
  mode: single
  ristretto: {num_counters: 1000000, max_cost: 104857600}
grpc: {listen: ":9090"}
metrics: {enabled: true}
health:
  check_interval_seconds: 10
  circuit_breaker:
    recovery_timeout_seconds: 30
    triggers: {rate_limit_errors: true}
logging:
  pretty: true
)" + std::string(kOneProvider));
    EXPECT_THAT(cfg.warnings,
                ::testing::ElementsAre(
                    HasSubstr("config.yaml:2:1: \"cache\" (a Go cc-relay key) has no effect in this "
                              "relay; it is ignored"),
                    HasSubstr("config.yaml:5:1: \"grpc\" (a Go cc-relay key) has no effect"),
                    HasSubstr("config.yaml:6:1: \"metrics\" (a Go cc-relay key) has no effect"),
                    HasSubstr("config.yaml:8:3: \"health.check_interval_seconds\" (a Go cc-relay "
                              "key) has no effect"),
                    HasSubstr("config.yaml:10:5: \"health.circuit_breaker.recovery_timeout_seconds\""),
                    HasSubstr("config.yaml:11:5: \"health.circuit_breaker.triggers\""),
                    HasSubstr("config.yaml:13:11: logging.pretty is not in effect yet")));
}

TEST_F(ConfigLoader, LoggingFileFromTheGoExampleWarnsThatOutputIsTheKey) {
    const Config cfg = load("logging:\n  file: /tmp/x.log\n" + std::string(kOneProvider));
    ASSERT_EQ(cfg.warnings.size(), 1u);
    EXPECT_THAT(cfg.warnings[0], HasSubstr("\"logging.file\" is ignored"));
    EXPECT_THAT(cfg.warnings[0], HasSubstr("logging.output"));
}

TEST_F(ConfigLoader, StringWhereAnIntegerIsExpectedIsAnErrorWithPosition) {
    EXPECT_THAT(load_error("server:\n  workers: many\n"),
                HasSubstr("config.yaml:2:12: server.workers must be an integer (got \"many\")"));
}

TEST_F(ConfigLoader, FractionWhereAnIntegerIsExpectedIsAnError) {
    EXPECT_THAT(load_error("server:\n  timeout_ms: 1.5\n"),
                HasSubstr("server.timeout_ms must be an integer (got \"1.5\")"));
}

TEST_F(ConfigLoader, IntegerTooLargeForItsFieldIsAnError) {
    EXPECT_THAT(load_error("server:\n  workers: 99999999999\n"),
                HasSubstr("server.workers is out of range"));
    EXPECT_THAT(load_error("server:\n  timeout_ms: 99999999999999999999\n"),
                HasSubstr("server.timeout_ms is out of range"));
}

TEST_F(ConfigLoader, NonBooleanWhereABooleanIsExpectedIsAnError) {
    EXPECT_THAT(load_error("server:\n  enable_http2: maybe\n"),
                HasSubstr("config.yaml:2:17: server.enable_http2 must be true or false (got "
                          "\"maybe\")"));
}

TEST_F(ConfigLoader, MappingWhereAListIsExpectedIsAnErrorWithPosition) {
    EXPECT_THAT(load_error("providers:\n  name: a\n  type: anthropic\n"),
                HasSubstr("config.yaml:2:3: providers must be a list (got a mapping)"));
}

TEST_F(ConfigLoader, ListWhereAMappingIsExpectedIsAnError) {
    EXPECT_THAT(load_error("server:\n  - listen\n"),
                HasSubstr("config.yaml:2:3: server must be a mapping (got a list)"));
}

TEST_F(ConfigLoader, ListItemThatIsNotAMappingIsAnErrorAndNothingElseIsSaidAboutIt) {
    try {
        load("providers:\n  - just-a-name\n");
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& e) {
        ASSERT_EQ(e.diagnostics().size(), 1u) << e.what();
        EXPECT_EQ(e.diagnostics()[0].to_string(),
                  "config.yaml:2:5: providers[0] must be a mapping (got \"just-a-name\")");
    }
}

TEST_F(ConfigLoader, TopLevelThatIsNotAMappingIsAnError) {
    EXPECT_THAT(load_error("- a\n- b\n"), HasSubstr("the top level must be a mapping"));
}

TEST_F(ConfigLoader, DuplicateKeyIsAnErrorNamingTheFirstOne) {
    EXPECT_THAT(load_error("server:\n  listen: ':1'\n  listen: ':2'\n"),
                HasSubstr("config.yaml:3:3: duplicate key \"server.listen\" (first defined at "
                          "config.yaml:2:3)"));
}

TEST_F(ConfigLoader, YamlSyntaxErrorIsReportedWithItsPosition) {
    try {
        load("server:\n  listen: [unclosed\n");
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& e) {
        ASSERT_EQ(e.diagnostics().size(), 1u);
        EXPECT_GT(e.diagnostics()[0].line, 0);
        EXPECT_THAT(e.diagnostics()[0].to_string(), HasSubstr("config.yaml:"));
        EXPECT_THAT(e.diagnostics()[0].message, HasSubstr("YAML syntax error"));
    }
}

TEST_F(ConfigLoader, SeveralDocumentsInOneFileAreAnError) {
    EXPECT_THAT(load_error("server: {}\n---\nserver: {}\n"), HasSubstr("2 YAML documents"));
}

// yaml-cpp 0.7's LoadAll never returned on this (its parser yields empty documents forever at a
// ',' outside brackets): the loader must answer with a syntax error at the comma.
TEST_F(ConfigLoader, AStrayCommaAtADocumentStartIsASyntaxErrorNotAHang) {
    for (const char* text : {", a\n", "# comment\n#\n, Compatible with\nserver: {}\n",
                             "server: {}\n---\n, x\n"}) {
        try {
            load(text);
            FAIL() << "expected a ConfigError for " << text;
        } catch (const ConfigError& e) {
            ASSERT_FALSE(e.diagnostics().empty()) << text;
            EXPECT_THAT(e.diagnostics()[0].message, HasSubstr("YAML syntax error")) << text;
            EXPECT_GT(e.diagnostics()[0].line, 0) << text;
        }
    }
}

TEST_F(ConfigLoader, AllErrorsAreThrownTogetherUnderOneHeaderInFileOrder) {
    try {
        load(R"(
server:
  workers: -1
  timeout_ms: abc
logging:
  level: loud
)" + std::string(kOneProvider));
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& e) {
        ASSERT_EQ(e.diagnostics().size(), 3u) << e.what();
        const std::string what = e.what();
        EXPECT_EQ(what.substr(0, what.find('\n')), "config validation failed with 3 errors:");
        EXPECT_EQ(e.diagnostics()[0].line, 3);
        EXPECT_EQ(e.diagnostics()[1].line, 4);
        EXPECT_EQ(e.diagnostics()[2].line, 6);
        for (const Diagnostic& d : e.diagnostics()) {
            EXPECT_THAT(what, HasSubstr("\n  " + d.to_string()));
        }
    }
}

TEST_F(ConfigLoader, SingleErrorHeaderIsSingular) {
    EXPECT_THAT(load_error("server:\n  workers: -1\n" + std::string(kOneProvider)),
                HasSubstr("config validation failed with 1 error:\n"));
}

TEST_F(ConfigLoader, DiagnosticWithoutPositionPrintsOnlyTheFile) {
    EXPECT_EQ((Diagnostic{"f.yaml", 0, 0, "m"}).to_string(), "f.yaml: m");
    EXPECT_EQ((Diagnostic{"f.yaml", 3, 4, "m"}).to_string(), "f.yaml:3:4: m");
    EXPECT_EQ((Diagnostic{"", 0, 0, "m"}).to_string(), "m");
}

TEST_F(ConfigLoader, NullValueKeepsTheDefault) {
    const Config cfg = load("server:\n  listen:\n  timeout_ms: ~\n" + std::string(kOneProvider));
    EXPECT_EQ(cfg.server.listen, "127.0.0.1:8787");
    EXPECT_EQ(cfg.server.timeout_ms, 600000);
}

TEST_F(ConfigLoader, MissingFileIsAClearErrorNamingIt) {
    try {
        load_config_file("/nonexistent/cc-relay/config.yaml", &testing::fake_env);
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_THAT(e.what(), HasSubstr("/nonexistent/cc-relay/config.yaml: config file does not "
                                        "exist"));
    }
}

TEST_F(ConfigLoader, FileIsLoadedWithItsPathInDiagnostics) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("ccr-config-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "config.yaml").string();
    std::ofstream(path) << "server:\n  listen: ':1'\n  lisen: x\n" << kOneProvider;
    const Config cfg = load_config_file(path, &testing::fake_env);
    EXPECT_EQ(cfg.source, path);
    ASSERT_EQ(cfg.warnings.size(), 1u);
    EXPECT_EQ(cfg.warnings[0].rfind(path + ":3:3: ", 0), 0u) << cfg.warnings[0];
    std::filesystem::remove_all(dir);
}

TEST_F(ConfigLoader, RelativeCaFileIsResolvedAgainstTheConfigFileDirectory) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("ccr-config-ca-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "ca.pem") << "not really a certificate\n";
    const std::string path = (dir / "config.yaml").string();
    std::ofstream(path) << "providers:\n  - {name: a, type: anthropic, enabled: true, "
                           "ca_file: ca.pem}\n";
    const Config cfg = load_config_file(path, &testing::fake_env);
    EXPECT_EQ(cfg.providers[0].ca_file, (dir / "ca.pem").string());
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ccr::shared
