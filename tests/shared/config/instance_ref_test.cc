// The operator commands' light read of a config: server.listen, shm_name and pid_file (and
// ledger.path for `usage`) only, without the service's environment.

#include <gtest/gtest.h>

#include "tests/shared/config/fake_env.h"

namespace ccr::shared {
namespace {

InstanceRef read(const std::string& text) {
    return read_instance_ref_text(text, "config.yaml", &testing::fake_env);
}

std::string read_error(const std::string& text) {
    try {
        read(text);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

constexpr const char* kServiceConfig = R"(server:
  listen: 127.0.0.1:9000
  auth:
    api_key: ${RELAY_KEY}
  stats_group: ${CC_RELAY_STATS_GROUP}
providers:
  - name: anthropic
    type: anthropic
    enabled: true
    keys: [{key: "${ANTHROPIC_API_KEY}"}]
)";

TEST(InstanceRef, UnsetVariablesInValuesItDoesNotUseAreNotAnError) {
    testing::fake_vars() = {};
    const InstanceRef ref = read(kServiceConfig);
    EXPECT_EQ(ref.listen, "127.0.0.1:9000");
    EXPECT_EQ(ref.shm_name, "");
    EXPECT_EQ(ref.source, "config.yaml");
    EXPECT_EQ(shm_name_for(ref.shm_name, ref.listen), "/cc-relay-9000");
    // The full loader, by contrast, needs every variable.
    EXPECT_NE(testing::load_error(kServiceConfig).find("RELAY_KEY is not set"), std::string::npos);
}

TEST(InstanceRef, ExpandsTheValuesItUses) {
    testing::fake_vars() = {{"PORT", "9100"}, {"RUN", "/run/x"}};
    const InstanceRef ref = read(
        "server:\n  listen: 127.0.0.1:${PORT}\n  shm_name: /relay-${PORT}\n"
        "  pid_file: ${RUN}/pid\n");
    EXPECT_EQ(ref.listen, "127.0.0.1:9100");
    EXPECT_EQ(ref.shm_name, "/relay-9100");
    EXPECT_EQ(ref.pid_file, "/run/x/pid");
}

TEST(InstanceRef, AnUnsetVariableInAValueItUsesIsAnErrorWithItsPositionAndTheWayOut) {
    testing::fake_vars() = {};
    EXPECT_EQ(read_error("server:\n  listen: 127.0.0.1:${PORT}\n"),
              "config validation failed with 1 error:\n  config.yaml:2:11: server.listen: "
              "environment variable PORT is not set (use ${PORT:-default} to give a default); "
              "this command needs it to find the instance (or name the instance with --listen "
              "HOST:PORT or --shm NAME)");
}

TEST(InstanceRef, ReadsLedgerPathAndKeepsItsErrorsForUsageAlone) {
    testing::fake_vars() = {{"STATE", "/srv/state"}};
    const InstanceRef ref = read("ledger:\n  path: ${STATE}/usage.db\n  interval_ms: 5000\n");
    EXPECT_EQ(ref.ledger_path, "/srv/state/usage.db");
    EXPECT_TRUE(ref.ledger_errors.empty());
    EXPECT_EQ(read("server:\n  listen: 127.0.0.1:9000\n").ledger_path, "");

    testing::fake_vars() = {};
    // `stats` still finds the instance; `usage` (without --db) has the error to report.
    const InstanceRef bad = read("server:\n  listen: 127.0.0.1:9000\nledger:\n  path: ${STATE}/usage.db\n");
    EXPECT_EQ(bad.listen, "127.0.0.1:9000");
    ASSERT_EQ(bad.ledger_errors.size(), 1u);
    EXPECT_EQ(bad.ledger_errors[0].line, 4);
    EXPECT_NE(bad.ledger_errors[0].message.find("ledger.path: environment variable STATE is not set"),
              std::string::npos);
    EXPECT_NE(bad.ledger_errors[0].message.find("--db PATH"), std::string::npos);
    EXPECT_EQ(read("ledger: 3\n").ledger_errors.size(), 1u);
}

TEST(InstanceRef, DefaultsToTheDefaultAddress) {
    testing::fake_vars() = {};
    const InstanceRef ref = read("providers: []\n");
    EXPECT_EQ(ref.listen, "127.0.0.1:8787");
    EXPECT_EQ(shm_name_for(ref.shm_name, ref.listen), "/cc-relay-8787");
}

TEST(InstanceRef, ReportsASyntaxErrorAndAnAddressThatNamesNoSegment) {
    testing::fake_vars() = {};
    EXPECT_NE(read_error("server: [\n").find("YAML syntax error"), std::string::npos);
    EXPECT_NE(read_error("server:\n  listen: nowhere\n")
                  .find("server.listen \"nowhere\" is not HOST:PORT"),
              std::string::npos);
    // With a segment name, the address is not needed to find it.
    EXPECT_EQ(read("server:\n  listen: nowhere\n  shm_name: /x\n").shm_name, "/x");
}

TEST(InstanceRef, AFileThatCannotBeReadPointsAtTheOptionsThatNeedNone) {
    try {
        read_instance_ref_file("/nonexistent/config.yaml", &testing::fake_env);
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_NE(
            std::string(e.what()).find("/nonexistent/config.yaml: config file does not exist"),
            std::string::npos)
            << e.what();
    }
}

TEST(StatsGroup, IsReadAndValidated) {
    testing::fake_vars() = {{"G", "cc-relay-stats"}};
    EXPECT_EQ(testing::load(std::string("server:\n  stats_group: ${G}\n") + testing::kOneProvider)
                  .server.stats_group,
              "cc-relay-stats");
    EXPECT_NE(testing::load_error(std::string("server:\n  stats_group: \"a b\"\n") +
                                  testing::kOneProvider)
                  .find("server.stats_group must be a group name (got \"a b\")"),
              std::string::npos);
}

}  // namespace
}  // namespace ccr::shared
