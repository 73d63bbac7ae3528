#include "shared/util/json.h"

#include <gtest/gtest.h>

namespace ccr::shared {
namespace {

std::string quoted(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

TEST(AppendJsonString, EscapesQuotesBackslashesAndControlCharacters) {
    EXPECT_EQ(quoted("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
}

TEST(AppendJsonString, KeepsWellFormedUtf8) {
    EXPECT_EQ(quoted("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\"");
}

TEST(AppendJsonString, ReplacesBytesThatAreNotUtf8SoTheJsonStaysValid) {
    // A stray byte, a cut sequence, an overlong '/', a surrogate: each becomes U+FFFD.
    EXPECT_EQ(quoted("mo\x99" "el"), "\"mo\xef\xbf\xbd" "el\"");
    EXPECT_EQ(quoted("x\xe4\xb8"), "\"x\xef\xbf\xbd\xef\xbf\xbd\"");
    EXPECT_EQ(quoted("\xc0\xaf"), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
    EXPECT_EQ(quoted("\xed\xa0\x80"), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
}

}  // namespace
}  // namespace ccr::shared
