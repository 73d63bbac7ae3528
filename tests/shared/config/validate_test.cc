// Validation: each rule gives a clear error at the offending value, and warnings where the config
// loads but probably does not do what was meant.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/shared/config/fake_env.h"

namespace ccr::shared {
namespace {

using testing::fake_vars;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::kOneProvider;
using testing::load;
using testing::load_error;

class ConfigValidation : public ::testing::Test {
  protected:
    void SetUp() override { fake_vars().clear(); }
};

std::string with_server(const std::string& server_body) {
    return "server:\n" + server_body + kOneProvider;
}

TEST_F(ConfigValidation, ListenThatIsNotHostPortIsAnErrorAtTheValue) {
    EXPECT_THAT(load_error(with_server("  listen: localhost\n")),
                HasSubstr("config.yaml:2:11: server.listen must be \"host:port\", "
                          "\"[ipv6]:port\" or \":port\" with a port of 0-65535 (got "
                          "\"localhost\")"));
}

TEST_F(ConfigValidation, ListenWithPortAbove65535IsAnError) {
    EXPECT_THAT(load_error(with_server("  listen: ':65536'\n")), HasSubstr("server.listen must"));
}

TEST_F(ConfigValidation, ListenOnPortZeroIsAllowedForEphemeralPorts) {
    EXPECT_EQ(load(with_server("  listen: '127.0.0.1:0'\n")).server.listen, "127.0.0.1:0");
}

TEST_F(ConfigValidation, EmptyListenIsAnError) {
    EXPECT_THAT(load_error(with_server("  listen: ''\n")),
                HasSubstr("server.listen must not be empty"));
}

TEST_F(ConfigValidation, HeadAndConnectionLimitsHaveBoundsAndDefaults) {
    const std::string error = load_error(with_server("  max_header_bytes: 100\n  max_connections: -1\n"));
    EXPECT_THAT(error, HasSubstr("config.yaml:2:21: server.max_header_bytes must be between 1024 and 16777216 (got 100)"));
    EXPECT_THAT(error, HasSubstr("config.yaml:3:20: server.max_connections must be between 1 and 1000000 (got -1)"));
    const Config defaults = load(with_server("  max_header_bytes: 0\n"));
    EXPECT_EQ(defaults.server.max_header_bytes, 65536);
    EXPECT_EQ(defaults.server.max_connections, 4096);
    const Config set = load(with_server("  max_header_bytes: 8192\n  max_connections: 10\n"));
    EXPECT_EQ(set.server.max_header_bytes, 8192);
    EXPECT_EQ(set.server.max_connections, 10);
}

TEST_F(ConfigValidation, TlsListenerNeedsBothFilesAndItsOwnPort) {
    std::string error = load_error(with_server("  listen: 127.0.0.1:8787\n  tls:\n    listen: 127.0.0.1:8787\n    cert_file: /nonexistent/cert.pem\n"));
    EXPECT_THAT(error, HasSubstr("config.yaml:4:13: server.tls.listen must not use server.listen's port (8787)"));
    EXPECT_THAT(error, HasSubstr("config.yaml:5:16: server.tls.cert_file \"/nonexistent/cert.pem\" does not exist"));
    EXPECT_THAT(error, HasSubstr("server.tls.key_file is required with server.tls.listen"));
    error = load_error(with_server("  tls:\n    listen: nowhere\n"));
    EXPECT_THAT(error, HasSubstr("server.tls.listen must be \"host:port\""));
}

TEST_F(ConfigValidation, TlsFilesWithoutAListenerWarn) {
    const Config cfg = load(with_server("  tls:\n    cert_file: /etc/ssl/c.pem\n"));
    ASSERT_EQ(cfg.warnings.size(), 1u);
    EXPECT_THAT(cfg.warnings[0], HasSubstr("server.tls has no effect without server.tls.listen"));
}

TEST_F(ConfigValidation, TimeoutAboveADayIsAnError) {
    EXPECT_THAT(load_error(with_server("  timeout_ms: 86400001\n")),
                HasSubstr("config.yaml:2:15: server.timeout_ms must be between 0 and 86400000 "
                          "(got 86400001)"));
}

TEST_F(ConfigValidation, NegativeLimitsAndTimeoutsAreErrors) {
    const std::string error = load_error(with_server(R"(  timeout_ms: -1
  max_body_bytes: -1
  max_concurrent: -1
  drain_timeout_ms: -5
  max_open_files: -1
)"));
    EXPECT_THAT(error, HasSubstr("with 5 errors"));
    EXPECT_THAT(error, HasSubstr("server.max_body_bytes must be >= 0 (got -1)"));
    EXPECT_THAT(error, HasSubstr("server.drain_timeout_ms must be between 0 and 86400000"));
}

TEST_F(ConfigValidation, WorkersAbove1024IsAnError) {
    EXPECT_THAT(load_error(with_server("  workers: 1025\n")),
                HasSubstr("server.workers must be between 0 and 1024 (got 1025)"));
}

TEST_F(ConfigValidation, ShmNameMustBeASingleSlashName) {
    EXPECT_THAT(load_error(with_server("  shm_name: a/b\n")),
                HasSubstr("server.shm_name must be \"/name\""));
}

TEST_F(ConfigValidation, BearerSecretWithoutBearerAuthWarns) {
    const Config cfg = load(with_server("  auth: {bearer_secret: s}\n"));
    ASSERT_EQ(cfg.warnings.size(), 1u);
    EXPECT_THAT(cfg.warnings[0], HasSubstr("bearer_secret has no effect"));
}

TEST_F(ConfigValidation, AdminListenerIsOffByDefaultAndParsed) {
    EXPECT_EQ(load(with_server("  listen: '127.0.0.1:0'\n")).server.admin, AdminConfig{});
    const Config cfg = load(with_server("  admin: {listen: '127.0.0.1:9787', bearer_token: t0k}\n"));
    EXPECT_EQ(cfg.server.admin.listen, "127.0.0.1:9787");
    EXPECT_EQ(cfg.server.admin.bearer_token, "t0k");
}

TEST_F(ConfigValidation, AdminListenThatIsNotHostPortIsAnErrorAtTheValue) {
    EXPECT_THAT(load_error(with_server("  admin: {listen: localhost}\n")),
                HasSubstr("server.admin.listen must be \"host:port\" or \"[ipv6]:port\" with a port of "
                          "1-65535 (got \"localhost\")"));
    EXPECT_THAT(load_error(with_server("  admin: {listen: '127.0.0.1:0'}\n")),
                HasSubstr("server.admin.listen must be"));
}

TEST_F(ConfigValidation, AdminListenOnTheServersPortIsAnError) {
    EXPECT_THAT(load_error(with_server("  listen: '127.0.0.1:8787'\n  admin: {listen: '0.0.0.0:8787'}\n")),
                HasSubstr("server.admin.listen must not use server.listen's port (8787)"));
}

TEST_F(ConfigValidation, AdminTokenWithoutAdminListenWarns) {
    const Config cfg = load(with_server("  admin: {bearer_token: t}\n"));
    ASSERT_EQ(cfg.warnings.size(), 1u);
    EXPECT_THAT(cfg.warnings[0], HasSubstr("server.admin.bearer_token has no effect"));
}

TEST_F(ConfigValidation, ProviderNameIsRequired) {
    EXPECT_THAT(load_error("providers:\n  - type: anthropic\n    enabled: true\n"),
                HasSubstr("config.yaml:2:5: providers[0].name is required"));
}

TEST_F(ConfigValidation, DuplicateProviderNameNamesTheFirstDefinition) {
    EXPECT_THAT(load_error(R"(providers:
  - name: x
    type: anthropic
    enabled: true
  - name: x
    type: anthropic
    enabled: true
)"),
                HasSubstr("config.yaml:5:11: duplicate provider name \"x\" (first defined at "
                          "config.yaml:2:11)"));
}

TEST_F(ConfigValidation, ProviderTypeIsRequiredAndTheKnownTypesAreListed) {
    EXPECT_THAT(load_error("providers:\n  - name: x\n    enabled: true\n"),
                HasSubstr("providers[0].type is required (one of \"anthropic\", \"zai\", "
                          "\"minimax\", \"deepseek\", \"moonshot\", \"openrouter\", \"ollama\", "
                          "\"bedrock\", \"vertex\", \"azure\", \"foundry\")"));
}

TEST_F(ConfigValidation, UnknownProviderTypeListsKnownTypesAndSuggestsTheClosest) {
    const std::string error =
        load_error("providers:\n  - name: x\n    type: antropic\n    enabled: true\n");
    EXPECT_THAT(error, HasSubstr("config.yaml:3:11: unknown provider type \"antropic\" (known "
                                 "types: \"anthropic\", "));
    EXPECT_THAT(error, HasSubstr("did you mean \"anthropic\"?"));
}

TEST_F(ConfigValidation, EnabledCloudProviderLoadsWhenItsCredentialsAreFound) {
    fake_vars() = {{"AWS_ACCESS_KEY_ID", "AKID"}, {"AWS_SECRET_ACCESS_KEY", "s"}};
    const Config cfg = load("providers:\n  - {name: b, type: bedrock, enabled: true, "
                            "aws_region: us-east-1}\n");
    EXPECT_THAT(cfg.warnings, IsEmpty());
    EXPECT_EQ(cfg.providers[0].type, "bedrock");
}

TEST_F(ConfigValidation, DisabledCloudProviderIsNotCheckedForCredentials) {
    const Config cfg =
        load(std::string(kOneProvider) + "  - {name: v, type: vertex, enabled: false}\n");
    EXPECT_THAT(cfg.warnings, IsEmpty());
}

TEST_F(ConfigValidation, BaseUrlMustBeHttpOrHttpsWithAHost) {
    const auto error_for = [](const std::string& url) {
        return load_error("providers:\n  - {name: a, type: anthropic, enabled: true, base_url: '" +
                          url + "'}\n");
    };
    EXPECT_THAT(error_for("ftp://x"), HasSubstr("must start with http:// or https://"));
    EXPECT_THAT(error_for("https://"), HasSubstr("must name a host"));
    EXPECT_THAT(error_for("https://:443/x"), HasSubstr("must name a host"));
    EXPECT_THAT(error_for("https://h:99999"), HasSubstr("port of 1-65535"));
    EXPECT_THAT(error_for("https://h:"), HasSubstr("empty port"));
    EXPECT_THAT(error_for("https://h/x?y=1"), HasSubstr("query"));
    EXPECT_EQ(error_for("https://h.example:8443/api/anthropic"), "");
    EXPECT_EQ(error_for("http://[::1]:11434"), "");
    EXPECT_EQ(error_for("http://localhost"), "");
}

TEST_F(ConfigValidation, EnabledProviderThatNeedsAKeyRequiresEachKey) {
    EXPECT_THAT(load_error("providers:\n  - {name: z, type: zai, enabled: true, keys: [{rpm_limit: "
                           "5}]}\n"),
                HasSubstr("providers[0].keys[0].key is required for providers of type \"zai\""));
}

TEST_F(ConfigValidation, EnabledProviderThatNeedsAKeyRequiresAtLeastOne) {
    EXPECT_THAT(load_error("providers:\n  - {name: z, type: zai, enabled: true}\n"),
                HasSubstr("needs at least one entry in keys[]"));
}

TEST_F(ConfigValidation, AnthropicAndOllamaNeedNoKey) {
    const Config cfg =
        load(std::string(kOneProvider) + "  - {name: o, type: ollama, enabled: true}\n");
    EXPECT_THAT(cfg.warnings, IsEmpty());
}

TEST_F(ConfigValidation, DisabledProviderNeedsNoKey) {
    const Config cfg =
        load(std::string(kOneProvider) + "  - {name: z, type: zai, enabled: false}\n");
    EXPECT_THAT(cfg.warnings, IsEmpty());
}

TEST_F(ConfigValidation, ProviderWithoutEnabledWarnsThatItIsSkipped) {
    const Config cfg = load(std::string(kOneProvider) + "  - {name: o, type: ollama}\n");
    ASSERT_EQ(cfg.warnings.size(), 1u);
    EXPECT_THAT(cfg.warnings[0], HasSubstr("provider \"o\" has no \"enabled: true\""));
}

TEST_F(ConfigValidation, KeyPriorityWeightAndLimitsAreChecked) {
    const std::string error = load_error(R"(providers:
  - name: a
    type: anthropic
    enabled: true
    keys:
      - {key: k, priority: 3, weight: -1, rpm_limit: -1, itpm_limit: -2}
)");
    EXPECT_THAT(error, HasSubstr("with 4 errors"));
    EXPECT_THAT(error, HasSubstr("providers[0].keys[0].priority must be between 0 and 2 (got 3)"));
    EXPECT_THAT(error, HasSubstr("providers[0].keys[0].weight must be >= 0 (got -1)"));
    EXPECT_THAT(error, HasSubstr("providers[0].keys[0].rpm_limit must be >= 0"));
}

TEST_F(ConfigValidation, PoolingStrategyMustBeKnown) {
    EXPECT_THAT(load_error("providers:\n  - {name: a, type: anthropic, enabled: true, pooling: "
                           "{strategy: roundrobin}}\n"),
                HasSubstr("pooling.strategy must be one of \"least_loaded\", \"round_robin\", "
                          "\"random\", \"weighted\" (got \"roundrobin\"); did you mean "
                          "\"round_robin\"?"));
}

TEST_F(ConfigValidation, RoutingStrategyMustBeKnown) {
    EXPECT_THAT(load_error("routing:\n  strategy: simple-shuffle\n" + std::string(kOneProvider)),
                HasSubstr("config.yaml:2:13: routing.strategy must be one of \"failover\""));
}

TEST_F(ConfigValidation, ModelBasedRoutingRequiresAModelMapping) {
    EXPECT_THAT(
        load_error("routing:\n  strategy: model_based\n" + std::string(kOneProvider)),
        HasSubstr("routing.model_mapping (model-name prefix -> provider name) is required"));
}

TEST_F(ConfigValidation, ModelMappingTargetsMustNameProviders) {
    EXPECT_THAT(load_error("routing:\n  strategy: model_based\n  model_mapping:\n    claude: "
                           "anthropc\n" +
                           std::string(kOneProvider)),
                HasSubstr("config.yaml:4:13: routing.model_mapping.claude names provider "
                          "\"anthropc\", which is not defined in providers; did you mean "
                          "\"anthropic\"?"));
}

TEST_F(ConfigValidation, DefaultProviderMustNameAProvider) {
    EXPECT_THAT(load_error("routing:\n  default_provider: nobody\n" + std::string(kOneProvider)),
                HasSubstr("routing.default_provider names provider \"nobody\""));
}

TEST_F(ConfigValidation, LoggingLevelAndFormatMustBeKnown) {
    const std::string error =
        load_error("logging:\n  level: verbose\n  format: xml\n" + std::string(kOneProvider));
    EXPECT_THAT(error, HasSubstr("logging.level must be one of \"trace\", \"debug\", \"info\", "
                                 "\"warn\", \"error\", \"off\" (got \"verbose\")"));
    EXPECT_THAT(error, HasSubstr("logging.format must be one of"));
}

TEST_F(ConfigValidation, MissingCaFileIsAnError) {
    EXPECT_THAT(load_error("providers:\n  - {name: a, type: anthropic, enabled: true, ca_file: "
                           "/nonexistent/ca.pem}\n"),
                HasSubstr("providers[0].ca_file \"/nonexistent/ca.pem\" does not exist"));
}

TEST_F(ConfigValidation, ExistingCaFileIsAccepted) {
    const auto path =
        std::filesystem::temp_directory_path() / ("ccr-ca-" + std::to_string(::getpid()) + ".pem");
    std::ofstream(path) << "pem\n";
    EXPECT_EQ(load_error("providers:\n  - {name: a, type: anthropic, enabled: true, ca_file: " +
                         path.string() + "}\n"),
              "");
    std::filesystem::remove(path);
}

TEST_F(ConfigValidation, NegativeHealthSettingsAreErrors) {
    EXPECT_THAT(load_error("health:\n  circuit_breaker: {failure_threshold: -1}\n" +
                           std::string(kOneProvider)),
                HasSubstr("health.circuit_breaker.failure_threshold must be >= 0"));
}

TEST_F(ConfigValidation, KeysThatAreNotInEffectYetWarnAtTheirPosition) {
    const Config cfg = load(R"(
server: {enable_http2: true}
routing: {strategy: round_robin, failover_timeout: 100}
providers:
  - name: z
    type: anthropic
    enabled: true
    keys: [{key: a, rpm_limit: 5, priority: 1}, {key: b}]
    pooling: {strategy: random}
logging: {debug_options: {log_response_headers: true, log_tls_metrics: true}, pretty: true}
health: {circuit_breaker: {failure_threshold: 3}}
)");
    EXPECT_THAT(cfg.warnings,
                ::testing::ElementsAre(
                    HasSubstr("config.yaml:10:72: logging.debug_options.log_tls_metrics is not in effect yet"),
                    HasSubstr("config.yaml:10:87: logging.pretty is not in effect yet")));
}

TEST_F(ConfigValidation, DebugForNamesThatMatchNoClientOrProviderWarn) {
    const Config cfg = load(R"(
providers:
  - {name: zai, type: anthropic, enabled: true}
clients:
  - {name: alice, key: k-alice}
logging: {debug_for: {clients: [alice, alcie], providers: [zia, zai]}}
)");
    EXPECT_THAT(cfg.warnings,
                ::testing::ElementsAre(HasSubstr("logging.debug_for.clients[1]: no client named \"alcie\"; it matches no "
                                                 "request; did you mean \"alice\"?"),
                                       HasSubstr("logging.debug_for.providers[0]: no provider named \"zia\"")));
}

TEST_F(ConfigValidation, HealthKeyLimitsPoolingAndSeveralKeysAreInEffectAndDoNotWarn) {
    const Config cfg = load(R"(
providers:
  - name: z
    type: anthropic
    enabled: true
    keys: [{key: a, rpm_limit: 5, itpm_limit: 100, otpm_limit: 50, tpm_limit: 150}, {key: b}]
    pooling: {enabled: true, strategy: round_robin}
health:
  health_check: {enabled: true, interval_ms: 500}
  circuit_breaker: {failure_threshold: 3, open_duration_ms: 1000, half_open_probes: 1}
)");
    EXPECT_THAT(cfg.warnings, IsEmpty());
}

TEST_F(ConfigValidation, Http2ToAPlainHttpProviderWarnsThatItSpeaksHttp11) {
    const Config cfg = load(R"(
providers:
  - {name: local, type: anthropic, enabled: true, base_url: "http://127.0.0.1:9000", http2: true}
  - {name: remote, type: anthropic, enabled: true, base_url: "https://api.example.com", http2: true}
)");
    EXPECT_TRUE(cfg.providers[0].http2);
    EXPECT_THAT(cfg.warnings, ::testing::ElementsAre(HasSubstr(
                                  "config.yaml:3:93: providers[0].http2: HTTP/2 to a provider is chosen by ALPN over TLS and base_url "
                                  "http://127.0.0.1:9000 is not https: this provider is spoken to in HTTP/1.1")));
}

TEST_F(ConfigValidation, KeysThatAreNotInEffectYetDoNotWarnAtTheirNoOpValues) {
    const Config cfg = load(R"(
server: {enable_http2: false}
routing: {strategy: model_based, model_mapping: {claude: anthropic}}
logging: {pretty: false, debug_options: {log_response_headers: false}}
)" + std::string(kOneProvider));
    EXPECT_THAT(cfg.warnings, IsEmpty());
}

TEST_F(ConfigValidation, AnyBearerWithoutASecretWarnsWhenAProviderAddsItsOwnKey) {
    fake_vars()["ZAI_API_KEY"] = "z";
    const Config cfg = load(R"(
server: {auth: {api_key: k, allow_bearer: true}}
providers:
  - {name: sub, type: anthropic, enabled: true}
  - {name: glm, type: zai, enabled: true, keys: [{key: "${ZAI_API_KEY}"}]}
)");
    ASSERT_EQ(cfg.warnings.size(), 1u);
    EXPECT_THAT(cfg.warnings[0],
                HasSubstr("config.yaml:2:43: server.auth.allow_bearer without "
                          "server.auth.bearer_secret accepts any bearer token, but only as the "
                          "client's own credential (subscription pass-through): \"glm\" add "
                          "provider keys and will answer such requests 401"));
}

TEST_F(ConfigValidation, AnyBearerWithOnlyPassThroughProvidersDoesNotWarn) {
    EXPECT_THAT(load(R"(
server: {auth: {allow_subscription: true}}
providers: [{name: sub, type: anthropic, enabled: true}]
)").warnings,
                IsEmpty());
}

TEST_F(ConfigValidation, ValidConfigHasNoErrorsAndNoWarnings) {
    fake_vars()["ZAI_API_KEY"] = "z";
    const Config cfg = load(R"(
server: {listen: "[::1]:8787", workers: 2}
routing:
  strategy: model_based
  model_mapping: {claude: anthropic, glm: zai}
  default_provider: anthropic
providers:
  - {name: anthropic, type: anthropic, enabled: true}
  - {name: zai, type: zai, enabled: true, keys: [{key: "${ZAI_API_KEY}"}]}
)");
    EXPECT_THAT(cfg.warnings, IsEmpty());
    EXPECT_EQ(cfg.server.workers, 2);
    EXPECT_EQ(cfg.providers[1].keys[0].key, "z");
}

// ---- issue 8: strategies as an enum, max_attempts, pricing, clients ----

TEST_F(ConfigValidation, EveryRoutingStrategyNameIsParsedIntoItsKind) {
    ASSERT_EQ(all_routing_strategies().size(), 9u);
    for (const RoutingStrategy kind : all_routing_strategies()) {
        const std::string name(to_string(kind));
        EXPECT_EQ(parse_routing_strategy(name), kind) << name;
        const Config cfg =
            load("routing: {strategy: " + name + ", model_mapping: {claude: anthropic}}\n" +
                 kOneProvider + "    pricing: {claude: {input_per_mtok: 3}}\n");
        EXPECT_EQ(cfg.routing.kind, kind) << name;
        EXPECT_EQ(cfg.routing.strategy, name);
    }
    EXPECT_EQ(parse_routing_strategy("cost-based"), std::nullopt);
    EXPECT_EQ(to_string(RoutingStrategy::weighted_round_robin), "weighted_round_robin");
    EXPECT_EQ(load(kOneProvider).routing.kind, RoutingStrategy::failover);
}

TEST_F(ConfigValidation, UnknownStrategyListsCostAndLatencyBasedAndSuggestsTheClosest) {
    const std::string error =
        load_error("routing:\n  strategy: cost-based\n" + std::string(kOneProvider));
    EXPECT_THAT(error, HasSubstr("config.yaml:2:13: routing.strategy must be one of \"failover\", "
                                 "\"round_robin\", \"weighted_round_robin\", \"shuffle\", "
                                 "\"weighted_failover\", \"least_loaded\", \"model_based\", "
                                 "\"cost_based\", \"latency_based\" (got \"cost-based\"); did you "
                                 "mean \"cost_based\"?"));
}

TEST_F(ConfigValidation, EveryStrategyIsInEffectAndLoadsWithoutWarnings) {
    for (const char* s : {"failover", "round_robin", "weighted_round_robin", "shuffle",
                          "weighted_failover", "least_loaded", "latency_based"}) {
        const Config cfg = load("routing:\n  strategy: " + std::string(s) + "\n" + kOneProvider);
        EXPECT_THAT(cfg.warnings, IsEmpty()) << s;
        EXPECT_EQ(to_string(cfg.routing.kind), s);
    }
}

TEST_F(ConfigValidation, CostBasedRoutingNeedsPricesOnAnEnabledProvider) {
    EXPECT_THAT(load_error("routing:\n  strategy: cost_based\n" + std::string(kOneProvider)),
                HasSubstr("config.yaml:2:13: routing.strategy \"cost_based\" needs prices: add "
                          "pricing: to the enabled providers"));
    // Prices on a disabled provider do not count.
    EXPECT_THAT(load_error("routing:\n  strategy: cost_based\n" + std::string(kOneProvider) +
                           "  - {name: z, type: zai, pricing: {glm: {input_per_mtok: 1}}}\n"),
                HasSubstr("needs prices"));
    EXPECT_EQ(load_error("routing:\n  strategy: cost_based\n" + std::string(kOneProvider) +
                         "    pricing: {claude: {input_per_mtok: 3}}\n"),
              "");
}

TEST_F(ConfigValidation, MaxAttemptsMustNotBeNegative) {
    EXPECT_THAT(load_error("routing:\n  max_attempts: -1\n" + std::string(kOneProvider)),
                HasSubstr("config.yaml:2:17: routing.max_attempts must be >= 0 (got -1)"));
}

TEST_F(ConfigValidation, MaxAttemptsAndFailoverTimeoutAreInEffect) {
    const Config cfg = load("routing:\n  max_attempts: 2\n  failover_timeout: 100\n" + std::string(kOneProvider));
    EXPECT_EQ(cfg.routing.max_attempts, 2);
    EXPECT_EQ(cfg.routing.failover_timeout, 100);
    EXPECT_THAT(cfg.warnings, IsEmpty());
}

TEST_F(ConfigValidation, NegativePriceIsAnErrorAtItsValue) {
    const std::string error = load_error(std::string(kOneProvider) + R"(    pricing:
      claude-opus: {input_per_mtok: -1.5, output_per_mtok: 75}
      glm-4.5: {cache_write_per_mtok: -2}
)");
    EXPECT_THAT(error, HasSubstr("with 2 errors"));
    EXPECT_THAT(error, HasSubstr("config.yaml:7:37: providers[0].pricing.claude-opus."
                                 "input_per_mtok must be >= 0 (got -1.5)"));
    EXPECT_THAT(error, HasSubstr("config.yaml:8:39: providers[0].pricing.glm-4.5."
                                 "cache_write_per_mtok must be >= 0 (got -2)"));
}

TEST_F(ConfigValidation, PriceThatIsNotAFiniteNumberIsAnError) {
    for (const char* bad : {"cheap", "nan", "inf", "1.5x", "''"}) {
        EXPECT_THAT(load_error(std::string(kOneProvider) +
                               "    pricing: {m: {output_per_mtok: " + bad + "}}\n"),
                    HasSubstr("config.yaml:6:36: providers[0].pricing.m.output_per_mtok must be "
                              "a number"))
            << bad;
    }
}

TEST_F(ConfigValidation, PricingMustMapModelsToMappingsOfPrices) {
    EXPECT_THAT(load_error(std::string(kOneProvider) + "    pricing: [a, b]\n"),
                HasSubstr("config.yaml:6:14: providers[0].pricing must be a mapping of model "
                          "names to prices (got a list)"));
    EXPECT_THAT(load_error(std::string(kOneProvider) + "    pricing: {claude: 3}\n"),
                HasSubstr("config.yaml:6:23: providers[0].pricing.claude must be a mapping of "
                          "input_per_mtok, output_per_mtok, cache_read_per_mtok and "
                          "cache_write_per_mtok (got \"3\")"));
    EXPECT_THAT(load_error(std::string(kOneProvider) +
                           "    pricing:\n      m: {input_per_mtok: 1}\n      m: {}\n"),
                HasSubstr("config.yaml:8:7: duplicate key \"providers[0].pricing.m\" (first "
                          "defined at config.yaml:7:7)"));
}

TEST_F(ConfigValidation, UnknownPriceFieldWarnsWithTheClosestOne) {
    const Config cfg = load(std::string(kOneProvider) + "    pricing: {m: {input_per_mtoks: 1}}\n");
    EXPECT_THAT(cfg.warnings,
                ::testing::Contains(HasSubstr("config.yaml:6:19: unknown key "
                                              "\"providers[0].pricing.m.input_per_mtoks\" (did "
                                              "you mean \"input_per_mtok\"?)")));
}

TEST_F(ConfigValidation, PricingIsInEffectAndLoadsWithoutWarnings) {
    const Config cfg = load(std::string(kOneProvider) + "    pricing: {m: {input_per_mtok: 1}}\n");
    EXPECT_THAT(cfg.warnings, IsEmpty());
    ASSERT_NE(cfg.providers[0].price_for("m-1"), nullptr);
    EXPECT_EQ(cfg.providers[0].price_for("m-1")->input_per_mtok, 1);
}

std::string with_clients(const std::string& clients_body) {
    return std::string(kOneProvider) +
           "  - {name: zai, type: zai, enabled: true, keys: [{key: z}]}\n" + "clients:\n" +
           clients_body;
}

TEST_F(ConfigValidation, ClientNameAndKeyAreRequired) {
    const std::string error = load_error(with_clients("  - {rpm_limit: 1}\n  - {name: bob}\n"));
    EXPECT_THAT(error, HasSubstr("with 3 errors"));
    EXPECT_THAT(error, HasSubstr("config.yaml:8:5: clients[0].name is required"));
    EXPECT_THAT(error, HasSubstr("config.yaml:8:5: clients[0].key is required (e.g. key: "
                                 "\"${CC_RELAY_KEY_NAME}\")"));
    EXPECT_THAT(error, HasSubstr("config.yaml:9:5: clients[1].key is required (e.g. key: "
                                 "\"${CC_RELAY_KEY_BOB}\")"));
}

TEST_F(ConfigValidation, DuplicateClientNameNamesTheFirstDefinition) {
    EXPECT_THAT(load_error(with_clients("  - {name: a, key: k1}\n  - {name: a, key: k2}\n")),
                HasSubstr("config.yaml:9:12: duplicate client name \"a\" (first defined at "
                          "config.yaml:8:12)"));
}

TEST_F(ConfigValidation, DuplicateClientKeyIsAnErrorThatDoesNotPrintTheKey) {
    const std::string error = load_error(
        with_clients("  - {name: a, key: sk-secret-1}\n  - {name: b, key: sk-secret-1}\n"));
    EXPECT_THAT(error, HasSubstr("config.yaml:9:20: clients[1].key is the same as the key of the "
                                 "client defined at config.yaml:8:20; each client needs its own "
                                 "key"));
    EXPECT_THAT(error, ::testing::Not(HasSubstr("sk-secret-1")));
}

TEST_F(ConfigValidation, ClientKeyMustDifferFromTheRelaysKeyAndBearerSecret) {
    const std::string error = load_error(
        "server:\n  auth: {api_key: main, allow_bearer: true, "
        "bearer_secret: bs}\n" +
        with_clients("  - {name: a, key: main}\n"
                     "  - {name: b, key: bs}\n"));
    EXPECT_THAT(error, HasSubstr("config.yaml:10:20: clients[0].key is the same as the relay's "
                                 "own key (server.auth.api_key or server.api_key)"));
    EXPECT_THAT(error, HasSubstr("config.yaml:11:20: clients[1].key is the same as "
                                 "server.auth.bearer_secret"));
    EXPECT_THAT(
        load_error("server:\n  api_key: legacy\n" + with_clients("  - {name: a, key: legacy}\n")),
        HasSubstr("clients[0].key is the same as the relay's own key"));
}

TEST_F(ConfigValidation, NegativeClientLimitsAreErrors) {
    const std::string error = load_error(with_clients(
        "  - {name: a, key: k, rpm_limit: -1, tpm_limit: -2, daily_token_budget: -3}\n"));
    EXPECT_THAT(error, HasSubstr("with 3 errors"));
    EXPECT_THAT(error, HasSubstr("config.yaml:8:34: clients[0].rpm_limit must be >= 0 (got -1)"));
    EXPECT_THAT(error, HasSubstr("config.yaml:8:49: clients[0].tpm_limit must be >= 0 (got -2)"));
    EXPECT_THAT(error,
                HasSubstr("config.yaml:8:73: clients[0].daily_token_budget must be >= 0 (got -3)"));
}

TEST_F(ConfigValidation, ClientAllowedProvidersMustNameProviders) {
    EXPECT_THAT(load_error(with_clients("  - name: a\n    key: k\n"
                                        "    allowed_providers: [anthropic, zia]\n")),
                HasSubstr("config.yaml:10:36: clients[0].allowed_providers[1] names provider "
                          "\"zia\", which is not defined in providers; did you mean \"zai\"?"));
}

TEST_F(ConfigValidation, ClientKeysExpandVariablesAndAnUnsetOneIsAnError) {
    fake_vars()["KEY_A"] = "from-env";
    const Config cfg = load_config_text(with_clients("  - {name: a, key: \"${KEY_A}\"}\n"),
                                        "config.yaml", &testing::fake_env);
    ASSERT_EQ(cfg.clients.size(), 1u);
    EXPECT_EQ(cfg.clients[0].key, "from-env");
    const std::string error = load_error(with_clients("  - {name: b, key: \"${KEY_B}\"}\n"));
    EXPECT_THAT(error, HasSubstr("with 1 error:"));
    EXPECT_THAT(error, HasSubstr("config.yaml:8:20: environment variable KEY_B is not set"));
    EXPECT_THAT(error, HasSubstr("KEY_B"));
}

TEST_F(ConfigValidation, ClientsMakeAuthRequiredAndAreInEffectWithoutAWarning) {
    const Config cfg = load(with_clients(
        "  - {name: a, key: k, rpm_limit: 30, tpm_limit: 1000, daily_token_budget: 5000,\n"
        "     allowed_providers: [zai]}\n"));
    EXPECT_TRUE(cfg.auth_required());
    EXPECT_FALSE(cfg.server.bearer_enabled());
    EXPECT_THAT(cfg.warnings, IsEmpty());
    EXPECT_FALSE(load(kOneProvider).auth_required());
}

TEST_F(ConfigValidation, ClientsThatAreNotAListOrItemsNotMappingsAreErrors) {
    EXPECT_THAT(load_error(std::string(kOneProvider) + "clients: {name: a}\n"),
                HasSubstr("config.yaml:6:10: clients must be a list (got a mapping)"));
    EXPECT_THAT(load_error(std::string(kOneProvider) + "clients: [alice]\n"),
                HasSubstr("config.yaml:6:11: clients[0] must be a mapping (got \"alice\")"));
}

}  // namespace
}  // namespace ccr::shared
