// Bedrock credentials and region: each step of the order, the credentials file's profiles, and
// the problems when a piece is missing.

#include "shared/cloud/aws.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/shared/cloud/temp_dir.h"
#include "tests/shared/config/fake_env.h"

namespace ccr::shared::cloud {
namespace {

using shared::testing::fake_env;
using shared::testing::fake_vars;
using shared::testing::TempDir;
using ::testing::AllOf;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Severity = Problem::Severity;

constexpr const char* kCredentials = R"(# comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = secret-default

[work]
aws_access_key_id=AKIDWORK
aws_secret_access_key=secret-work
aws_session_token = token-work
; another comment
[half]
aws_access_key_id = AKIDHALF

[sso]
sso_start_url = https://example.awsapps.com/start
)";

class AwsResolve : public ::testing::Test {
  protected:
    void SetUp() override {
        fake_vars().clear();
        fake_vars()["HOME"] = home_.path();
        fake_vars()["AWS_REGION"] = "us-east-1";
    }
    ProviderConfig bedrock() const {
        ProviderConfig p;
        p.name = "b";
        p.type = "bedrock";
        p.enabled = true;
        return p;
    }
    std::string write_home_credentials() const {
        return home_.write(".aws/credentials", kCredentials);
    }
    static std::vector<std::string> errors(const AwsResolution& r) {
        std::vector<std::string> out;
        for (const Problem& p : r.problems) {
            if (p.severity == Severity::error) out.push_back(p.key + ": " + p.message);
        }
        return out;
    }
    TempDir home_;
};

TEST_F(AwsResolve, ConfigBearerTokenWinsOverEverything) {
    write_home_credentials();
    fake_vars()["AWS_BEARER_TOKEN_BEDROCK"] = "env-bearer";
    fake_vars()["AWS_ACCESS_KEY_ID"] = "AKIDENV";
    fake_vars()["AWS_SECRET_ACCESS_KEY"] = "secret-env";
    ProviderConfig p = bedrock();
    p.aws_bearer_token = "config-bearer";
    const AwsResolution r = resolve_aws(p, &fake_env);
    EXPECT_TRUE(r.uses_bearer());
    EXPECT_EQ(r.bearer_token, "config-bearer");
    EXPECT_EQ(r.bearer_source, "config");
    EXPECT_FALSE(r.sigv4.has_value());
    EXPECT_THAT(r.problems, IsEmpty());
}

TEST_F(AwsResolve, EnvironmentBearerTokenReplacesSigV4AndSaysConfigKeysAreNotInEffect) {
    fake_vars()["AWS_BEARER_TOKEN_BEDROCK"] = "env-bearer";
    ProviderConfig p = bedrock();
    p.aws_access_key_id = "AKIDCONF";
    p.aws_secret_access_key = "secret-conf";
    p.aws_profile = "work";
    const AwsResolution r = resolve_aws(p, &fake_env);
    EXPECT_EQ(r.bearer_token, "env-bearer");
    EXPECT_EQ(r.bearer_source, "environment");
    EXPECT_FALSE(r.sigv4.has_value());
    ASSERT_EQ(r.problems.size(), 3u);
    for (const Problem& pr : r.problems) {
        EXPECT_EQ(pr.severity, Severity::warning);
        EXPECT_THAT(pr.message, HasSubstr("not in effect: the Bedrock API key "
                                          "(AWS_BEARER_TOKEN_BEDROCK)"));
        EXPECT_THAT(pr.message, Not(HasSubstr("secret-conf")));
    }
    EXPECT_EQ(r.problems[0].key, "aws_access_key_id");
    EXPECT_EQ(r.problems[1].key, "aws_secret_access_key");
    EXPECT_EQ(r.problems[2].key, "aws_profile");
}

TEST_F(AwsResolve, ConfigKeysComeBeforeTheEnvironmentAndTheFile) {
    write_home_credentials();
    fake_vars()["AWS_ACCESS_KEY_ID"] = "AKIDENV";
    fake_vars()["AWS_SECRET_ACCESS_KEY"] = "secret-env";
    ProviderConfig p = bedrock();
    p.aws_access_key_id = "AKIDCONF";
    p.aws_secret_access_key = "secret-conf";
    p.aws_session_token = "token-conf";
    const AwsResolution r = resolve_aws(p, &fake_env);
    ASSERT_TRUE(r.sigv4.has_value());
    EXPECT_EQ(*r.sigv4, (AwsCredentialSet{"AKIDCONF", "secret-conf", "token-conf", "config"}));
    EXPECT_FALSE(r.uses_bearer());
    EXPECT_THAT(r.problems, IsEmpty());
}

TEST_F(AwsResolve, EnvironmentKeysComeBeforeTheFile) {
    write_home_credentials();
    fake_vars()["AWS_ACCESS_KEY_ID"] = "AKIDENV";
    fake_vars()["AWS_SECRET_ACCESS_KEY"] = "secret-env";
    fake_vars()["AWS_SESSION_TOKEN"] = "token-env";
    const AwsResolution r = resolve_aws(bedrock(), &fake_env);
    ASSERT_TRUE(r.sigv4.has_value());
    EXPECT_EQ(*r.sigv4, (AwsCredentialSet{"AKIDENV", "secret-env", "token-env", "environment"}));
    EXPECT_THAT(r.problems, IsEmpty());
}

TEST_F(AwsResolve, ProfileSetInConfigIsNotInEffectWhenKeysComeFromTheEnvironment) {
    fake_vars()["AWS_ACCESS_KEY_ID"] = "AKIDENV";
    fake_vars()["AWS_SECRET_ACCESS_KEY"] = "secret-env";
    ProviderConfig p = bedrock();
    p.aws_profile = "work";
    const AwsResolution r = resolve_aws(p, &fake_env);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].severity, Severity::warning);
    EXPECT_EQ(r.problems[0].key, "aws_profile");
    EXPECT_THAT(r.problems[0].message, HasSubstr("keys come from the environment"));
}

