#include "worker/upstream/usage_tap.h"

#include <gtest/gtest.h>

namespace ccr::worker {
namespace {

const std::string kStream =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":28,"
    "\"cache_creation_input_tokens\":3,\"cache_read_input_tokens\":7,\"output_tokens\":1}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":15}}\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n";

TEST(UsageTap, ReadsUsageFromMessageStartAndDelta) {
    UsageTap tap(UsageTap::Mode::sse);
    tap.feed(kStream);
    tap.finish();
    EXPECT_EQ(tap.usage().input_tokens, 28);
    EXPECT_EQ(tap.usage().output_tokens, 15);
    EXPECT_EQ(tap.usage().cache_read_input_tokens, 7);
    EXPECT_EQ(tap.usage().cache_creation_input_tokens, 3);
}

TEST(UsageTap, GivesTheSameAnswerWhateverTheChunking) {
    for (std::size_t step : {1u, 2u, 3u, 7u, 64u}) {
        UsageTap tap(UsageTap::Mode::sse);
        for (std::size_t i = 0; i < kStream.size(); i += step) tap.feed(std::string_view(kStream).substr(i, step));
        tap.finish();
        EXPECT_EQ(tap.usage().input_tokens, 28) << step;
        EXPECT_EQ(tap.usage().output_tokens, 15) << step;
    }
}

TEST(UsageTap, HandlesCrLfLineEndings) {
    std::string crlf;
    for (char c : kStream) {
        if (c == '\n') crlf += '\r';
        crlf += c;
    }
    UsageTap tap(UsageTap::Mode::sse);
    tap.feed(crlf);
    tap.finish();
    EXPECT_EQ(tap.usage().input_tokens, 28);
    EXPECT_EQ(tap.usage().output_tokens, 15);
}

TEST(UsageTap, ReadsUsageOfANonStreamingMessage) {
    UsageTap tap(UsageTap::Mode::json);
    std::string body = R"({"id":"msg","content":[{"type":"text","text":"x"}],"usage":{"input_tokens":11,"output_tokens":22,"cache_read_input_tokens":5}})";
    tap.feed(body.substr(0, 10));
    tap.feed(body.substr(10));
    tap.finish();
    EXPECT_EQ(tap.usage().input_tokens, 11);
    EXPECT_EQ(tap.usage().output_tokens, 22);
    EXPECT_EQ(tap.usage().cache_read_input_tokens, 5);
}

TEST(UsageTap, AWholeAnswerIsReadWhereItLiesAndOnlyItsOwnBytes) {
    // The answer in one last piece, in a buffer with room after it: read in place. The bytes after
    // it in the buffer are another object's end; read with them the answer would be malformed
    // ("trailing") and give nothing.
    const std::string body = R"({"id":"msg","usage":{"input_tokens":11,"output_tokens":22}})";
    std::string buffer = body + R"( {"usage":{"input_tokens":99}})" + std::string(128, ' ');
    UsageTap tap(UsageTap::Mode::json);
    tap.feed_last(std::string_view(buffer.data(), body.size()), buffer.size());
    tap.finish();
    EXPECT_EQ(tap.usage().input_tokens, 11);
    EXPECT_EQ(tap.usage().output_tokens, 22);

    // Without simdjson's padding readable after it, or after earlier pieces, it is copied as
    // before; the answer is the same.
    for (const std::size_t split : {std::size_t{0}, std::size_t{9}}) {
        UsageTap copied(UsageTap::Mode::json);
        if (split > 0) copied.feed(body.substr(0, split));
        const std::string rest = body.substr(split);
        copied.feed_last(rest, rest.size());
        copied.finish();
        EXPECT_EQ(copied.usage().input_tokens, 11) << split;
        EXPECT_EQ(copied.usage().output_tokens, 22) << split;
    }

    // A malformed answer read in place gives nothing, as a copied one does.
    const std::string broken = R"({"usage":{"input_tokens":11},"id":"msg",})";
    buffer = broken + std::string(128, ' ');
    UsageTap bad(UsageTap::Mode::json);
    bad.feed_last(std::string_view(buffer.data(), broken.size()), buffer.size());
    bad.finish();
    EXPECT_EQ(bad.usage().input_tokens, 0);
}

