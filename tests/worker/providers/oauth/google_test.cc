#include "worker/providers/oauth/google.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "shared/util/json.h"
#include "tests/worker/providers/oauth/test_keys.h"

namespace ccr::worker::oauth {
namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string>& fake_env() {
    static std::map<std::string, std::string> env;
    return env;
}
std::optional<std::string> lookup(const std::string& name) {
    auto it = fake_env().find(name);
    if (it == fake_env().end()) return std::nullopt;
    return it->second;
}

std::string service_account_json(const std::string& pem) {
    std::string json =
        R"({"type":"service_account","project_id":"proj-1","private_key_id":"kid-7","private_key":)";
    shared::append_json_string(json, pem);  // as in Google's files: "\n" escapes in the string
    json +=
        R"(,"client_email":"relay@proj-1.iam.gserviceaccount.com","client_id":"123",)"
        R"("token_uri":"https://oauth2.googleapis.com/token","universe_domain":"googleapis.com"})";
    return json;
}

const std::string kAuthorizedUser =
    R"({"type":"authorized_user","client_id":"cid.apps.googleusercontent.com",)"
    R"("client_secret":"s3c r/t+=&","refresh_token":"1//rt","quota_project_id":"billing-proj"})";

class GoogleCredentialsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        fake_env().clear();
        dir_ = fs::temp_directory_path() /
               ("ccr-google-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
        fake_env().clear();
    }
    std::string write(const std::string& name, const std::string& text) {
        const fs::path p = dir_ / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
        return p.string();
    }
    fs::path dir_;
};

