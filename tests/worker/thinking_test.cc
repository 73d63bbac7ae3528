// Thinking blocks leave a conversation by splicing: exact bytes for each shape, nothing else
// touched, the result still JSON, and the 400 bodies that call for it recognised.

#include "worker/thinking.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace ccr::worker {
namespace {

const std::string kThinking = R"({"type":"thinking","thinking":"hmm","signature":"EqQBCg=="})";
const std::string kRedacted = R"({"type":"redacted_thinking","data":"opaque"})";

ThinkingInfo scan(const std::string& body) {
    auto parser = make_json_parser();
    return scan_thinking(*parser, body, body.capacity());
}

// The body after strip_thinking, or "<refused>".
std::string stripped(const std::string& body) {
    const ThinkingInfo info = scan(body);
    BodySplice splice(body);
    if (!strip_thinking(info, splice)) return "<refused>";
    return splice.str();
}

// Whether the kept bytes of `out` are `in` in order, with only removals (and `inserted` text).
bool only_removes(const std::string& in, const std::string& out) {
    std::size_t j = 0;
    for (std::size_t i = 0; i < in.size() && j < out.size(); ++i) {
        if (in[i] == out[j]) ++j;
    }
    return j == out.size();
}

// `body` with the whitespace outside strings removed, to compare JSON texts.
std::string minified(const std::string& body) {
    std::string out;
    bool in_string = false;
    for (std::size_t i = 0; i < body.size(); ++i) {
        const char c = body[i];
        if (in_string) {
            out += c;
            if (c == '\\' && i + 1 < body.size()) {
                out += body[++i];
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
            out += c;
        } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
            out += c;
        }
    }
    return out;
}

std::string conversation(const std::string& assistant_content) {
    return R"({"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"},)"
           R"({"role":"assistant","content":[)" +
           assistant_content + R"(]},{"role":"user","content":"more"}]})";
}

TEST(Thinking, BlockFirstInContentGoesWithTheCommaAfterIt) {
    EXPECT_EQ(stripped(conversation(kThinking + R"(,{"type":"text","text":"a"})")),
              conversation(R"({"type":"text","text":"a"})"));
}

TEST(Thinking, BlockInTheMiddleGoesWithTheCommaBeforeIt) {
    EXPECT_EQ(
        stripped(conversation(R"({"type":"text","text":"a"},)" + kThinking +
                              R"(,{"type":"tool_use","id":"t","name":"n","input":{}})")),
        conversation(
            R"({"type":"text","text":"a"},{"type":"tool_use","id":"t","name":"n","input":{}})"));
}

TEST(Thinking, BlockLastInContentGoesWithTheCommaBeforeIt) {
    EXPECT_EQ(stripped(conversation(R"({"type":"text","text":"a"},)" + kRedacted)),
              conversation(R"({"type":"text","text":"a"})"));
}

TEST(Thinking, LeadingRunAndScatteredBlocksAllGo) {
    EXPECT_EQ(
        stripped(conversation(kThinking + "," + kRedacted + R"(,{"type":"text","text":"a"},)" +
                              kThinking + R"(,{"type":"text","text":"b"},)" + kRedacted)),
        conversation(R"({"type":"text","text":"a"},{"type":"text","text":"b"})"));
}

TEST(Thinking, AssistantMessageOfOnlyThinkingIsRemovedWhole) {
    EXPECT_EQ(stripped(conversation(kThinking)),
              R"({"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"},)"
              R"({"role":"user","content":"more"}]})");
    EXPECT_EQ(stripped(conversation(kThinking + "," + kRedacted)),
              R"({"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"},)"
              R"({"role":"user","content":"more"}]})");
    // First and last messages too.
    EXPECT_EQ(stripped(R"({"messages":[{"role":"assistant","content":[)" + kThinking +
                       R"(]},{"role":"user","content":"x"}]})"),
              R"({"messages":[{"role":"user","content":"x"}]})");
    EXPECT_EQ(
        stripped(R"({"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[)" +
                 kThinking + R"(]}]})"),
        R"({"messages":[{"role":"user","content":"x"}]})");
}

TEST(Thinking, SeveralAssistantTurnsAreAllStripped) {
    const std::string body =
        R"({"model":"m","messages":[{"role":"user","content":"q"},)"
        R"({"role":"assistant","content":[)" +
        kThinking +
        R"(,{"type":"tool_use","id":"a","name":"n","input":{}}]},)"
        R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"ok"}]},)"
        R"({"role":"assistant","content":[)" +
        kRedacted + "," + kThinking + R"(,{"type":"text","text":"done"}]}]})";
    const ThinkingInfo info = scan(body);
    ASSERT_TRUE(info.valid);
    EXPECT_TRUE(info.has_thinking);
    EXPECT_EQ(info.block_count, 3u);
    EXPECT_EQ(info.removals.size(), 3u);
    EXPECT_TRUE(info.last_assistant_starts_with_thinking);
    EXPECT_EQ(
        stripped(body),
        R"({"model":"m","messages":[{"role":"user","content":"q"},)"
        R"({"role":"assistant","content":[{"type":"tool_use","id":"a","name":"n","input":{}}]},)"
        R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"ok"}]},)"
        R"({"role":"assistant","content":[{"type":"text","text":"done"}]}]})");
}

