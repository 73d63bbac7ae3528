#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "cli/commands.h"
#include "shared/config/config.h"
#include "tests/cli/cli_test_util.h"

namespace ccr::cli {
namespace {

using testing::capture;
using testing::exists;
using testing::Outcome;
using testing::TempDir;
using testing::write_text;

Outcome run_validate(const std::string& path) {
    return capture([&] { return run_config_validate(path); });
}

TEST(ConfigValidate, AcceptsWhatConfigInitWrites) {
    TempDir dir;
    const std::string path = dir.file("config.yaml");
    ::setenv("ANTHROPIC_API_KEY", "sk-ant-test", 0);
    write_text(path, shared::default_config_yaml());
    Outcome r = run_validate(path);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("✓ " + path + " is valid"), std::string::npos) << r.out;
}

TEST(ConfigValidate, ReportsAYamlSyntaxErrorWithItsFileAndExits1) {
    TempDir dir;
    const std::string path = dir.file("broken.yaml");
    write_text(path, "server:\n  listen: [unclosed\n");
    Outcome r = run_validate(path);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find(path + ":"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("✗ " + path + " is invalid"), std::string::npos) << r.err;
}

TEST(ConfigValidate, ReportsEveryProblemNotJustTheFirst) {
    TempDir dir;
    const std::string path = dir.file("bad.yaml");
    write_text(path,
               "server:\n  listen: \"not-an-address\"\n"
               "providers:\n  - name: p\n    type: no-such-type\n    enabled: true\n");
    Outcome r = run_validate(path);
    EXPECT_EQ(r.code, 1);
    // One diagnostic line per problem, then the verdict line.
    std::size_t lines = 0;
    for (char c : r.err) lines += c == '\n';
    EXPECT_GE(lines, 3u) << r.err;
}

TEST(ConfigValidate, AConfigThatServesNothingIsInvalid) {
    TempDir dir;
    const std::string typo = dir.file("typo.yaml");
    write_text(typo, "providers:\n  - name: a\n    type: anthropic\n    enabeld: true\n");
    Outcome r = run_validate(typo);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.err.find("unknown key \"providers[0].enabeld\" (did you mean \"enabled\"?)"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(typo + ":2:3: no provider is enabled"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("is valid"), std::string::npos) << r.out;

    const std::string empty = dir.file("empty.yaml");
    write_text(empty, "");
    Outcome e = run_validate(empty);
    EXPECT_EQ(e.code, 1) << e.out;
    EXPECT_NE(e.err.find("no providers are configured"), std::string::npos) << e.err;
}

TEST(ConfigValidate, SaysWhichKeysAreNotInEffectYet) {
    TempDir dir;
    const std::string path = dir.file("limits.yaml");
    write_text(path,
               "logging: {pretty: true}\n"
               "providers:\n  - name: a\n    type: anthropic\n    enabled: true\n"
               "    keys: [{key: k, rpm_limit: 60}]\n");
    Outcome r = run_validate(path);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("warning: " + path + ":1:19: logging.pretty is not in effect yet"),
              std::string::npos)
        << r.err;
    // Key limits are in effect: no warning for them.
    EXPECT_EQ(r.err.find("rpm_limit"), std::string::npos) << r.err;
}

TEST(ConfigValidate, AcceptsCloudProvidersAndReportsTheirProblemsWithoutSecrets) {
    TempDir dir;
    const std::string good = dir.file("cloud.yaml");
    write_text(good,
               "providers:\n"
               "  - name: bedrock\n    type: bedrock\n    enabled: true\n"
               "    aws_region: us-east-1\n    aws_bearer_token: bedrock-api-key-value\n"
               "  - name: foundry\n    type: foundry\n    enabled: true\n"
               "    azure_resource_name: res\n    azure_api_version: '2024-05-01'\n"
               "    keys: [{key: foundry-key-value}]\n");
    Outcome r = run_validate(good);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("2 providers enabled (bedrock, foundry)"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("warning: " + good + ":11:24: provider \"foundry\" (foundry): "
                         "azure_api_version is not in effect"),
              std::string::npos)
        << r.err;

    const std::string bad = dir.file("bad-cloud.yaml");
    write_text(bad,
               "providers:\n"
               "  - name: bedrock\n    type: bedrock\n    enabled: true\n"
               "    aws_region: us-east-1\n    aws_secret_access_key: aws-secret-value\n"
               "  - name: vertex\n    type: vertex\n    enabled: true\n"
               "    gcp_project_id: p\n    gcp_region: global\n"
               "    gcp_credentials_file: " + dir.file("missing-sa.json") + "\n");
    Outcome b = run_validate(bad);
    EXPECT_EQ(b.code, 1) << b.out;
    EXPECT_NE(b.err.find(bad + ":6:28: provider \"bedrock\" (bedrock): aws_secret_access_key is "
                         "set but aws_access_key_id is not"),
              std::string::npos)
        << b.err;
    EXPECT_NE(b.err.find(bad + ":12:27: provider \"vertex\" (vertex): gcp_credentials_file"),
              std::string::npos)
        << b.err;
    EXPECT_NE(b.err.find("is invalid (2 problems)"), std::string::npos) << b.err;
    for (const Outcome* o : {&r, &b}) {
        for (const char* secret : {"bedrock-api-key-value", "foundry-key-value", "aws-secret-value"}) {
            EXPECT_EQ(o->out.find(secret), std::string::npos) << secret;
            EXPECT_EQ(o->err.find(secret), std::string::npos) << secret;
        }
    }
}

TEST(ConfigValidate, FailsForAnExplicitPathThatDoesNotExist) {
    TempDir dir;
    Outcome r = run_validate(dir.file("missing.yaml"));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("no such file"), std::string::npos) << r.err;
}

TEST(ConfigValidate, SaysTheBuiltInDefaultIsValidWhenNoFileIsFound) {
    if (exists("/etc/cc-relay/config.yaml")) GTEST_SKIP() << "a system config exists";
    TempDir dir;
    char cwd[4096];
    ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
    const char* old_home = ::getenv("HOME");
    std::string saved_home = old_home != nullptr ? old_home : "";
    ASSERT_EQ(::chdir(dir.path().c_str()), 0);
    ::setenv("HOME", dir.path().c_str(), 1);
    Outcome r = run_validate("");
    ASSERT_EQ(::chdir(cwd), 0);
    if (old_home != nullptr) ::setenv("HOME", saved_home.c_str(), 1);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("built-in default"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(dir.path() + "/.config/cc-relay/config.yaml"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ccr::cli