TEST(UsageTap, ReadsOnlyTheMessagesOwnUsageMember) {
    // A tool's input may hold a "usage" of its own, before the message's; neither it nor text
    // naming "usage" counts.
    UsageTap tap(UsageTap::Mode::json);
    tap.feed(R"({"id":"msg","content":[{"type":"tool_use","input":{"usage":{"input_tokens":999}}},)"
             R"({"type":"text","text":"\"usage\":{\"output_tokens\":888}"}],)"
             R"("usage":{"input_tokens":11,"output_tokens":22}})");
    tap.finish();
    EXPECT_EQ(tap.usage().input_tokens, 11);
    EXPECT_EQ(tap.usage().output_tokens, 22);
}

TEST(UsageTap, TakesIntegersOnlyAndTheFirstOfARepeatedName) {
    // message_start sets all four; the delta's null, fraction, exponent, out-of-range and string
    // values keep them; of two output_tokens the first counts.
    UsageTap tap(UsageTap::Mode::sse);
    tap.feed("data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":1,"
             "\"output_tokens\":2,\"cache_read_input_tokens\":3,\"cache_creation_input_tokens\":4}}}\n\n"
             "data: {\"type\":\"message_delta\",\"usage\":{\"input_tokens\":null,"
             "\"cache_read_input_tokens\":1.5,\"cache_creation_input_tokens\":1e3,"
             "\"output_tokens\":-7,\"output_tokens\":99}}\n\n"
             "data: {\"type\":\"message_delta\",\"usage\":{\"input_tokens\":\"5\","
             "\"cache_read_input_tokens\":99999999999999999999}}\n\n");
    tap.finish();
    EXPECT_EQ(tap.usage().input_tokens, 1);
    EXPECT_EQ(tap.usage().output_tokens, -7);
    EXPECT_EQ(tap.usage().cache_read_input_tokens, 3);
    EXPECT_EQ(tap.usage().cache_creation_input_tokens, 4);
}

TEST(UsageTap, ReadsNothingFromAnAnswerThatIsNotJson) {
    UsageTap tap(UsageTap::Mode::json);
    tap.feed(R"({"usage":{"input_tokens":11,"output_tokens":22}} trailing)");
    tap.finish();
    EXPECT_EQ(tap.usage().input_tokens, 0);
    EXPECT_EQ(tap.usage().output_tokens, 0);
}

TEST(UsageTap, ReadsNamesWrittenWithEscapesAsJsonDoes) {
    UsageTap tap(UsageTap::Mode::json);
    tap.feed(R"({"id":"msg","us\u0061ge":{"input_\u0074okens":7,"output_tokens":8}})");
    tap.finish();
    EXPECT_EQ(tap.usage().input_tokens, 7);
    EXPECT_EQ(tap.usage().output_tokens, 8);
}

TEST(UsageTap, ReadsNothingFromAnObjectBrokenAfterItsUsage) {
    // The usage is read before the fault is met: still nothing is taken.
    for (const char* body : {R"({"usage":{"input_tokens":11},"content":[1,2})",
                             R"({"usage":{"input_tokens":11},"id":"msg",})",
                             R"({"usage":{"input_tokens":11},"id":"msg"})" "]",
                             "{\"usage\":{\"input_tokens\":11},\"text\":\"\xff\"}"}) {
        UsageTap tap(UsageTap::Mode::json);
        tap.feed(body);
        tap.finish();
        EXPECT_EQ(tap.usage().input_tokens, 0) << body;
    }
    // Known and accepted: a scalar inside a member that is skipped is not read, so its faults go
    // unseen (the answer is relayed as it came either way; the client's parser judges it).
    UsageTap tap(UsageTap::Mode::json);
    tap.feed(R"({"usage":{"input_tokens":11},"content":"\x"})");
    tap.finish();
    EXPECT_EQ(tap.usage().input_tokens, 11);
}