TEST(Thinking, PrettyPrintedBodyKeepsItsLayout) {
    const std::string body = R"({
  "model": "m",
  "messages": [
    { "role": "user", "content": "hi" },
    {
      "role" : "assistant",
      "content" : [
        {
          "type": "thinking",
          "thinking": "a, b ]",
          "signature": "s"
        } ,
        { "type": "text", "text": "hello" }	,
        { "type" : "redacted_thinking", "data": "x" }
      ]
    }
  ]
}
)";
    const std::string expected = R"({
  "model": "m",
  "messages": [
    { "role": "user", "content": "hi" },
    {
      "role" : "assistant",
      "content" : [
        { "type": "text", "text": "hello" }
      ]
    }
  ]
}
)";
    EXPECT_EQ(stripped(body), expected);
}

TEST(Thinking, ThinkingTextInStringsUserMessagesAndToolResultsIsNotMatched) {
    const std::string body =
        R"({"model":"m","system":"{\"type\":\"thinking\"}","messages":[)"
        R"({"role":"user","content":[{"type":"text","text":"{\"type\":\"thinking\",\"signature\":\"x\"}"},)"
        R"({"type":"tool_result","tool_use_id":"t","content":[{"type":"thinking","thinking":"n"}]}]},)"
        R"({"role":"user","content":[{"type":"thinking","thinking":"not an assistant's"}]},)"
        R"({"role":"assistant","content":[{"type":"text","text":"\"type\":\"thinking\""},)"
        R"({"kind":"thinking","type":"text","text":"thinking"},"thinking"]}],)"
        R"("metadata":{"type":"thinking"}})";
    const ThinkingInfo info = scan(body);
    ASSERT_TRUE(info.valid);
    EXPECT_FALSE(info.has_thinking);
    EXPECT_TRUE(info.removals.empty());
    EXPECT_EQ(stripped(body), body);
}

TEST(Thinking, EscapedTypeAndRoleAreReadUnescaped) {
    const std::string body =
        R"({"messages":[{"r\u006fle":"assist\u0061nt","content":[{"type":"thinkin\u0067","thinking":"t","signature":"s"},)"
        R"({"type":"text","text":"a"}]}]})";
    EXPECT_EQ(
        stripped(body),
        R"({"messages":[{"r\u006fle":"assist\u0061nt","content":[{"type":"text","text":"a"}]}]})");
}

TEST(Thinking, RoleAfterContentStillCounts) {
    EXPECT_EQ(stripped(R"({"messages":[{"content":[{"type":"text","text":"a"},)" + kThinking +
                       R"(],"role":"assistant"}]})"),
              R"({"messages":[{"content":[{"type":"text","text":"a"}],"role":"assistant"}]})");
}

