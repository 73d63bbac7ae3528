#include "worker/session.h"

#include <gtest/gtest.h>


namespace ccr::worker {
namespace {

TEST(RedactBody, MasksSecretValuesAndTruncates) {
    std::string body = R"({"model":"m","api_key":"sk-secret","nested":{"token" : "t0k"},"text":"keep"})";
    std::string out = redact_body(body, 1000);
    EXPECT_EQ(out.find("sk-secret"), std::string::npos);
    EXPECT_EQ(out.find("t0k"), std::string::npos);
    EXPECT_NE(out.find("\"keep\""), std::string::npos);
    EXPECT_NE(redact_body(body, 10).find("(truncated)"), std::string::npos);
}

}  // namespace
}  // namespace ccr::worker
