#include "worker/body.h"

#include <gtest/gtest.h>

#include "shared/config/config.h"

namespace ccr::worker {
namespace {

BodyInfo inspect(JsonParser& p, const std::string& s) { return inspect_body(p, s); }

TEST(Body, FindsModelAndStreamWithoutTouchingTheRest) {
    auto p = make_json_parser();
    std::string body = R"({"max_tokens":5, "model" :  "claude-x" , "stream":true,"messages":[{"model":"inner"}]})";
    BodyInfo info = inspect(*p, body);
    ASSERT_TRUE(info.valid) << info.error;
    EXPECT_EQ(info.model, "claude-x");
    EXPECT_TRUE(info.stream);
    EXPECT_EQ(body.substr(info.model_offset, info.model_length), "\"claude-x\"");
}

TEST(Body, MalformedJsonIsReported) {
    auto p = make_json_parser();
    for (std::string bad : {std::string("{\"model\":"), std::string("not json"),
                            std::string("{\"model\":\"x\",}"), std::string("[1,2]"),
                            std::string("{\"model\":\"x\"} trailing")}) {
        BodyInfo info = inspect(*p, bad);
        EXPECT_FALSE(info.valid) << bad;
        EXPECT_FALSE(info.error.empty()) << bad;
    }
}

TEST(Body, MissingOrNonStringModelIsAnError) {
    auto p = make_json_parser();
    EXPECT_EQ(inspect(*p, R"({"messages":[]})").error, "model: field required");
    EXPECT_EQ(inspect(*p, R"({"model":5})").error, "model: must be a string");
}

TEST(Body, ASecondModelIsAnErrorSinceTheUpstreamMayReadThatOne) {
    auto p = make_json_parser();
    EXPECT_EQ(inspect(*p, R"({"model":"claude-haiku-4-5","max_tokens":5,"model":"claude-opus-4-1"})").error,
              "model: given more than once");
    EXPECT_EQ(inspect(*p, R"({"model":"a","messages":[],"mod\u0065l":[]})").error, "model: given more than once");
}

TEST(Body, EscapedModelIsUnescaped) {
    auto p = make_json_parser();
    std::string body = R"({"model":"claude\u002dx"})";
    BodyInfo info = inspect(*p, body);
    ASSERT_TRUE(info.valid);
    EXPECT_EQ(info.model, "claude-x");
    EXPECT_EQ(info.model_length, std::string(R"("claude\u002dx")").size());
    // Valid JSON, but no string a router could match: refused rather than read as "".
    EXPECT_EQ(inspect(*p, R"({"model":"claude\ud800"})").error,
              "model: must be a string of Unicode characters (a lone surrogate escape)");
    // An escaped name is the name it spells.
    body = R"({"\u006dodel":"m","str\u0065am":true})";  // info.model points into it
    info = inspect(*p, body);
    ASSERT_TRUE(info.valid) << info.error;
    EXPECT_EQ(info.model, "m");
    EXPECT_TRUE(info.stream);
}

// An unescaped model name lives in the BodyInfo: it must outlive copies and moves of it, and the
// original (a short name would move with a string's own buffer and leave `model` dangling).
TEST(Body, AnEscapedModelSurvivesCopiesAndMovesOfItsBodyInfo) {
    auto p = make_json_parser();
    const std::string body = R"({"model":"claude\u002dx"})";
    BodyInfo moved, copied;
    {
        BodyInfo original = inspect(*p, body);
        ASSERT_TRUE(original.valid);
        copied = original;
        moved = std::move(original);
    }
    EXPECT_EQ(moved.model, "claude-x");
    EXPECT_EQ(copied.model, "claude-x");
    BodyInfo constructed(std::move(moved));
    EXPECT_EQ(constructed.model, "claude-x");
}

TEST(Body, ReadsStreamAndMaxTokensOnlyFromTheirJsonTypes) {
    auto p = make_json_parser();
    BodyInfo info = inspect(*p, R"({"model":"m","stream":false,"max_tokens":8192})");
    ASSERT_TRUE(info.valid) << info.error;
    EXPECT_FALSE(info.stream);
    EXPECT_EQ(info.max_tokens, 8192u);
    info = inspect(*p, R"({"model":"m","stream":"true","max_tokens":1.5})");
    ASSERT_TRUE(info.valid) << info.error;
    EXPECT_FALSE(info.stream);
    EXPECT_EQ(info.max_tokens, 0u);
    info = inspect(*p, R"({"model":"m","max_tokens":-3,"stream" : true })");
    ASSERT_TRUE(info.valid) << info.error;
    EXPECT_TRUE(info.stream);
    EXPECT_EQ(info.max_tokens, 0u);
    // Nested members of the same names are not the top level's.
    const std::string nested = R"({"metadata":{"model":"x","stream":true},"model":"m","tools":[{"max_tokens":3}]})";
    info = inspect(*p, nested);  // info.model points into it
    ASSERT_TRUE(info.valid) << info.error;
    EXPECT_EQ(info.model, "m");
    EXPECT_FALSE(info.stream);
    EXPECT_EQ(info.max_tokens, 0u);
}

TEST(Body, InvalidUtf8AndNonObjectsAreRefused) {
    auto p = make_json_parser();
    EXPECT_EQ(inspect(*p, "{\"model\":\"m\xff\"}").error, "malformed JSON: The input is not valid UTF-8");
    // After a long ASCII start (the UTF-8 check begins at the first byte >= 0x80), and valid
    // UTF-8 before the bad byte.
    const std::string pad = "\"p\":\"" + std::string(5000, 'a') + "\",";
    EXPECT_EQ(inspect(*p, "{" + pad + "\"model\":\"m\",\"t\":\"\xc3\xa9\xff\"}").error,
              "malformed JSON: The input is not valid UTF-8");
    EXPECT_EQ(inspect(*p, "{" + pad + "\"model\":\"m\",\"t\":\"\xe2\x82\"}").error,
              "malformed JSON: The input is not valid UTF-8");  // a sequence cut short
    EXPECT_EQ(inspect(*p, "{" + pad + "\"model\":\"m\",\"t\":\"\xc3\xa9\"}").error, "");
    EXPECT_EQ(inspect(*p, R"(["model","m"])").error, "request body must be a JSON object");
    EXPECT_EQ(inspect(*p, "  \n").error.rfind("malformed JSON: ", 0), 0u);
    EXPECT_EQ(inspect(*p, R"({"model":"m"} x)").error, "malformed JSON at byte 14: trailing content after the JSON value");
}

// Applies edit_members to `body` and returns the edited text.
std::string edited(JsonParser& p, const std::string& body, std::initializer_list<std::string_view> remove,
                   std::string add) {
    BodyLayout layout = layout_body(p, body, body.capacity());
    BodySplice splice(body);
    EXPECT_TRUE(edit_members(layout, remove, std::move(add), splice));
    return splice.str();
}

TEST(BodyLayout, FindsEveryTopLevelMember) {
    auto p = make_json_parser();
    std::string body = R"( { "model" : "m" ,"messages":[{"a":"}],\""}], "stream":true } )";
    BodyLayout l = layout_body(*p, body, body.capacity());
    ASSERT_EQ(l.members.size(), 3u);
    EXPECT_EQ(l.members[0].key, "model");
    EXPECT_EQ(body.substr(l.members[0].start, l.members[0].end - l.members[0].start), R"("model" : "m")");
    EXPECT_EQ(body.substr(l.members[1].start, l.members[1].end - l.members[1].start),
              R"("messages":[{"a":"}],\""}])");
    EXPECT_EQ(body.substr(l.members[2].start, l.members[2].end - l.members[2].start), R"("stream":true)");
    EXPECT_TRUE(l.has("stream"));
    EXPECT_FALSE(l.has("system"));
}