TEST(Thinking, StringContentAndNoThinkingLeaveTheBodyAlone) {
    const std::string body =
        R"({"model":"m","thinking":{"type":"enabled","budget_tokens":2048},"messages":[)"
        R"({"role":"user","content":"q"},{"role":"assistant","content":"plain"}]})";
    const ThinkingInfo info = scan(body);
    ASSERT_TRUE(info.valid);
    EXPECT_FALSE(info.has_thinking);
    EXPECT_TRUE(info.thinking_enabled);
    EXPECT_FALSE(disables_thinking(info));
    BodySplice splice(body);
    EXPECT_TRUE(strip_thinking(info, splice));
    EXPECT_TRUE(splice.empty());
}

TEST(Thinking, ThinkingIsDisabledWhenTheLastAssistantTurnStartedWithABlock) {
    const std::string body =
        R"({"model":"m","thinking" : {"type":"enabled","budget_tokens":2048},"messages":[)"
        R"({"role":"user","content":"q"},{"role":"assistant","content":[)" +
        kThinking +
        R"(,{"type":"tool_use","id":"a","name":"n","input":{}}]},)"
        R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"ok"}]}]})";
    const ThinkingInfo info = scan(body);
    ASSERT_TRUE(info.valid);
    ASSERT_TRUE(info.thinking_value.has_value());
    EXPECT_EQ(body.substr(info.thinking_value->offset, info.thinking_value->length),
              R"({"type":"enabled","budget_tokens":2048})");
    EXPECT_TRUE(disables_thinking(info));
    EXPECT_EQ(
        stripped(body),
        R"({"model":"m","thinking" : {"type":"disabled"},"messages":[)"
        R"({"role":"user","content":"q"},{"role":"assistant","content":[)"
        R"({"type":"tool_use","id":"a","name":"n","input":{}}]},)"
        R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"ok"}]}]})");
}

TEST(Thinking, AdaptiveThinkingAfterTheMessagesIsDisabledToo) {
    const std::string body = R"({"messages":[{"role":"assistant","content":[)" + kRedacted +
                             R"(,{"type":"text","text":"a"}]}],"thinking":{"type":"adaptive"}})";
    EXPECT_EQ(stripped(body),
              R"({"messages":[{"role":"assistant","content":[{"type":"text","text":"a"}]}],)"
              R"("thinking":{"type":"disabled"}})");
}

TEST(Thinking, ThinkingStaysOnWhenTheLastAssistantTurnDidNotStartWithABlock) {
    const std::string body = R"({"thinking":{"type":"enabled","budget_tokens":1024},"messages":[)"
                             R"({"role":"assistant","content":[)" +
                             kThinking +
                             R"(,{"type":"text","text":"a"}]},)"
                             R"({"role":"user","content":"q"},)"
                             R"({"role":"assistant","content":[{"type":"text","text":"b"},)" +
                             kThinking + R"(]}]})";
    const ThinkingInfo info = scan(body);
    EXPECT_FALSE(info.last_assistant_starts_with_thinking);
    EXPECT_FALSE(disables_thinking(info));
    EXPECT_EQ(stripped(body), R"({"thinking":{"type":"enabled","budget_tokens":1024},"messages":[)"
                              R"({"role":"assistant","content":[{"type":"text","text":"a"}]},)"
                              R"({"role":"user","content":"q"},)"
                              R"({"role":"assistant","content":[{"type":"text","text":"b"}]}]})");
}

TEST(Thinking, DisabledThinkingIsLeftAsWritten) {
    const std::string body =
        R"({"thinking":{"type":"disabled"},"messages":[{"role":"assistant","content":[)" +
        kThinking + R"(,{"type":"text","text":"a"}]}]})";
    const ThinkingInfo info = scan(body);
    EXPECT_FALSE(info.thinking_enabled);
    EXPECT_FALSE(disables_thinking(info));
    EXPECT_EQ(
        stripped(body),
        R"({"thinking":{"type":"disabled"},"messages":[{"role":"assistant","content":[{"type":"text","text":"a"}]}]})");
}