TEST(UsageTap, FindsTheEventTypeAfterOtherNamesThatStartTheSame) {
    // The type is found by its "message_ prefix: other names with it come first here.
    UsageTap tap(UsageTap::Mode::sse);
    tap.feed("data: {\"message_id\":\"m\",\"note\":\"message_stop\",\"type\":\"message_delta\","
             "\"usage\":{\"output_tokens\":9}}\n\n");
    tap.finish();
    EXPECT_EQ(tap.usage().output_tokens, 9);
}

TEST(UsageTap, ATypeNamedFirstDecidesWithoutASearch) {
    // A content_block_delta whose type comes first is not read even if its text names another
    // type; one whose type comes later is found by the search.
    UsageTap tap(UsageTap::Mode::sse);
    tap.feed("data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\","
             "\"text\":\"x\"},\"usage\":{\"output_tokens\":5},\"k\":\"message_delta\"}\n\n");
    tap.feed("data:{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":4}}}\n\n");
    tap.feed("data: {\"usage\":{\"cache_read_input_tokens\":6},\"type\":\"message_delta\"}\n\n");
    tap.finish();
    EXPECT_EQ(tap.usage().input_tokens, 4);
    EXPECT_EQ(tap.usage().output_tokens, 0) << "the content_block_delta was read";
    EXPECT_EQ(tap.usage().cache_read_input_tokens, 6);
}

TEST(UsageTap, OnlyDataLinesCountWhereverTheWordAppears) {
    // "message_" in an event name, a comment, a text delta and a data line of another type: none
    // of them is usage; the message_delta after them is, also split at every byte.
    const std::string stream =
        "event: message_delta\n: message_delta {\"usage\":{\"output_tokens\":1}}\n"
        "data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"\\\"message_delta\\\"\"}}\n\n"
        "xdata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":2}}\n"
        "\r\rdata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":3}}\r\n\r\n"
        "event: ping\ndata: {\"type\": \"ping\"}\n\n";
    for (std::size_t step : {1u, 5u, 4096u}) {
        UsageTap tap(UsageTap::Mode::sse);
        for (std::size_t i = 0; i < stream.size(); i += step) tap.feed(std::string_view(stream).substr(i, step));
        tap.finish();
        EXPECT_EQ(tap.usage().output_tokens, 3) << step;
    }
}

TEST(UsageTap, ALineCarriedPastItsBoundIsDroppedOneInAPieceIsRead) {
    // A data line longer than the carry bound, arriving in pieces, is not read; the same line in
    // one piece is (nothing is copied for it).
    const std::string pad(300 * 1024, 'x');
    const std::string line = "data: {\"type\":\"message_delta\",\"pad\":\"" + pad + "\",\"usage\":{\"output_tokens\":4}}\n";
    UsageTap pieces(UsageTap::Mode::sse);
    for (std::size_t i = 0; i < line.size(); i += 1000) pieces.feed(std::string_view(line).substr(i, 1000));
    pieces.finish();
    EXPECT_EQ(pieces.usage().output_tokens, 0);
    UsageTap whole(UsageTap::Mode::sse);
    whole.feed(line);
    whole.finish();
    EXPECT_EQ(whole.usage().output_tokens, 4);
}

TEST(UsageTap, IgnoresGarbageWithoutFailing) {
    UsageTap tap(UsageTap::Mode::sse);
    tap.feed("data: {not json \"message_start\"\n\n: comment\n\n");
    tap.finish();
    EXPECT_EQ(tap.usage().input_tokens, 0);
}

}  // namespace
}  // namespace ccr::worker
