#include "worker/filters/request_id.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace ccr::worker::filters {
namespace {

TEST(RequestId, IsARandomUuidVersion4) {
    const std::regex uuid4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        std::string id = new_request_id();
        ASSERT_TRUE(std::regex_match(id, uuid4)) << id;
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 1000u);
}

TEST(RequestId, AClientIdIsAdoptedOnlyWhenItIsASafeBoundedToken) {
    EXPECT_TRUE(acceptable_request_id("req_01:abc-DEF.9"));
    EXPECT_TRUE(acceptable_request_id(std::string(128, 'a')));
    EXPECT_FALSE(acceptable_request_id(std::string(129, 'a')));
    EXPECT_FALSE(acceptable_request_id(""));
    EXPECT_FALSE(acceptable_request_id("a b\"c"));  // would spoof fields in the text log
    EXPECT_FALSE(acceptable_request_id("a\tb"));
    EXPECT_FALSE(acceptable_request_id("a=b"));
    EXPECT_FALSE(acceptable_request_id("\xc3\xa9"));
}

TEST(RequestId, TheClientsIdIsKeptOnlyWhenAcceptable) {
    EXPECT_EQ(request_id_for("abc-1"), "abc-1");
    EXPECT_NE(request_id_for("a b"), "a b");
    EXPECT_EQ(request_id_for("").size(), 36u);
}

}  // namespace
}  // namespace ccr::worker::filters