TEST(Thinking, ModelReplacementBeforeOrAfterTheStripMergesInOrder) {
    const std::string body = R"({"thinking":{"type":"enabled","budget_tokens":1024},"messages":[)"
                             R"({"role":"assistant","content":[)" +
                             kThinking + R"(,{"type":"text","text":"a"}]}],"model":"claude-x"})";
    const std::string model = R"("claude-x")";
    const std::size_t model_at = body.find(model);
    const std::string expected =
        R"({"thinking":{"type":"disabled"},"messages":[)"
        R"({"role":"assistant","content":[{"type":"text","text":"a"}]}],"model":"glm-4.7"})";
    const ThinkingInfo info = scan(body);
    {
        BodySplice splice(body);
        ASSERT_TRUE(splice.replace(model_at, model.size(), R"("glm-4.7")"));
        ASSERT_TRUE(strip_thinking(info, splice));
        EXPECT_EQ(splice.str(), expected);
        EXPECT_EQ(splice.size(), expected.size());
    }
    {
        BodySplice splice(body);
        ASSERT_TRUE(strip_thinking(info, splice));
        ASSERT_TRUE(splice.replace(model_at, model.size(), R"("glm-4.7")"));
        EXPECT_EQ(splice.str(), expected);
    }
    // Model first in the body: its edit comes before every removal.
    const std::string first = R"({"model":"claude-x","messages":[{"role":"assistant","content":[)" +
                              kThinking + R"(,{"type":"text","text":"a"}]}]})";
    BodySplice splice(first);
    ASSERT_TRUE(strip_thinking(scan(first), splice));
    ASSERT_TRUE(splice.replace(first.find(model), model.size(), R"("glm")"));
    EXPECT_EQ(
        splice.str(),
        R"({"model":"glm","messages":[{"role":"assistant","content":[{"type":"text","text":"a"}]}]})");
}

TEST(Thinking, StripIsAllOrNothingWhenAnEditWouldOverlap) {
    const std::string body = conversation(kThinking + R"(,{"type":"text","text":"a"})");
    const ThinkingInfo info = scan(body);
    BodySplice splice(body);
    ASSERT_TRUE(splice.replace(body.find("hmm"), 3, "HMM"));  // inside the block
    EXPECT_FALSE(strip_thinking(info, splice));
    std::string expected = body;
    expected.replace(body.find("hmm"), 3, "HMM");
    EXPECT_EQ(splice.str(), expected);
}

TEST(Thinking, MalformedBodyIsNotValidAndNothingIsEdited) {
    for (const std::string& bad :
         {std::string(R"({"messages":[{"role":"assistant","content":[)") + kThinking,
          std::string("[1]"), std::string("{\"messages\":[]} x"), std::string("")}) {
        const ThinkingInfo info = scan(bad);
        EXPECT_FALSE(info.valid) << bad;
        BodySplice splice(bad);
        EXPECT_FALSE(strip_thinking(info, splice)) << bad;
        EXPECT_TRUE(splice.empty());
    }
}

TEST(Thinking, WorksWithoutSpareCapacity) {
    const std::string body = conversation(kThinking + R"(,{"type":"text","text":"a"})");
    auto parser = make_json_parser();
    const ThinkingInfo info = scan_thinking(*parser, body, body.size());
    BodySplice splice(body);
    ASSERT_TRUE(strip_thinking(info, splice));
    EXPECT_EQ(splice.str(), conversation(R"({"type":"text","text":"a"})"));
}

TEST(BodySplice, EditsAddedOutOfOrderAreAppliedInOrder) {
    const std::string body = "0123456789";
    BodySplice splice(body);
    EXPECT_TRUE(splice.replace(7, 2, "x"));
    EXPECT_TRUE(splice.replace(1, 1, ""));
    EXPECT_TRUE(splice.replace(4, 0, "ins"));
    EXPECT_TRUE(splice.replace(2, 2, "yy"));  // ends where the insertion is
    EXPECT_EQ(splice.str(), "0yyins456x9");
    EXPECT_EQ(splice.size(), splice.str().size());
}

TEST(BodySplice, OverlappingOrOutOfRangeEditsAreRefused) {
    const std::string body = "0123456789";
    BodySplice splice(body);
    EXPECT_TRUE(splice.replace(3, 3, "a"));
    EXPECT_FALSE(splice.replace(5, 2, "b"));
    EXPECT_FALSE(splice.replace(1, 3, "c"));
    EXPECT_FALSE(splice.replace(2, 6, "d"));
    EXPECT_FALSE(splice.replace(9, 2, "e"));
    EXPECT_TRUE(splice.replace(6, 0, "f"));
    EXPECT_EQ(splice.str(), "012af6789");
}