TEST_F(AwsResolve, FileDefaultProfileIsUsedLast) {
    const std::string file = write_home_credentials();
    const AwsResolution r = resolve_aws(bedrock(), &fake_env);
    ASSERT_TRUE(r.sigv4.has_value()) << ::testing::PrintToString(errors(r));
    EXPECT_EQ(*r.sigv4,
              (AwsCredentialSet{"AKIDDEFAULT", "secret-default", "", file + " [profile default]"}));
}

TEST_F(AwsResolve, ConfigProfileComesBeforeAwsProfileVariable) {
    const std::string file = write_home_credentials();
    fake_vars()["AWS_PROFILE"] = "default";
    ProviderConfig p = bedrock();
    p.aws_profile = "work";
    const AwsResolution r = resolve_aws(p, &fake_env);
    ASSERT_TRUE(r.sigv4.has_value());
    EXPECT_EQ(*r.sigv4, (AwsCredentialSet{"AKIDWORK", "secret-work", "token-work",
                                          file + " [profile work]"}));
}

TEST_F(AwsResolve, AwsProfileVariableChoosesTheProfileWhenTheConfigDoesNot) {
    write_home_credentials();
    fake_vars()["AWS_PROFILE"] = "work";
    const AwsResolution r = resolve_aws(bedrock(), &fake_env);
    ASSERT_TRUE(r.sigv4.has_value());
    EXPECT_EQ(r.sigv4->access_key_id, "AKIDWORK");
}

TEST_F(AwsResolve, SharedCredentialsFileVariableReplacesTheHomeFile) {
    write_home_credentials();
    TempDir other;
    const std::string file =
        other.write("creds", "[default]\naws_access_key_id=AKIDOTHER\naws_secret_access_key=s\n");
    fake_vars()["AWS_SHARED_CREDENTIALS_FILE"] = file;
    EXPECT_EQ(aws_credentials_file(&fake_env), file);
    const AwsResolution r = resolve_aws(bedrock(), &fake_env);
    ASSERT_TRUE(r.sigv4.has_value());
    EXPECT_EQ(r.sigv4->access_key_id, "AKIDOTHER");
    EXPECT_EQ(r.sigv4->source, file + " [profile default]");
}

TEST_F(AwsResolve, NoCredentialsSaysWhereItLooked) {
    const AwsResolution r = resolve_aws(bedrock(), &fake_env);
    EXPECT_FALSE(r.sigv4.has_value());
    ASSERT_EQ(errors(r).size(), 1u);
    const std::string e = errors(r)[0];
    EXPECT_THAT(e, HasSubstr("no AWS credentials found"));
    EXPECT_THAT(e, HasSubstr("aws_access_key_id/aws_secret_access_key in the config"));
    EXPECT_THAT(e, HasSubstr("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment"));
    EXPECT_THAT(e, HasSubstr("profile \"default\" in " + home_.path() +
                             "/.aws/credentials, which does not exist"));
    EXPECT_THAT(e, HasSubstr("aws_bearer_token (or AWS_BEARER_TOKEN_BEDROCK)"));
}

TEST_F(AwsResolve, MissingProfileIsReportedAtAwsProfile) {
    write_home_credentials();
    ProviderConfig p = bedrock();
    p.aws_profile = "nope";
    const AwsResolution r = resolve_aws(p, &fake_env);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].key, "aws_profile");
    EXPECT_THAT(r.problems[0].message,
                HasSubstr("profile \"nope\" (from aws_profile) in " + home_.path() +
                          "/.aws/credentials, which has no such profile"));
}

