#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "cli/commands.h"
#include "tests/cli/cli_test_util.h"

namespace ccr::cli {
namespace {

using testing::capture;
using testing::exists;
using testing::list_dir;
using testing::mode_of;
using testing::Outcome;
using testing::read_text;
using testing::TempDir;
using testing::write_text;

Outcome run_init(const ClaudeSettingsOptions& opts) {
    return capture([&] { return run_config_cc_init(opts); });
}

Outcome run_remove(const ClaudeSettingsOptions& opts) {
    return capture([&] { return run_config_cc_remove(opts); });
}

ClaudeSettingsOptions options_for(const std::string& path) {
    ClaudeSettingsOptions opts;
    opts.settings_path = path;
    return opts;
}

TEST(ClaudeSettings, InitCreatesAMissingFileAndItsDirectoryWithMode0600) {
    TempDir dir;
    const std::string path = dir.file(".claude/settings.json");
    Outcome r = run_init(options_for(path));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(read_text(path),
              "{\n  \"env\": {\n    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:8787\",\n"
              "    \"ANTHROPIC_AUTH_TOKEN\": \"managed-by-cc-relay\"\n  }\n}\n");
    EXPECT_EQ(mode_of(path), 0600);
    EXPECT_EQ(mode_of(dir.file(".claude")), 0700);
    EXPECT_FALSE(exists(path + ".bak"));
    EXPECT_NE(r.out.find("Restart Claude Code"), std::string::npos);
}

TEST(ClaudeSettings, InitKeepsOtherKeysAndTheirOrder) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    write_text(path, R"j({"permissions": {"allow": ["Bash(ls)"], "deny": []}, "model": "opus",)j"
                     R"( "cleanupPeriodDays": 30})");
    ASSERT_EQ(run_init(options_for(path)).code, 0);
    EXPECT_EQ(read_text(path),
              "{\n  \"permissions\": {\n    \"allow\": [\n      \"Bash(ls)\"\n    ],\n"
              "    \"deny\": []\n  },\n  \"model\": \"opus\",\n  \"cleanupPeriodDays\": 30,\n"
              "  \"env\": {\n    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:8787\",\n"
              "    \"ANTHROPIC_AUTH_TOKEN\": \"managed-by-cc-relay\"\n  }\n}\n");
}

TEST(ClaudeSettings, InitKeepsTheByteTextOfUntouchedValues) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    write_text(path, "{\n  \"cost\": 1.50,\n  \"exp\": 1E+2,\n  \"name\": \"caf\\u00e9\"\n}\n");
    ASSERT_EQ(run_init(options_for(path)).code, 0);
    std::string text = read_text(path);
    EXPECT_EQ(
        text.rfind("{\n  \"cost\": 1.50,\n  \"exp\": 1E+2,\n  \"name\": \"caf\\u00e9\",\n", 0), 0u)
        << text;
}

TEST(ClaudeSettings, InitUpdatesOurEnvEntriesInPlaceAndKeepsTheOthers) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    write_text(path, R"({"env": {"Z_VAR": "z", "ANTHROPIC_AUTH_TOKEN": "old", "A_VAR": "a",)"
                     R"( "ANTHROPIC_BASE_URL": "http://old:1"}, "after": true})");
    ClaudeSettingsOptions opts = options_for(path);
    opts.proxy_url = "https://relay.example.com:8443/";
    opts.token = "sk-my-token";
    Outcome r = run_init(opts);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(
        read_text(path),
        "{\n  \"env\": {\n    \"Z_VAR\": \"z\",\n    \"ANTHROPIC_AUTH_TOKEN\": \"sk-my-token\",\n"
        "    \"A_VAR\": \"a\",\n"
        "    \"ANTHROPIC_BASE_URL\": \"https://relay.example.com:8443\"\n  },\n"
        "  \"after\": true\n}\n");
    EXPECT_EQ(r.out.find("sk-my-token"), std::string::npos) << "a given token is not echoed";
}

TEST(ClaudeSettings, InitWritesABackupOfThePreviousFile) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    const std::string before = "{ \"model\" : \"sonnet\" }";
    write_text(path, before);
    ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
    ASSERT_EQ(run_init(options_for(path)).code, 0);
    EXPECT_EQ(read_text(path + ".bak"), before);
    EXPECT_EQ(mode_of(path + ".bak"), 0640);
}

