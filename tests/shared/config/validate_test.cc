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
                          "\"minimax\", \"deepseek\", \"moonshot\", \"openrouter\", \"ollama\")"));
}

TEST_F(ConfigValidation, UnknownProviderTypeListsKnownTypesAndSuggestsTheClosest) {
    const std::string error =
        load_error("providers:\n  - name: x\n    type: antropic\n    enabled: true\n");
    EXPECT_THAT(error, HasSubstr("config.yaml:3:11: unknown provider type \"antropic\" (known "
                                 "types: \"anthropic\", "));
    EXPECT_THAT(error, HasSubstr("did you mean \"anthropic\"?"));
}

TEST_F(ConfigValidation, EnabledCloudProviderTypeIsNotSupportedYet) {
    EXPECT_THAT(load_error("providers:\n  - {name: b, type: bedrock, enabled: true, "
                           "aws_region: us-east-1}\n"),
                HasSubstr("provider type \"bedrock\" is not supported yet"));
}

TEST_F(ConfigValidation, DisabledCloudProviderFromAGoConfigOnlyWarns) {
    const Config cfg =
        load(std::string(kOneProvider) + "  - {name: v, type: vertex, enabled: false}\n");
    ASSERT_EQ(cfg.warnings.size(), 1u);
    EXPECT_THAT(cfg.warnings[0], HasSubstr("provider type \"vertex\" is not supported yet"));
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
logging: {debug_options: {log_response_headers: true, log_tls_metrics: true}}
health: {circuit_breaker: {failure_threshold: 3}}
)");
    EXPECT_THAT(cfg.warnings,
                ::testing::ElementsAre(
                    HasSubstr("config.yaml:2:24: server.enable_http2 is not in effect yet"),
                    HasSubstr("config.yaml:3:21: routing.strategy \"round_robin\" is not in effect "
                              "yet (it comes with the routing, health and limits work); providers "
                              "are tried in config order (failover)"),
                    HasSubstr("config.yaml:3:52: routing.failover_timeout is not in effect yet"),
                    HasSubstr("config.yaml:8:32: providers[0].keys[0].rpm_limit is not in effect"),
                    HasSubstr("config.yaml:8:45: providers[0].keys[0].priority is not in effect"),
                    HasSubstr("config.yaml:8:49: only the first of 2 keys of provider \"z\" is used"),
                    HasSubstr("config.yaml:9:14: providers[0].pooling is not in effect yet"),
                    HasSubstr("config.yaml:10:49: logging.debug_options.log_response_headers is not in effect yet"),
                    HasSubstr("config.yaml:10:72: logging.debug_options.log_tls_metrics is not in effect yet"),
                    HasSubstr("config.yaml:11:9: health (circuit breakers and health checks) is not "
                              "in effect yet")));
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

}  // namespace
}  // namespace ccr::shared