TEST_F(GoogleCredentialsTest, ServiceAccountFileGivesASignedJwtBearerForm) {
    PrivateKey key = testing::generate_rsa_key();
    GoogleCredentials c = parse_google_credentials(
        service_account_json(testing::private_key_pem(key.get())), "sa.json");
    ASSERT_EQ(c.kind, GoogleCredentials::Kind::service_account);
    EXPECT_EQ(c.project_id, "proj-1");
    std::string error;
    std::optional<TokenRequest> req = google_token_request(c, 1'700'000'000, error);
    ASSERT_TRUE(req) << error;
    EXPECT_EQ(req->method, "POST");
    EXPECT_EQ(req->url, "https://oauth2.googleapis.com/token");
    const std::string prefix =
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
    ASSERT_EQ(req->form.substr(0, prefix.size()), prefix);
    const std::string jwt = req->form.substr(prefix.size());
    EXPECT_EQ(testing::jwt_part(jwt, 0), R"({"alg":"RS256","typ":"JWT","kid":"kid-7"})");
    EXPECT_EQ(testing::jwt_part(jwt, 1),
              R"({"iss":"relay@proj-1.iam.gserviceaccount.com",)"
              R"("scope":"https://www.googleapis.com/auth/cloud-platform",)"
              R"("aud":"https://oauth2.googleapis.com/token","iat":1700000000,"exp":1700003600})");
    EXPECT_TRUE(testing::verifies(jwt, key.get()));
}

TEST_F(GoogleCredentialsTest, AuthorizedUserFileGivesAnEncodedRefreshTokenForm) {
    GoogleCredentials c = parse_google_credentials(kAuthorizedUser, "adc.json");
    ASSERT_EQ(c.kind, GoogleCredentials::Kind::authorized_user);
    EXPECT_EQ(c.quota_project_id, "billing-proj");
    std::string error;
    std::optional<TokenRequest> req = google_token_request(c, 1, error);
    ASSERT_TRUE(req) << error;
    EXPECT_EQ(req->url, "https://oauth2.googleapis.com/token");
    EXPECT_EQ(req->form,
              "grant_type=refresh_token&client_id=cid.apps.googleusercontent.com"
              "&client_secret=s3c+r%2Ft%2B%3D%26&refresh_token=1%2F%2Frt");
}

TEST_F(GoogleCredentialsTest, AuthorizedUserUsesItsTokenUriWhenGiven) {
    std::string json = kAuthorizedUser;
    json.insert(1, R"("token_uri":"http://127.0.0.1:9/token",)");
    std::string error;
    EXPECT_EQ(google_token_request(parse_google_credentials(json, "adc.json"), 1, error)->url,
              "http://127.0.0.1:9/token");
}

TEST_F(GoogleCredentialsTest, AFileLackingFieldsNamesEveryOneAndNoSecret) {
    try {
        parse_google_credentials(R"({"type":"authorized_user","client_secret":"hunter2"})",
                                 "adc.json");
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(),
                     "adc.json: authorized_user credentials lack client_id, refresh_token");
    }
    EXPECT_THROW(parse_google_credentials(R"({"type":"external_account"})", "x.json"),
                 std::runtime_error);
    EXPECT_THROW(parse_google_credentials("not json", "x.json"), std::runtime_error);
    try {
        parse_google_credentials(
            R"({"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n"})",
            "sa.json");
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("sa.json: private_key: "), std::string::npos)
            << e.what();
        EXPECT_EQ(std::string(e.what()).find("c2VjcmV0"), std::string::npos);
    }
}

TEST_F(GoogleCredentialsTest, ConfiguredFileComesBeforeTheEnvironment) {
    shared::ProviderConfig cfg;
    cfg.gcp_credentials_file = write("config.json", kAuthorizedUser);
    fake_env()["GOOGLE_APPLICATION_CREDENTIALS"] = write("env.json", "{}");
    EXPECT_EQ(load_google_credentials(cfg, &lookup).source, cfg.gcp_credentials_file);
}

TEST_F(GoogleCredentialsTest, EnvironmentFileComesBeforeGcloudAdc) {
    const std::string env_file = write("env.json", kAuthorizedUser);
    fake_env()["GOOGLE_APPLICATION_CREDENTIALS"] = env_file;
    fake_env()["HOME"] = dir_.string();
    write(".config/gcloud/application_default_credentials.json", "{}");
    EXPECT_EQ(load_google_credentials({}, &lookup).source, env_file);
}

TEST_F(GoogleCredentialsTest, GcloudAdcFileIsUsedWhenItExists) {
    fake_env()["HOME"] = dir_.string();
    const std::string adc =
        write(".config/gcloud/application_default_credentials.json", kAuthorizedUser);
    EXPECT_EQ(load_google_credentials({}, &lookup).source, adc);
    fake_env()["CLOUDSDK_CONFIG"] = (dir_ / "elsewhere").string();
    EXPECT_EQ(load_google_credentials({}, &lookup).kind, GoogleCredentials::Kind::metadata_server);
}

TEST_F(GoogleCredentialsTest, UnreadableConfiguredFileIsAnError) {
    shared::ProviderConfig cfg;
    cfg.gcp_credentials_file = (dir_ / "missing.json").string();
    EXPECT_THROW(load_google_credentials(cfg, &lookup), std::runtime_error);
}

TEST_F(GoogleCredentialsTest, WithoutAnyFileTheMetadataServerIsAskedWithItsHeader) {
    fake_env()["HOME"] = dir_.string();
    GoogleCredentials c = load_google_credentials({}, &lookup);
    ASSERT_EQ(c.kind, GoogleCredentials::Kind::metadata_server);
    std::string error;
    std::optional<TokenRequest> req = google_token_request(c, 1, error);
    ASSERT_TRUE(req);
    EXPECT_EQ(req->method, "GET");
    EXPECT_EQ(req->url,
              "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/"
              "default/token");
    ASSERT_EQ(req->headers.size(), 1u);
    EXPECT_EQ(req->headers[0], (std::pair<std::string, std::string>{"Metadata-Flavor", "Google"}));
    EXPECT_TRUE(req->form.empty());

    fake_env()["GCE_METADATA_HOST"] = "127.0.0.1:8089";
    EXPECT_EQ(google_token_request(load_google_credentials({}, &lookup), 1, error)->url,
              "http://127.0.0.1:8089/computeMetadata/v1/instance/service-accounts/default/token");
}

struct ErrorCase {
    const char* body;
    unsigned status;
    const char* type;
    const char* message;
};

TEST(GoogleErrors, ConvertToAnthropicErrorsByStatusThenCode) {
    const ErrorCase cases[] = {
        {R"([{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}])",
         429, "rate_limit_error", "Quota exceeded"},
        {R"({"error":{"code":400,"message":"Project is not allowed","status":"FAILED_PRECONDITION"}})",
         400, "invalid_request_error", "Project is not allowed"},
        {R"({"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}})", 400,
         "invalid_request_error", "bad"},
        {R"({"error":{"code":401,"message":"m","status":"UNAUTHENTICATED"}})", 401,
         "authentication_error", "m"},
        {R"({"error":{"code":403,"message":"m","status":"PERMISSION_DENIED"}})", 403,
         "permission_error", "m"},
        {R"({"error":{"code":404,"message":"m","status":"NOT_FOUND"}})", 404, "not_found_error",
         "m"},
        {R"({"error":{"code":503,"message":"m","status":"UNAVAILABLE"}})", 529, "overloaded_error",
         "m"},
        {R"({"error":{"code":504,"message":"m","status":"DEADLINE_EXCEEDED"}})", 504, "api_error",
         "m"},
        {R"({"error":{"code":500,"message":"m","status":"INTERNAL"}})", 500, "api_error", "m"},
        {R"({"error":{"code":409,"message":"m","status":"ABORTED"}})", 409, "invalid_request_error",
         "m"},
        {R"({"error":{"code":429,"message":"m"}})", 429, "rate_limit_error", "m"},
        {R"({"error":{"message":"m"}})", 500, "api_error", "m"},
    };
    for (const auto& c : cases) {
        std::optional<AnthropicError> e = convert_google_error(c.body);
        ASSERT_TRUE(e) << c.body;
        EXPECT_EQ(e->status, c.status) << c.body;
        EXPECT_EQ(e->type, c.type) << c.body;
        EXPECT_EQ(e->message, c.message) << c.body;
    }
}

TEST(GoogleErrors, AnAnthropicErrorInsideTheMessageIsTheOneUsed) {
    std::string inner =
        R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})";
    std::string body = R"({"error":{"code":400,"message":)";
    shared::append_json_string(body, "model error: " + inner);
    body += R"(,"status":"INVALID_ARGUMENT"}})";
    std::optional<AnthropicError> e = convert_google_error(body);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->status, 529u);
    EXPECT_EQ(e->type, "overloaded_error");
    EXPECT_EQ(e->message, "Overloaded");
}

TEST(GoogleErrors, AnthropicShapedOrUnparseableBodiesAreLeftAlone) {
    EXPECT_FALSE(convert_google_error(
        R"({"type":"error","error":{"type":"rate_limit_error","message":"m"}})"));
    EXPECT_FALSE(convert_google_error("upstream connect error"));
    EXPECT_FALSE(convert_google_error(R"({"id":"msg_1"})"));
    EXPECT_FALSE(convert_google_error("[]"));
    EXPECT_FALSE(convert_google_error(""));
}

TEST(GoogleErrors, TheAnthropicBodyIsWrittenWithEscapes) {
    EXPECT_EQ(
        anthropic_error_body({429, "rate_limit_error", "say \"slow\""}, "req_1"),
        R"({"type":"error","error":{"type":"rate_limit_error","message":"say \"slow\""},"request_id":"req_1"})");
}

}  // namespace
}  // namespace ccr::worker::oauth