TEST(ClaudeSettings, InitPreservesTheModeOfAnExistingFile) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    write_text(path, "{}");
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    ASSERT_EQ(run_init(options_for(path)).code, 0);
    EXPECT_EQ(mode_of(path), 0644);
}

TEST(ClaudeSettings, InitLeavesNoTemporaryFilesBehind) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    write_text(path, "{}");
    ASSERT_EQ(run_init(options_for(path)).code, 0);
    ClaudeSettingsOptions opts = options_for(path);
    opts.token = "second";
    ASSERT_EQ(run_init(opts).code, 0);
    EXPECT_EQ(list_dir(dir.path()),
              (std::vector<std::string>{"settings.json", "settings.json.bak"}));
}

TEST(ClaudeSettings, InitRefusesInvalidJsonWithItsPositionAndLeavesTheFileUnchanged) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    const std::string before = "{\n  \"model\": \"opus\",\n}\n";
    write_text(path, before);
    Outcome r = run_init(options_for(path));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find(path + ":3:1:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("not changed"), std::string::npos) << r.err;
    EXPECT_EQ(read_text(path), before);
    EXPECT_EQ(list_dir(dir.path()), (std::vector<std::string>{"settings.json"}));
}

TEST(ClaudeSettings, InitRefusesATopLevelThatIsNotAnObject) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    write_text(path, "[1]");
    EXPECT_EQ(run_init(options_for(path)).code, 1);
    EXPECT_EQ(read_text(path), "[1]");
}

TEST(ClaudeSettings, InitRefusesAnEnvThatIsNotAnObject) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    write_text(path, R"({"env": "x"})");
    Outcome r = run_init(options_for(path));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("\"env\" must be a JSON object"), std::string::npos) << r.err;
    EXPECT_EQ(read_text(path), R"({"env": "x"})");
}

TEST(ClaudeSettings, InitDoesNotRewriteSettingsThatAlreadyPointAtTheRelay) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    ASSERT_EQ(run_init(options_for(path)).code, 0);
    Outcome r = run_init(options_for(path));
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("nothing to change"), std::string::npos) << r.out;
    EXPECT_FALSE(exists(path + ".bak"));
}

TEST(ClaudeSettings, InitSaysThatThePlaceholderTokenOverridesASubscriptionLogin) {
    TempDir dir;
    Outcome r = run_init(options_for(dir.file("settings.json")));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("takes the place of a Claude subscription login"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--keep-login"), std::string::npos) << r.out;

    ClaudeSettingsOptions with_token = options_for(dir.file("other.json"));
    with_token.token = "relay-key";
    Outcome t = run_init(with_token);
    ASSERT_EQ(t.code, 0) << t.err;
    EXPECT_EQ(t.out.find("subscription login"), std::string::npos) << t.out;
}

TEST(ClaudeSettings, InitWithKeepLoginWritesOnlyTheBaseUrlAndDropsAnEarlierToken) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    ASSERT_EQ(run_init(options_for(path)).code, 0);  // placeholder written first
    ClaudeSettingsOptions keep = options_for(path);
    keep.keep_login = true;
    Outcome r = run_init(keep);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(read_text(path), "{\n  \"env\": {\n    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:8787\"\n  }\n}\n");
    EXPECT_EQ(r.out.find("takes the place of"), std::string::npos) << r.out;
    EXPECT_NE(run_init(keep).out.find("nothing to change"), std::string::npos);
}

TEST(ClaudeSettings, InitAcceptsOnlyHttpUrlsWithHostAndPort) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    for (const char* bad :
         {"127.0.0.1:8787", "ftp://h", "http://", "http://h/v1", "http://h:0", "http://h:70000",
          "http://u:p@h", "http://h?x", "http://[::1", "http://h:"}) {
        ClaudeSettingsOptions opts = options_for(path);
        opts.proxy_url = bad;
        Outcome r = run_init(opts);
        EXPECT_EQ(r.code, 1) << bad;
        EXPECT_NE(r.err.find("--proxy-url"), std::string::npos) << r.err;
    }
    EXPECT_FALSE(exists(path));
    for (const char* good : {"http://localhost", "https://relay.example.com:443",
                             "http://[::1]:8787", "http://10.0.0.1:8787/"}) {
        ClaudeSettingsOptions opts = options_for(path);
        opts.proxy_url = good;
        EXPECT_EQ(run_init(opts).code, 0) << good;
    }
}

