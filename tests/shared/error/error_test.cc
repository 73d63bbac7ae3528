#include "shared/error/error.h"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace ccr::shared {
namespace {

TEST(ErrorBody, HasAnthropicShapeWithRequestId) {
    std::string body = error_body(Errc::unauthorized, "invalid x-api-key", "req-1");
    EXPECT_EQ(body,
              R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req-1"})");
}

TEST(ErrorBody, EscapesMessagesAndUsesTheDefaultWhenEmpty) {
    std::string body = error_body(Errc::invalid_request, "bad \"quote\"\n", "");
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    ASSERT_EQ(p.parse(body).get(doc), simdjson::SUCCESS) << body;
    EXPECT_EQ(std::string_view(doc["error"]["message"]), "bad \"quote\"\n");
    EXPECT_TRUE(doc["request_id"].is_null());
    EXPECT_NE(error_body(Errc::not_found, "", "r").find("\"message\":\"not found\""), std::string::npos);
}

TEST(ErrorTable, MapsEachCodeToItsStatusAndType) {
    EXPECT_EQ(error_info(Errc::invalid_request).status, 400);
    EXPECT_EQ(error_info(Errc::unauthorized).status, 401);
    EXPECT_EQ(error_info(Errc::header_too_large).status, 431);
    EXPECT_EQ(error_info(Errc::header_too_large).type, "invalid_request_error");
    EXPECT_EQ(error_info(Errc::overloaded).status, 529);
    EXPECT_EQ(error_info(Errc::not_found).type, "not_found_error");
    EXPECT_EQ(error_info(Errc::request_too_large).status, 413);
    EXPECT_EQ(error_info(Errc::request_too_large).type, "request_too_large");
    EXPECT_EQ(error_info(Errc::rate_limited).type, "rate_limit_error");
    EXPECT_EQ(error_info(Errc::upstream_failed).status, 502);
    EXPECT_EQ(error_info(Errc::upstream_timeout).type, "timeout_error");
    EXPECT_EQ(error_info(Errc::overloaded).status, 529);
    EXPECT_EQ(error_info(Errc::overloaded).type, "overloaded_error");
}

}  // namespace
}  // namespace ccr::shared
