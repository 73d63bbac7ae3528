// An upstream's error answer that quotes the request's credentials is masked, byte for byte.

#include "worker/upstream/echo_guard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ccr::worker::upstream {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(EchoGuard, CredentialsAreTheKeyHeadersAndTheBearerToken) {
    const std::string head =
        "POST /v1/messages HTTP/1.1\r\nHost: api.example\r\nx-api-key: sk-provider-key-1234\r\n"
        "Api-Key: azure-key-5678\r\nAuthorization: Bearer oauth-token-abcdef\r\n"
        "anthropic-version: 2023-06-01\r\nContent-Length: 2\r\n\r\n";
    EXPECT_THAT(credentials_in_head(head),
                ElementsAre("sk-provider-key-1234", "azure-key-5678", "oauth-token-abcdef",
                            "Bearer oauth-token-abcdef"));
}

TEST(EchoGuard, SigV4YieldsTheAccessKeyIdAndTheWholeValue) {
    const std::string head =
        "POST /model/m/invoke HTTP/1.1\r\nAuthorization: AWS4-HMAC-SHA256 "
        "Credential=AKIAEXAMPLE123/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host, "
        "Signature=abc\r\nX-Amz-Security-Token: session-token-xyz\r\n\r\n";
    const auto got = credentials_in_head(head);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0], "AKIAEXAMPLE123");
    EXPECT_EQ(got[2], "session-token-xyz");
}

TEST(EchoGuard, ShortValuesAndOtherHeadersAreNotCredentials) {
    EXPECT_THAT(credentials_in_head(
                    "GET / HTTP/1.1\r\nx-api-key: short\r\nx-other: sk-looks-like-a-key\r\n\r\n"),
                IsEmpty());
}

TEST(EchoGuard, EveryOccurrenceIsMaskedKeepingTheLength) {
    std::string body = "invalid x-api-key sk-provider-key-1234 (sk-provider-key-1234)";
    const std::size_t size = body.size();
    EXPECT_TRUE(mask_secrets(body, {"sk-provider-key-1234"}));
    EXPECT_EQ(body, "invalid x-api-key ******************** (********************)");
    EXPECT_EQ(body.size(), size);
    EXPECT_FALSE(mask_secrets(body, {"sk-provider-key-1234"}));
    EXPECT_EQ(masked("x sk-provider-key-1234", {"sk-provider-key-1234"}), "x ********************");
}

}  // namespace
}  // namespace ccr::worker::upstream