TEST(ClaudeSettings, InitRejectsATokenThatCannotBeAHeaderValue) {
    TempDir dir;
    ClaudeSettingsOptions opts = options_for(dir.file("settings.json"));
    opts.token = "has space";
    EXPECT_EQ(run_init(opts).code, 1);
    EXPECT_FALSE(exists(dir.file("settings.json")));
}

TEST(ClaudeSettings, InitWritesThroughASymlinkAndKeepsIt) {
    TempDir dir;
    const std::string target = dir.file("dotfiles-settings.json");
    const std::string link = dir.file("settings.json");
    write_text(target, R"({"model": "opus"})");
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    ASSERT_EQ(run_init(options_for(link)).code, 0);
    struct stat st {};
    ASSERT_EQ(::lstat(link.c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    EXPECT_NE(read_text(target).find("ANTHROPIC_BASE_URL"), std::string::npos);
}

TEST(ClaudeSettings, RemoveDeletesOnlyOurKeys) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    write_text(path, R"({"model": "opus", "env": {"ANTHROPIC_BASE_URL": "http://x:1", "KEEP": "1",)"
                     R"( "ANTHROPIC_AUTH_TOKEN": "t"}, "n": 1.50})");
    Outcome r = run_remove(options_for(path));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(
        read_text(path),
        "{\n  \"model\": \"opus\",\n  \"env\": {\n    \"KEEP\": \"1\"\n  },\n  \"n\": 1.50\n}\n");
    EXPECT_TRUE(exists(path + ".bak"));
}

TEST(ClaudeSettings, RemoveDropsEnvWhenItBecomesEmpty) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    write_text(path, R"({"a": 1, "env": {"ANTHROPIC_BASE_URL": "u"}, "b": 2})");
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    ASSERT_EQ(run_remove(options_for(path)).code, 0);
    EXPECT_EQ(read_text(path), "{\n  \"a\": 1,\n  \"b\": 2\n}\n");
    EXPECT_EQ(mode_of(path), 0644);
}

TEST(ClaudeSettings, RemoveUndoesInitOnAnExistingFile) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    const std::string before = "{\n  \"model\": \"opus\"\n}\n";
    write_text(path, before);
    ASSERT_EQ(run_init(options_for(path)).code, 0);
    ASSERT_EQ(run_remove(options_for(path)).code, 0);
    EXPECT_EQ(read_text(path), before);
}

TEST(ClaudeSettings, RemoveReportsWhenThereIsNothingToRemove) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    Outcome missing = run_remove(options_for(path));
    EXPECT_EQ(missing.code, 0);
    EXPECT_EQ(missing.out, "No cc-relay configuration found in Claude Code settings.\n");
    EXPECT_FALSE(exists(path));

    write_text(path, R"({"env": {"OTHER": "1"}})");
    Outcome none = run_remove(options_for(path));
    EXPECT_EQ(none.code, 0);
    EXPECT_EQ(none.out, "No cc-relay configuration found in Claude Code settings.\n");
    EXPECT_EQ(read_text(path), R"({"env": {"OTHER": "1"}})");
    EXPECT_FALSE(exists(path + ".bak"));
}

TEST(ClaudeSettings, RemoveRefusesInvalidJsonAndLeavesTheFileUnchanged) {
    TempDir dir;
    const std::string path = dir.file("settings.json");
    const std::string before = "{\"env\": {\"ANTHROPIC_BASE_URL\": \"u\"}} // mine";
    write_text(path, before);
    Outcome r = run_remove(options_for(path));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find(path + ":1:38:"), std::string::npos) << r.err;
    EXPECT_EQ(read_text(path), before);
}

}  // namespace
}  // namespace ccr::cli
