#include "worker/providers/aws/errors.h"

#include <gtest/gtest.h>

namespace ccr::worker::aws {
namespace {

struct Case {
    unsigned bedrock_status;
    std::string_view error_type;
    unsigned status;
    std::string_view type;
};

TEST(BedrockError, EachExceptionMapsToItsAnthropicStatusAndType) {
    const Case cases[] = {
        {400, "ValidationException", 400, "invalid_request_error"},
        {403, "AccessDeniedException", 403, "permission_error"},
        {403, "UnrecognizedClientException", 403, "permission_error"},
        {403, "InvalidSignatureException", 403, "permission_error"},
        {403, "ExpiredTokenException", 403, "permission_error"},
        {404, "ResourceNotFoundException", 404, "not_found_error"},
        {408, "ModelTimeoutException", 504, "timeout_error"},
        {424, "ModelErrorException", 500, "api_error"},
        {424, "ModelStreamErrorException", 500, "api_error"},
        {429, "ThrottlingException", 429, "rate_limit_error"},
        {429, "ModelNotReadyException", 429, "rate_limit_error"},
        {400, "ServiceQuotaExceededException", 429, "rate_limit_error"},
        {500, "InternalServerException", 500, "api_error"},
        {503, "ServiceUnavailableException", 529, "overloaded_error"},
    };
    for (const auto& c : cases) {
        MappedError e = map_bedrock_error(c.bedrock_status, c.error_type, R"({"message":"m"})");
        EXPECT_EQ(e.status, c.status) << c.error_type;
        EXPECT_EQ(e.type, c.type) << c.error_type;
        EXPECT_EQ(e.message, "m") << c.error_type;
    }
}

TEST(BedrockError, A401FromBedrockIsAnAuthenticationError) {
    MappedError e = map_bedrock_error(
        401, "UnrecognizedClientException",
        R"({"message":"The security token included in the request is invalid."})");
    EXPECT_EQ(e.status, 401u);
    EXPECT_EQ(e.type, "authentication_error");
    EXPECT_EQ(e.message, "The security token included in the request is invalid.");
}

TEST(BedrockError, TheErrorTypeSuffixIsStripped) {
    MappedError e = map_bedrock_error(
        400, "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/",
        R"({"message":"The provided model identifier is invalid."})");
    EXPECT_EQ(e.status, 400u);
    EXPECT_EQ(e.type, "invalid_request_error");
    EXPECT_EQ(e.message, "The provided model identifier is invalid.");

    e = map_bedrock_error(503, "ServiceUnavailableException:http://x/", "");
    EXPECT_EQ(e.status, 529u);
    EXPECT_EQ(e.type, "overloaded_error");
}

TEST(BedrockError, TheMessageIsKeptVerbatimWhateverItsCase) {
    MappedError e = map_bedrock_error(
        400, "ValidationException",
        R"({"Message":"prompt is too long: 219898 tokens > 200000 maximum \"x\"\n\u00e9"})");
    EXPECT_EQ(e.message, "prompt is too long: 219898 tokens > 200000 maximum \"x\"\n\xc3\xa9");
    e = map_bedrock_error(403, "AccessDeniedException", R"({"other":1,"message":"denied"})");
    EXPECT_EQ(e.message, "denied");
}

TEST(BedrockError, WithoutAMessageTheTypeNameIsTheMessage) {
    EXPECT_EQ(map_bedrock_error(429, "ThrottlingException:http://x", "").message,
              "ThrottlingException");
    EXPECT_EQ(map_bedrock_error(429, "ThrottlingException", "<html>busy</html>").message,
              "ThrottlingException");
    EXPECT_EQ(map_bedrock_error(429, "ThrottlingException", R"({"message":5})").message,
              "ThrottlingException");
    EXPECT_EQ(map_bedrock_error(502, "", "").message, "Bedrock returned HTTP 502");
}

TEST(BedrockError, WithoutTheHeaderTheBodyTypeNamesTheError) {
    MappedError e = map_bedrock_error(
        400, "", R"({"__type":"com.amazon.coral.service#ThrottlingException","message":"slow"})");
    EXPECT_EQ(e.status, 429u);
    EXPECT_EQ(e.type, "rate_limit_error");
    EXPECT_EQ(e.message, "slow");
}

TEST(BedrockError, UnknownErrorsMapByStatus) {
    const Case cases[] = {
        {400, "SomethingNewException", 400, "invalid_request_error"},
        {409, "ConflictException", 409, "invalid_request_error"},
        {403, "", 403, "permission_error"},
        {404, "", 404, "not_found_error"},
        {413, "", 413, "request_too_large"},
        {429, "", 429, "rate_limit_error"},
        {500, "", 500, "api_error"},
        {502, "", 502, "api_error"},
        {504, "", 504, "timeout_error"},
        {200, "", 502, "api_error"},
    };
    for (const auto& c : cases) {
        MappedError e = map_bedrock_error(c.bedrock_status, c.error_type, "");
        EXPECT_EQ(e.status, c.status) << c.bedrock_status << " " << c.error_type;
        EXPECT_EQ(e.type, c.type) << c.bedrock_status << " " << c.error_type;
    }
}

}  // namespace
}  // namespace ccr::worker::aws
