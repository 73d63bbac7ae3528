// A config file that holds credentials written in it warns when users other than its owner may
// read it; `${VAR}` references, a private mode or a one-account group do not.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/shared/config/fake_env.h"

namespace ccr::shared {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class ConfigExposure : public ::testing::Test {
  protected:
    void SetUp() override {
        testing::fake_vars() = {{"PROVIDER_KEY", "sk-from-env-0123456789"}, {"ALICE_KEY", "sk-alice-0123456789"}};
        dir_ = std::filesystem::temp_directory_path() /
               ("ccr-exposure-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    /// The warnings of loading `text` from a file of `mode`.
    std::vector<std::string> warnings(const std::string& text, mode_t mode) {
        const std::string path = (dir_ / "config.yaml").string();
        std::ofstream(path) << text;
        ::chmod(path.c_str(), mode);
        return load_config_file(path, &testing::fake_env).warnings;
    }

    std::filesystem::path dir_;
};

constexpr const char* kLiteralKey = R"(
providers:
  - {name: a, type: zai, enabled: true, keys: [{key: sk-literal-secret-9f8e7d}]}
)";

constexpr const char* kEnvKeys = R"(
server:
  auth: {api_key: "${PROVIDER_KEY}"}
  api_key: "${UNSET:-}"
  admin: {listen: "127.0.0.1:9787", bearer_token: "${PROVIDER_KEY}"}
providers:
  - {name: a, type: zai, enabled: true, keys: [{key: "${PROVIDER_KEY}"}]}
clients:
  - {name: alice, key: " ${ALICE_KEY} "}
)";

TEST_F(ConfigExposure, WorldReadableFileWithALiteralKeyWarnsNamingWhereButNotTheKey) {
    const auto w = warnings(kLiteralKey, 0644);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_THAT(
        w[0], AllOf(HasSubstr("config.yaml: the file holds credentials written in it"),
                    HasSubstr("providers[0].keys[0].key"),
                    HasSubstr("readable by every user (mode 0644)"), Not(HasSubstr("sk-literal"))));
}

TEST_F(ConfigExposure, PrivateFileWithALiteralKeyDoesNotWarn) {
    EXPECT_THAT(warnings(kLiteralKey, 0600), IsEmpty());
}

TEST_F(ConfigExposure, WorldReadableFileWithOnlyEnvReferencesDoesNotWarn) {
    EXPECT_THAT(warnings(kEnvKeys, 0644), IsEmpty());
}

TEST_F(ConfigExposure, EveryKindOfCredentialCounts) {
    const char* text = R"(
server:
  auth: {api_key: relay-key, allow_bearer: true, bearer_secret: "${PROVIDER_KEY:-a-default-in-the-file}"}
  admin: {listen: "127.0.0.1:9787", bearer_token: "prefix-${PROVIDER_KEY}"}
providers:
  - {name: a, type: zai, enabled: true, keys: [{key: "${PROVIDER_KEY}"}]}
clients:
  - {name: alice, key: alice-key}
)";
    const auto w = warnings(text, 0604);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_THAT(w[0], AllOf(HasSubstr("server.auth.api_key, server.auth.bearer_secret, "
                                      "server.admin.bearer_token, ..."),
                            HasSubstr("(mode 0604)")));
}

TEST(ConfigExposureOf, OthersReadingIsAlwaysAnExposure) {
    EXPECT_EQ(config_exposure(0100644, "root", 1), "every user (mode 0644)");
    EXPECT_EQ(config_exposure(0604, "root", 0), "every user (mode 0604)");
}

TEST(ConfigExposureOf, GroupReadingIsAnExposureWhenTheGroupHasOtherAccounts) {
    EXPECT_EQ(config_exposure(0640, "staff", 3), "the 3 accounts of group staff (mode 0640)");
    // The shipped install: 0640 root:cc-relay, the service alone in its group.
    EXPECT_EQ(config_exposure(0640, "cc-relay", 1), "");
    EXPECT_EQ(config_exposure(0600, "staff", 3), "");
    EXPECT_EQ(config_exposure(0620, "staff", 3), "");
}

}  // namespace
}  // namespace ccr::shared