TEST(ThinkingErrors, InvalidSignatureAndRelatedRefusalsAreRecognised) {
    for (
        const char* body : {
            R"({"type":"error","error":{"type":"invalid_request_error","message":"messages.1.content.0: Invalid `signature` in `thinking` block"}})",
            R"({"type":"error","error":{"type":"invalid_request_error","message":"messages.3.content.0.thinking.signature: Field required"}})",
            R"({"type":"error","error":{"type":"invalid_request_error","message":"messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`. When `thinking` is enabled, a final `assistant` message must start with a thinking block."}})",
            R"({"error":{"message":"messages.1.content.0.type: Expected 'thinking' or 'redacted_thinking', but found 'tool_use'"}})",
            R"({"type":"error","error":{"message":"thinking or redacted_thinking blocks in the latest assistant message cannot be modified"}})",
            R"({"message":"Invalid SIGNATURE in THINKING block"})",
            R"({"error":{"message":"expected \"thinking\" block first"}})",
        }) {
        EXPECT_TRUE(is_invalid_signature_error(body)) << body;
    }
}

TEST(ThinkingErrors, OtherBadRequestsAreNot) {
    for (
        const char* body : {
            R"({"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}})",
            R"({"type":"error","error":{"type":"invalid_request_error","message":"`max_tokens` must be greater than `thinking.budget_tokens`"}})",
            R"({"error":{"message":"thinking.budget_tokens: Expected an integer"}})",
            R"({"error":{"message":"invalid x-api-key signature"}})",
            R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
            "",
        }) {
        EXPECT_FALSE(is_invalid_signature_error(body)) << body;
    }
}

// ---- generated shapes ----

struct Generated {
    std::string body;      // with thinking blocks
    std::string expected;  // the same conversation without them
    bool any_thinking = false;
};

class Generator {
  public:
    explicit Generator(unsigned seed) : rng_(seed) {}

    Generated conversation() {
        Generated g;
        std::vector<std::pair<std::string, std::string>> messages;  // (with, without); "" drops
        const int n = pick(1, 6);
        for (int i = 0; i < n; ++i) {
            if (pick(0, 2) == 0) {
                const std::string m = "{" + ws() + R"("role":"user",)" + ws() + R"("content":)" +
                                      ws() + R"("q)" + std::to_string(i) + R"(")" + ws() + "}";
                messages.emplace_back(m, m);
            } else {
                messages.push_back(assistant(g));
            }
        }
        std::string with = "[" + ws();
        std::string without = "[";
        bool first_with = true;
        bool first_without = true;
        for (const auto& [w, wo] : messages) {
            with += (first_with ? "" : "," + ws()) + w + ws();
            first_with = false;
            if (wo.empty()) continue;
            without += (first_without ? "" : ",") + wo;
            first_without = false;
        }
        with += "]";
        without += "]";
        g.body =
            "{" + ws() + R"("model":"m",)" + ws() + R"("messages":)" + ws() + with + ws() + "}";
        g.expected = R"({"model":"m","messages":)" + without + "}";
        return g;
    }

  private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

    std::string ws() {
        static const char* kSpaces[] = {"", "", "", " ", "\n  ", "\t", " \r\n "};
        return kSpaces[pick(0, 6)];
    }

    std::pair<std::string, std::string> assistant(Generated& g) {
        std::vector<std::pair<std::string, bool>> blocks;  // (json, is thinking)
        const int n = pick(1, 5);
        for (int i = 0; i < n; ++i) {
            switch (pick(0, 4)) {
                case 0:
                    blocks.emplace_back(R"({"type":"thinking",)" + ws() +
                                            R"("thinking":"a,]}\"type\":\"text\"",)" + ws() +
                                            R"("signature":"s)" + std::to_string(i) + R"("})",
                                        true);
                    break;
                case 1:
                    blocks.emplace_back(
                        "{" + ws() + R"("data":"x[{",)" + ws() + R"("type":"redacted_thinking"})",
                        true);
                    break;
                case 2:
                    blocks.emplace_back(
                        R"({"type":"tool_use","id":"t","name":"n","input":{"a":[1,{"b":"thinking"}]}})",
                        false);
                    break;
                default:
                    blocks.emplace_back(
                        R"({"type":"text","text":"t)" + std::to_string(i) + R"( \"thinking\""})",
                        false);
            }
        }
        std::string with = "[" + ws();
        std::string without = "[";
        bool kept_any = false;
        for (std::size_t i = 0; i < blocks.size(); ++i) {
            with += (i == 0 ? "" : ws() + "," + ws()) + blocks[i].first;
            if (blocks[i].second) {
                g.any_thinking = true;
                continue;
            }
            without += (kept_any ? "," : "") + blocks[i].first;
            kept_any = true;
        }
        with += ws() + "]";
        without += "]";
        const std::string head =
            "{" + ws() + R"("role":"assistant",)" + ws() + R"("content":)" + ws();
        return {head + with + ws() + "}",
                kept_any ? R"({"role":"assistant","content":)" + without + "}" : std::string()};
    }

    std::mt19937 rng_;
};

TEST(Thinking, GeneratedShapesStayValidAndLoseOnlyTheirThinkingBlocks) {
    Generator gen(8);
    for (int round = 0; round < 3000; ++round) {
        const Generated g = gen.conversation();
        SCOPED_TRACE(g.body);
        const ThinkingInfo info = scan(g.body);
        ASSERT_TRUE(info.valid);
        EXPECT_EQ(info.has_thinking, g.any_thinking);
        BodySplice splice(g.body);
        ASSERT_TRUE(strip_thinking(info, splice));
        const std::string out = splice.str();
        EXPECT_EQ(minified(out), minified(g.expected));
        EXPECT_TRUE(only_removes(g.body, out));
        const ThinkingInfo again = scan(out);
        EXPECT_TRUE(again.valid) << out;  // parses to its end
        EXPECT_FALSE(again.has_thinking) << out;
        for (std::size_t i = 1; i < info.removals.size(); ++i) {
            EXPECT_LE(info.removals[i - 1].offset + info.removals[i - 1].length,
                      info.removals[i].offset);
        }
    }
}

TEST(Thinking, TruncatedOrCorruptedBodiesAreRefusedWithoutEdits) {
    Generator gen(11);
    std::mt19937 rng(5);
    for (int round = 0; round < 500; ++round) {
        const Generated g = gen.conversation();
        std::string body = g.body;
        if (round % 2 == 0) {
            body.resize(std::uniform_int_distribution<std::size_t>(0, body.size() - 1)(rng));
        } else {
            const std::size_t at =
                std::uniform_int_distribution<std::size_t>(0, body.size() - 1)(rng);
            if (body[at] != '{' && body[at] != '}' && body[at] != '[' && body[at] != ']' &&
                body[at] != ',' && body[at] != '"') {
                continue;  // corrupt structure only, so the result is never valid JSON
            }
            body.erase(at, 1);
        }
        SCOPED_TRACE(body);
        const ThinkingInfo info = scan(body);
        BodySplice splice(body);
        EXPECT_EQ(strip_thinking(info, splice), info.valid);
        if (!info.valid) {
            EXPECT_TRUE(splice.empty());
        }
    }
}

TEST(ThinkingPrecheck, BodiesWithBlocksPass) {
    EXPECT_TRUE(may_carry_thinking_blocks(R"({"messages":[{"role":"assistant","content":[)" + kThinking + "]}]}"));
    EXPECT_TRUE(may_carry_thinking_blocks(R"({"content":[{"type" :  "thinking"}]})"));
    EXPECT_TRUE(may_carry_thinking_blocks(R"({"messages":[{"role":"assistant","content":[)" + kRedacted + "]}]}"));
}

TEST(ThinkingPrecheck, OrdinaryRequestsAndTheThinkingMemberAreSkipped) {
    EXPECT_FALSE(may_carry_thinking_blocks(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})"));
    EXPECT_FALSE(may_carry_thinking_blocks(
        R"({"model":"m","thinking":{"type":"enabled","budget_tokens":1024},"messages":[]})"));
    EXPECT_FALSE(may_carry_thinking_blocks(R"({"thinking" : {"type":"adaptive"}})"));
}

}  // namespace
}  // namespace ccr::worker