TEST(BodyLayout, RemovesMembersAnywhereAndAddsNewOnesAsValidJson) {
    auto p = make_json_parser();
    const std::string add = R"("anthropic_version":"v")";
    EXPECT_EQ(edited(*p, R"({"model":"m","stream":true,"max_tokens":5})", {"model", "stream"}, add),
              R"({"anthropic_version":"v","max_tokens":5})");
    EXPECT_EQ(edited(*p, R"({"max_tokens":5,"model":"m","stream":true})", {"model", "stream"}, add),
              R"({"anthropic_version":"v","max_tokens":5})");
    EXPECT_EQ(edited(*p, R"({"a":1, "model":"m", "b":2, "stream":false, "c":3})", {"model", "stream"}, add),
              R"({"anthropic_version":"v","a":1, "b":2, "c":3})");
    EXPECT_EQ(edited(*p, R"({"model":"m","stream":true})", {"model", "stream"}, add), R"({"anthropic_version":"v"})");
    EXPECT_EQ(edited(*p, R"({"model":"m"})", {"model"}, ""), R"({})");
    EXPECT_EQ(edited(*p, R"({"model":"m","a":1})", {}, add), R"({"anthropic_version":"v","model":"m","a":1})");
}

TEST(BodyLayout, FindsTheBillingBlockWhereverItIs) {
    auto p = make_json_parser();
    const std::string billing = R"({"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.37; cch=fa690;"})";
    const std::string other = R"({"type":"text","text":"You are Claude Code"})";
    for (const auto& [system, expected] : std::vector<std::pair<std::string, std::string>>{
             {"[" + billing + ", " + other + "]", "[" + other + "]"},
             {"[" + other + "," + billing + "]", "[" + other + "]"},
             {"[" + billing + "]", "[]"},
             {"[" + other + "]", "[" + other + "]"},
         }) {
        const std::string body = R"({"model":"m","system":)" + system + R"(,"messages":[]})";
        BodyLayout l = layout_body(*p, body, body.capacity());
        BodySplice splice(body);
        if (l.billing_block.length > 0) splice.replace(l.billing_block.offset, l.billing_block.length, {});
        EXPECT_EQ(splice.str(), R"({"model":"m","system":)" + expected + R"(,"messages":[]})") << system;
    }
    // A system prompt given as a string has no blocks.
    std::string body = R"({"model":"m","system":"x-anthropic-billing-header: a"})";
    EXPECT_EQ(layout_body(*p, body, body.capacity()).billing_block.length, 0u);
}

TEST(Body, TokenEstimateCountsTextAndIsNeverZero) {
    auto p = make_json_parser();
    std::string body = R"({"model":"m","messages":[{"role":"user","content":"0123456789012345678901234567890123456789"}]})";
    EXPECT_GE(estimate_input_tokens(*p, body, body.capacity()), 10u);
    std::string empty = R"({"model":"m"})";
    EXPECT_EQ(estimate_input_tokens(*p, empty, empty.capacity()), 1u);
}

}  // namespace
}  // namespace ccr::worker