TEST_F(AwsResolve, ProfileWithoutStaticKeysIsNotSupported) {
    write_home_credentials();
    fake_vars()["AWS_PROFILE"] = "sso";
    const AwsResolution r = resolve_aws(bedrock(), &fake_env);
    ASSERT_EQ(errors(r).size(), 1u);
    EXPECT_THAT(errors(r)[0], HasSubstr("profile \"sso\" (from AWS_PROFILE)"));
    EXPECT_THAT(errors(r)[0], HasSubstr("credential_process profiles are not supported"));
    EXPECT_EQ(r.problems[0].key, "");  // from the environment: the provider entry
}

TEST_F(AwsResolve, ProfileWithAnIdButNoSecretIsAnError) {
    write_home_credentials();
    fake_vars()["AWS_PROFILE"] = "half";
    const AwsResolution r = resolve_aws(bedrock(), &fake_env);
    ASSERT_EQ(errors(r).size(), 1u);
    EXPECT_THAT(errors(r)[0], HasSubstr("has aws_access_key_id but no aws_secret_access_key"));
}

TEST_F(AwsResolve, NoHomeAndNoFileVariableIsExplained) {
    fake_vars().erase("HOME");
    EXPECT_EQ(aws_credentials_file(&fake_env), "");
    const AwsResolution r = resolve_aws(bedrock(), &fake_env);
    ASSERT_EQ(errors(r).size(), 1u);
    EXPECT_THAT(errors(r)[0], HasSubstr("neither AWS_SHARED_CREDENTIALS_FILE nor HOME is set"));
}

TEST_F(AwsResolve, AccessKeyWithoutSecretIsAnErrorAtTheKeyAndNothingElseIsTried) {
    write_home_credentials();
    ProviderConfig p = bedrock();
    p.aws_access_key_id = "AKIDCONF";
    const AwsResolution r = resolve_aws(p, &fake_env);
    EXPECT_FALSE(r.sigv4.has_value());
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].key, "aws_access_key_id");
    EXPECT_THAT(r.problems[0].message,
                HasSubstr("aws_access_key_id is set but aws_secret_access_key is not"));
}

TEST_F(AwsResolve, SecretWithoutAccessKeyAndLoneSessionTokenAreErrors) {
    ProviderConfig p = bedrock();
    p.aws_secret_access_key = "secret-conf";
    AwsResolution r = resolve_aws(p, &fake_env);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].key, "aws_secret_access_key");
    EXPECT_THAT(r.problems[0].message, Not(HasSubstr("secret-conf")));

    p = bedrock();
    p.aws_session_token = "token";
    r = resolve_aws(p, &fake_env);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].key, "aws_session_token");
}

TEST_F(AwsResolve, HalfTheEnvironmentKeysIsAnError) {
    write_home_credentials();
    fake_vars()["AWS_ACCESS_KEY_ID"] = "AKIDENV";
    const AwsResolution r = resolve_aws(bedrock(), &fake_env);
    EXPECT_FALSE(r.sigv4.has_value());
    ASSERT_EQ(errors(r).size(), 1u);
    EXPECT_THAT(errors(r)[0], HasSubstr("AWS_ACCESS_KEY_ID is set in the environment but "
                                        "AWS_SECRET_ACCESS_KEY is not"));
}

TEST_F(AwsResolve, RegionComesFromConfigThenAwsRegionThenAwsDefaultRegion) {
    ProviderConfig p = bedrock();
    p.aws_bearer_token = "t";
    p.aws_region = "eu-west-1";
    fake_vars()["AWS_DEFAULT_REGION"] = "ap-south-1";
    AwsResolution r = resolve_aws(p, &fake_env);
    EXPECT_EQ(r.region, "eu-west-1");
    EXPECT_EQ(r.region_source, "config");

    p.aws_region.clear();
    r = resolve_aws(p, &fake_env);
    EXPECT_EQ(r.region, "us-east-1");
    EXPECT_EQ(r.region_source, "AWS_REGION");

    fake_vars().erase("AWS_REGION");
    r = resolve_aws(p, &fake_env);
    EXPECT_EQ(r.region, "ap-south-1");
    EXPECT_EQ(r.region_source, "AWS_DEFAULT_REGION");
    EXPECT_THAT(r.problems, IsEmpty());

    fake_vars().erase("AWS_DEFAULT_REGION");
    r = resolve_aws(p, &fake_env);
    EXPECT_EQ(r.region, "");
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].key, "aws_region");
    EXPECT_THAT(r.problems[0].message, HasSubstr("no AWS region"));
}

TEST_F(AwsResolve, EmptyEnvironmentVariablesCountAsUnset) {
    fake_vars()["AWS_BEARER_TOKEN_BEDROCK"] = "";
    fake_vars()["AWS_REGION"] = "";
    fake_vars()["AWS_DEFAULT_REGION"] = "us-west-2";
    write_home_credentials();
    const AwsResolution r = resolve_aws(bedrock(), &fake_env);
    EXPECT_FALSE(r.uses_bearer());
    EXPECT_TRUE(r.sigv4.has_value());
    EXPECT_EQ(r.region, "us-west-2");
}

}  // namespace
}  // namespace ccr::shared::cloud
