#include "worker/body.h"

#include <gtest/gtest.h>

#include "shared/config/config.h"
#include "worker/providers/provider.h"

namespace ccr::worker {
namespace {

BodyInfo inspect(JsonParser& p, const std::string& s) { return inspect_body(p, s, s.capacity()); }

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

TEST(Body, EscapedModelIsUnescaped) {
    auto p = make_json_parser();
    std::string body = R"({"model":"claude\u002dx"})";
    BodyInfo info = inspect(*p, body);
    ASSERT_TRUE(info.valid);
    EXPECT_EQ(info.model, "claude-x");
    EXPECT_EQ(info.model_length, std::string(R"("claude\u002dx")").size());
}

TEST(Body, WorksWithoutSpareCapacity) {
    auto p = make_json_parser();
    std::string body = R"({"model":"m"})";
    BodyInfo info = inspect_body(*p, body, body.size());
    EXPECT_TRUE(info.valid);
    EXPECT_EQ(info.model, "m");
}

TEST(BodySplice, ModelMappingChangesOnlyTheModelBytes) {
    shared::ProviderConfig pc;
    pc.name = "z";
    pc.type = "zai";
    pc.enabled = true;
    pc.keys.push_back({});
    pc.model_mapping = {{"claude-sonnet-4-5", "glm-4.7 \"quoted\""}};
    auto prov = make_provider(pc);
    auto p = make_json_parser();
    std::string body =
        "{ \"messages\": [{\"role\":\"user\",\"content\":\"h\u00e9\"}],\n  \"model\":\"claude-sonnet-4-5\",\"x\":1.50 }";
    BodyInfo info = inspect(*p, body);
    ASSERT_TRUE(info.valid);
    BodySplice splice(body);
    prov->transform(info, splice);
    std::string expected = body;
    expected.replace(info.model_offset, info.model_length, "\"glm-4.7 \\\"quoted\\\"\"");
    EXPECT_EQ(splice.str(), expected);
    EXPECT_EQ(splice.size(), expected.size());
}

TEST(BodySplice, UnmappedModelLeavesTheBodyAlone) {
    shared::ProviderConfig pc;
    pc.name = "a";
    pc.type = "anthropic";
    pc.model_mapping = {{"other", "x"}};
    auto prov = make_provider(pc);
    auto p = make_json_parser();
    std::string body = R"({"model":"claude"})";
    BodyInfo info = inspect(*p, body);
    BodySplice splice(body);
    prov->transform(info, splice);
    EXPECT_TRUE(splice.empty());
    EXPECT_EQ(splice.str(), body);
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
