// `${VAR}` expansion: per scalar value, with defaults, `$$` escapes and positioned errors.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/shared/config/fake_env.h"

namespace ccr::shared {
namespace {

using testing::fake_vars;
using ::testing::HasSubstr;
using testing::load;
using testing::load_error;

class EnvExpansion : public ::testing::Test {
  protected:
    void SetUp() override { fake_vars().clear(); }
};

TEST_F(EnvExpansion, SetVariableIsSubstitutedInsideAValue) {
    fake_vars()["KEY"] = "sk-123";
    const Config cfg = load(std::string(R"(
server:
  auth:
    api_key: "pre-${KEY}-post"
)") + testing::kOneProvider);
    EXPECT_EQ(cfg.server.auth.api_key, "pre-sk-123-post");
}

TEST_F(EnvExpansion, UnsetVariableWithoutDefaultIsAnErrorNamingItAtTheScalar) {
    const std::string error = load_error(std::string("server:\n  api_key: ${ANTHROPIC_API_KEY}\n") + testing::kOneProvider);
    EXPECT_THAT(error, HasSubstr("config.yaml:2:12: environment variable ANTHROPIC_API_KEY is "
                                 "not set (use ${ANTHROPIC_API_KEY:-default} to give a default)"));
}

TEST_F(EnvExpansion, DefaultIsUsedWhenTheVariableIsUnset) {
    const Config cfg = load(std::string("server:\n  listen: \"${HOST:-127.0.0.1}:${PORT:-9000}\"\n") + testing::kOneProvider);
    EXPECT_EQ(cfg.server.listen, "127.0.0.1:9000");
}

TEST_F(EnvExpansion, DefaultIsUsedWhenTheVariableIsEmpty) {
    fake_vars()["PORT"] = "";
    const Config cfg = load(std::string("server:\n  listen: \":${PORT:-9001}\"\n") + testing::kOneProvider);
    EXPECT_EQ(cfg.server.listen, ":9001");
}

TEST_F(EnvExpansion, SetButEmptyVariableWithoutDefaultExpandsToNothing) {
    fake_vars()["EMPTY"] = "";
    const Config cfg = load(std::string("server:\n  api_key: \"a${EMPTY}b\"\n") + testing::kOneProvider);
    EXPECT_EQ(cfg.server.api_key, "ab");
}

TEST_F(EnvExpansion, DefaultMayItselfReferToAnotherVariable) {
    fake_vars()["FALLBACK"] = "fb";
    const Config cfg = load(std::string("server:\n  api_key: \"${PRIMARY:-${FALLBACK}}\"\n") + testing::kOneProvider);
    EXPECT_EQ(cfg.server.api_key, "fb");
}

TEST_F(EnvExpansion, DoubleDollarIsALiteralDollar) {
    fake_vars()["X"] = "never";
    const Config cfg = load(std::string("server:\n  api_key: \"p$$w$${X}\"\n") + testing::kOneProvider);
    EXPECT_EQ(cfg.server.api_key, "p$w${X}");
}

TEST_F(EnvExpansion, CommentsAreNotExpanded) {
    const Config cfg = load(std::string("# ${NOT_SET_ANYWHERE}\nserver:\n  listen: ':1' # ${ALSO_UNSET}\n") + testing::kOneProvider);
    EXPECT_EQ(cfg.server.listen, ":1");
}

TEST_F(EnvExpansion, KeysAreNotExpanded) {
    fake_vars()["M"] = "expanded";
    const Config cfg = load(R"(
routing:
  model_mapping:
    "${M}": anthropic
)" + std::string(testing::kOneProvider));
    ASSERT_EQ(cfg.routing.model_mapping.size(), 1u);
    EXPECT_EQ(cfg.routing.model_mapping[0].first, "${M}");
}

TEST_F(EnvExpansion, IntegersAndBooleansMayComeFromTheEnvironment) {
    fake_vars()["TIMEOUT"] = "1234";
    fake_vars()["BEARER"] = "true";
    const Config cfg = load(std::string(R"(
server:
  timeout_ms: ${TIMEOUT}
  auth:
    allow_bearer: ${BEARER}
)") + testing::kOneProvider);
    EXPECT_EQ(cfg.server.timeout_ms, 1234);
    EXPECT_TRUE(cfg.server.auth.allow_bearer);
}

TEST_F(EnvExpansion, ExpandedValueThatIsNotAnIntegerIsATypeError) {
    fake_vars()["TIMEOUT"] = "soon";
    EXPECT_THAT(load_error(std::string("server:\n  timeout_ms: ${TIMEOUT}\n") + testing::kOneProvider),
                HasSubstr("config.yaml:2:15: server.timeout_ms must be an integer (got \"soon\")"));
}

TEST_F(EnvExpansion, UnterminatedReferenceIsAnError) {
    EXPECT_THAT(load_error(std::string("server:\n  api_key: \"${KEY\"\n") + testing::kOneProvider), HasSubstr("unterminated \"${\""));
}

TEST_F(EnvExpansion, InvalidVariableNameIsAnError) {
    EXPECT_THAT(load_error(std::string("server:\n  api_key: \"${1BAD}\"\n") + testing::kOneProvider),
                HasSubstr("invalid environment variable reference \"${1BAD}\""));
}

TEST_F(EnvExpansion, BareDollarNameIsKeptAndWarnedAbout) {
    fake_vars()["HOME"] = "/home/x";
    const Config cfg = load(std::string("server:\n  pid_file: \"$HOME\"\n") + testing::kOneProvider);
    EXPECT_EQ(cfg.server.pid_file, "$HOME");
    ASSERT_EQ(cfg.warnings.size(), 1u);
    EXPECT_THAT(cfg.warnings[0], HasSubstr("config.yaml:2:13: \"$HOME\" is not expanded"));
}

TEST_F(EnvExpansion, BareDollarInASecretIsWarnedAboutWithoutQuotingIt) {
    const Config cfg = load(std::string("server:\n  api_key: \"ab$Secret9\"\n") + testing::kOneProvider);
    EXPECT_EQ(cfg.server.api_key, "ab$Secret9");
    ASSERT_EQ(cfg.warnings.size(), 1u);
    EXPECT_THAT(cfg.warnings[0], HasSubstr("config.yaml:2:12: server.api_key holds a \"$\" followed "
                                           "by a name, which is not expanded"));
    EXPECT_THAT(cfg.warnings[0], ::testing::Not(HasSubstr("Secret9")));
}

TEST_F(EnvExpansion, BareDollarInTheAdminTokenIsWarnedAboutWithoutQuotingIt) {
    const Config cfg = load(std::string("server:\n  admin: {listen: \"127.0.0.1:9787\", "
                                        "bearer_token: \"ab$Secret9\"}\n") +
                            testing::kOneProvider);
    ASSERT_EQ(cfg.warnings.size(), 1u);
    EXPECT_THAT(cfg.warnings[0], HasSubstr("server.admin.bearer_token holds a \"$\" followed by a name"));
    EXPECT_THAT(cfg.warnings[0], ::testing::Not(HasSubstr("Secret9")));
}

TEST_F(EnvExpansion, EveryUnsetVariableIsReportedAtOnce) {
    try {
        load(std::string("server:\n  api_key: ${A}\n  auth:\n    api_key: ${B}\n") + testing::kOneProvider);
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& e) {
        ASSERT_EQ(e.diagnostics().size(), 2u);
        EXPECT_THAT(e.diagnostics()[0].message, HasSubstr("variable A is not set"));
        EXPECT_EQ(e.diagnostics()[0].line, 2);
        EXPECT_THAT(e.diagnostics()[1].message, HasSubstr("variable B is not set"));
        EXPECT_EQ(e.diagnostics()[1].line, 4);
    }
}

TEST_F(EnvExpansion, UnsetKeyVariableIsReportedOnceNotAlsoAsAMissingKey) {
    try {
        load(
            "providers:\n  - {name: z, type: zai, enabled: true, keys: [{key: \"${ZAI_KEY}\"}]}\n");
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& e) {
        ASSERT_EQ(e.diagnostics().size(), 1u) << e.what();
        EXPECT_THAT(e.diagnostics()[0].message, HasSubstr("ZAI_KEY is not set"));
    }
}

TEST_F(EnvExpansion, IgnoredSectionsAreNotExpanded) {
    const Config cfg =
        load("cache:\n  mode: ${UNSET_CACHE_MODE}\n" + std::string(testing::kOneProvider));
    ASSERT_EQ(cfg.warnings.size(), 1u);  // that cache is ignored; nothing about its variable
    EXPECT_THAT(cfg.warnings[0], HasSubstr("\"cache\" (a Go cc-relay key) has no effect"));
}

}  // namespace
}  // namespace ccr::shared
