#include "worker/providers/aws/event_stream.h"

#include <gtest/gtest.h>

#include <boost/beast/core/detail/base64.hpp>
#include <boost/crc.hpp>

namespace ccr::worker::aws {
namespace {

// A small encoder for hand-built frames (the layout in event_stream.h).

void put32(std::string& s, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((v >> shift) & 0xff);
}

std::uint32_t crc32(std::string_view s) {
    boost::crc_32_type crc;
    crc.process_bytes(s.data(), s.size());
    return crc.checksum();
}

std::string raw_header(std::string_view name, std::uint8_t type, std::string_view value_bytes) {
    std::string h;
    h += static_cast<char>(name.size());
    h += name;
    h += static_cast<char>(type);
    h += value_bytes;
    return h;
}

std::string str_header(std::string_view name, std::string_view value) {
    std::string v;
    v += static_cast<char>(value.size() >> 8);
    v += static_cast<char>(value.size() & 0xff);
    v += value;
    return raw_header(name, 7, v);
}

std::string frame(std::string_view headers, std::string_view payload) {
    std::string f;
    put32(f, static_cast<std::uint32_t>(16 + headers.size() + payload.size()));
    put32(f, static_cast<std::uint32_t>(headers.size()));
    put32(f, crc32(f));
    f += headers;
    f += payload;
    put32(f, crc32(f));
    return f;
}

std::string base64(std::string_view s) {
    namespace b64 = boost::beast::detail::base64;
    std::string out(b64::encoded_size(s.size()), '\0');
    out.resize(b64::encode(out.data(), s.data(), s.size()));
    return out;
}

std::string chunk_headers() {
    return str_header(":event-type", "chunk") + str_header(":content-type", "application/json") +
           str_header(":message-type", "event");
}

std::string chunk(std::string_view event_json, std::string_view padding = "abcdefghij") {
    return frame(chunk_headers(), R"({"bytes":")" + base64(event_json) + R"(","p":")" +
                                      std::string(padding) + R"("})");
}

std::string exception(std::string_view name, std::string_view payload) {
    return frame(str_header(":exception-type", name) +
                     str_header(":content-type", "application/json") +
                     str_header(":message-type", "exception"),
                 payload);
}

std::string sse(std::string_view type, std::string_view json) {
    return "event: " + std::string(type) + "\ndata: " + std::string(json) + "\n\n";
}

std::string error_sse(std::string_view type, std::string_view message_json) {
    return "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"" + std::string(type) +
           "\",\"message\":" + std::string(message_json) + "}}\n\n";
}

bool feed(EventStreamDecoder& d, std::string_view bytes, std::string& out) {
    return d.feed(std::span<const char>(bytes.data(), bytes.size()), out);
}

constexpr std::string_view kStart =
    R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":3}}})";
constexpr std::string_view kDelta =
    R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi \"there\"\n"}})";
constexpr std::string_view kStop = R"({"type":"message_stop"})";

// Encoded messages from botocore's tests/unit/test_eventstream.py (AWS's own decoder tests): real
// CRCs and every header type, so the decoder's CRC and header reading are checked against bytes
// this file's encoder did not make.
constexpr char kEmptyMessage[] = "\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2H\xeb}\x98\xc8\xff";
constexpr char kInt8Header[] =
    "\x00\x00\x00\x17\x00\x00\x00\x07)\x86\x01X\x04"
    "byte\x02\xff\xc2\xf8i\xdc";
constexpr char kInt16Header[] =
    "\x00\x00\x00\x19\x00\x00\x00\x09q\x0e\x92>\x05short\x03\xff\xff\xb2|\xb6\xcc";
constexpr char kInt32Header[] =
    "\x00\x00\x00\x1d\x00\x00\x00\x0d\x83\xe3\xf0\xe7\x07integer\x04\xff\xff\xff\xff\x8b\x8e\x12"
    "\xeb";
constexpr char kInt64Header[] =
    "\x00\x00\x00\x1e\x00\x00\x00\x0e]J\xdb\x8d\x04long\x05\xff\xff\xff\xff\xff\xff\xff\xffK\xc2"
    "2\xda";
constexpr char kPayloadNoHeaders[] =
    "\x00\x00\x00\x1d\x00\x00\x00\x00\xfdR\x8cZ{'foo':'bar'}\xc3"
    "e96";
constexpr char kPayloadOneStrHeader[] =
    "\x00\x00\x00=\x00\x00\x00 \x07\xfd\x83\x96\x0c"
    "content-type\x07\x00\x10"
    "application/json{'foo':'bar'}\x8d\x9c\x08\xb1";
constexpr char kAllHeaderTypes[] =
    "\x00\x00\x00"
    "b\x00\x00\x00R\x03\xb5\xcb\x9c\x01"
    "0\x00\x01"
    "1\x01\x01"
    "2\x02\x02\x01"
    "3\x03\x00\x03\x01"
    "4\x04\x00\x00\x00\x04\x01"
    "5\x05\x00\x00\x00\x00\x00\x00\x00\x05\x01"
    "6\x06\x00\x05"
    "bytes\x01"
    "7\x07\x00\x04utf8\x01"
    "8\x08\x00\x00\x00\x00\x00\x00\x00\x08\x01"
    "9\x09"
    "0123456789abcdefc56q";
constexpr char kErrorEventMessage[] =
    "\x00\x00\x00R\x00\x00\x00"
    "B\xbf#c~\x0d:message-type\x07\x00\x05"
    "error\x0b:error-code\x07\x00\x04"
    "code\x0e:error-message\x07\x00\x07messagekl\xea=";
constexpr char kCorruptedHeaderLength[] =
    "\x00\x00\x00=\xff\x00\x01\x02\x07\xfd\x83\x96\x0c"
    "content-type\x07\x00\x10"
    "application/json{'foo':'bar'}\x8d\x9c\x08\xb1";
constexpr char kCorruptedHeaders[] =
    "\x00\x00\x00=\x00\x00\x00 \x07\xfd\x83\x96\x0c"
    "content+type\x07\x00\x10"
    "application/json{'foo':'bar'}\x8d\x9c\x08\xb1";
constexpr char kCorruptedLength[] =
    "\x01\x00\x00\x1d\x00\x00\x00\x00\xfdR\x8cZ{'foo':'bar'}\xc3"
    "e96";
constexpr char kCorruptedPayload[] =
    "\x00\x00\x00\x1d\x00\x00\x00\x00\xfdR\x8cZ{'foo':'bar'\x8d\xc3"
    "e96";

template <std::size_t N>
std::string_view bytes(const char (&s)[N]) {
    return std::string_view(s, N - 1);
}

TEST(EventStream, BotocoreMessagesDecodeAndOnlyTheErrorMessageIsReported) {
    std::string all;
    for (std::string_view m : {bytes(kEmptyMessage), bytes(kInt8Header), bytes(kInt16Header),
                               bytes(kInt32Header), bytes(kInt64Header), bytes(kPayloadNoHeaders),
                               bytes(kPayloadOneStrHeader), bytes(kAllHeaderTypes)}) {
        EventStreamDecoder d;
        std::string out;
        EXPECT_TRUE(feed(d, m, out));
        EXPECT_TRUE(d.finish(out));
        EXPECT_EQ(out, "");
        all += m;
    }
    all += bytes(kErrorEventMessage);
    EventStreamDecoder d;
    std::string out;
    EXPECT_FALSE(feed(d, all, out));
    EXPECT_EQ(out, error_sse("api_error", "\"message\""));
}

TEST(EventStream, BotocoreCorruptedMessagesFail) {
    struct Case {
        std::string_view bytes, message;
    } cases[] = {
        {bytes(kCorruptedHeaderLength), "\"Bedrock event stream: prelude CRC mismatch\""},
        {bytes(kCorruptedLength), "\"Bedrock event stream: prelude CRC mismatch\""},
        {bytes(kCorruptedHeaders), "\"Bedrock event stream: message CRC mismatch\""},
        {bytes(kCorruptedPayload), "\"Bedrock event stream: message CRC mismatch\""},
    };
    for (const auto& c : cases) {
        EventStreamDecoder d;
        std::string out;
        EXPECT_FALSE(feed(d, c.bytes, out));
        EXPECT_EQ(out, error_sse("api_error", c.message));
    }
}

TEST(EventStream, ChunkHeadersHaveThePublishedLength) {
    // anthropic-wire.md §5.4: the three chunk headers occupy 0x4b bytes in a captured prelude.
    EXPECT_EQ(chunk_headers().size(), 0x4bu);
}

TEST(EventStream, OneChunkFrameBecomesOneSseEventWithTheJsonUnchanged) {
    EventStreamDecoder d;
    std::string out = "kept:";
    EXPECT_TRUE(feed(d, chunk(kDelta), out));
    EXPECT_EQ(out, "kept:" + sse("content_block_delta", kDelta));
    EXPECT_TRUE(d.finish(out));
    EXPECT_FALSE(d.failed());
}

TEST(EventStream, SeveralFramesInOneFeedComeOutInOrder) {
    EventStreamDecoder d;
    std::string out;
    EXPECT_TRUE(feed(d, chunk(kStart) + chunk(kDelta) + chunk(kStop), out));
    EXPECT_EQ(out, sse("message_start", kStart) + sse("content_block_delta", kDelta) +
                       sse("message_stop", kStop));
}

TEST(EventStream, EveryHeaderTypeIsSkipped) {
    std::string headers =
        raw_header("t", 0, "") + raw_header("f", 1, "") + raw_header("b", 2, "\x7f") +
        raw_header("s", 3, std::string(2, '\1')) + raw_header("i", 4, std::string(4, '\2')) +
        raw_header("l", 5, std::string(8, '\3')) + raw_header("a", 6, std::string("\0\3xyz", 5)) +
        raw_header("ts", 8, std::string(8, '\4')) + raw_header("u", 9, std::string(16, '\5')) +
        chunk_headers();
    std::string payload = R"({"p":"x","bytes":")" + base64(kStop) + R"("})";
    EventStreamDecoder d;
    std::string out;
    EXPECT_TRUE(feed(d, frame(headers, payload), out));
    EXPECT_EQ(out, sse("message_stop", kStop));
}

std::string mixed_stream() {
    return chunk(kStart) + chunk(R"({"p":"keepalive"})") +
           frame(str_header(":event-type", "metadata") + str_header(":message-type", "event"),
                 "{}") +
           chunk(kDelta, std::string(300, 'p')) + chunk(kStop, "");
}

TEST(EventStream, SplittingTheStreamAtAnyByteGivesTheSameOutput) {
    std::string stream = mixed_stream();
    std::string whole;
    {
        EventStreamDecoder d;
        ASSERT_TRUE(feed(d, stream, whole));
        ASSERT_TRUE(d.finish(whole));
    }
    EXPECT_EQ(whole, sse("message_start", kStart) + sse("content_block_delta", kDelta) +
                         sse("message_stop", kStop));
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        EventStreamDecoder d;
        std::string out;
        EXPECT_TRUE(feed(d, std::string_view(stream).substr(0, cut), out));
        EXPECT_TRUE(feed(d, std::string_view(stream).substr(cut), out));
        EXPECT_TRUE(d.finish(out));
        ASSERT_EQ(out, whole) << "cut at " << cut;
    }
    EventStreamDecoder d;
    std::string out;
    for (char c : stream) ASSERT_TRUE(feed(d, std::string_view(&c, 1), out));
    EXPECT_TRUE(d.finish(out));
    EXPECT_EQ(out, whole);
}

TEST(EventStream, KeepAlivesWithoutAStringTypeAreDropped) {
    EventStreamDecoder d;
    std::string out;
    EXPECT_TRUE(
        feed(d, chunk("{}") + chunk(R"({"type":5})") + chunk("[1]") + chunk("not json"), out));
    EXPECT_EQ(out, "");
    EXPECT_FALSE(d.failed());
}

TEST(EventStream, RawNewlinesInTheDecodedJsonStayOnOneDataLine) {
    EventStreamDecoder d;
    std::string out;
    EXPECT_TRUE(feed(d, chunk("{\"type\":\"ping\"\r\n}"), out));
    EXPECT_EQ(out, sse("ping", "{\"type\":\"ping\"  }"));
}

TEST(EventStream, BadPreludeCrcFailsAndLaterInputIsIgnored) {
    std::string f = chunk(kStop);
    f[8] ^= 0x01;
    EventStreamDecoder d;
    std::string out;
    EXPECT_FALSE(feed(d, f, out));
    EXPECT_EQ(out, error_sse("api_error", "\"Bedrock event stream: prelude CRC mismatch\""));
    EXPECT_TRUE(d.failed());
    std::string after = out;
    EXPECT_FALSE(feed(d, chunk(kStop), out));
    EXPECT_FALSE(d.finish(out));
    EXPECT_EQ(out, after);
}

TEST(EventStream, BadMessageCrcFails) {
    std::string f = chunk(kStop);
    f[f.size() - 10] ^= 0x20;  // inside the payload
    EventStreamDecoder d;
    std::string out;
    EXPECT_TRUE(feed(d, std::string_view(f).substr(0, 20), out));  // prelude alone is fine
    EXPECT_FALSE(feed(d, std::string_view(f).substr(20), out));
    EXPECT_EQ(out, error_sse("api_error", "\"Bedrock event stream: message CRC mismatch\""));
}

TEST(EventStream, ExceptionsMapToAnthropicErrorTypes) {
    struct Case {
        std::string_view name, type;
    } cases[] = {
        {"throttlingException", "rate_limit_error"},
        {"serviceUnavailableException", "overloaded_error"},
        {"validationException", "invalid_request_error"},
        {"modelTimeoutException", "api_error"},
        {"internalServerException", "api_error"},
        {"modelStreamErrorException", "api_error"},
    };
    for (const auto& c : cases) {
        EventStreamDecoder d;
        std::string out;
        EXPECT_FALSE(feed(d,
                          chunk(kStart) +
                              exception(c.name, R"({"message":"Too \"many\"\nrequests"})") +
                              chunk(kStop),
                          out));
        EXPECT_EQ(out,
                  sse("message_start", kStart) + error_sse(c.type, R"("Too \"many\"\nrequests")"))
            << c.name;
        EXPECT_TRUE(d.failed());
    }
}

TEST(EventStream, ExceptionMessageMayBeCapitalised) {
    EventStreamDecoder d;
    std::string out;
    EXPECT_FALSE(feed(d, exception("internalServerException", R"({"Message":"oops"})"), out));
    EXPECT_EQ(out, error_sse("api_error", "\"oops\""));
}

TEST(EventStream, ExceptionWithoutAMessageIsNamedByItsType) {
    EventStreamDecoder d;
    std::string out;
    EXPECT_FALSE(
        feed(d, exception("modelStreamErrorException", R"({"originalStatusCode":500})"), out));
    EXPECT_EQ(out, error_sse("api_error", "\"modelStreamErrorException\""));
}

TEST(EventStream, ErrorMessagesBecomeApiErrors) {
    EventStreamDecoder d;
    std::string out;
    EXPECT_FALSE(feed(
        d,
        frame(str_header(":message-type", "error") + str_header(":error-code", "InternalFailure") +
                  str_header(":error-message", "boom"),
              ""),
        out));
    EXPECT_EQ(out, error_sse("api_error", "\"boom\""));

    EventStreamDecoder d2;
    out.clear();
    EXPECT_FALSE(feed(
        d2,
        frame(str_header(":message-type", "error") + str_header(":error-code", "InternalFailure"),
              ""),
        out));
    EXPECT_EQ(out, error_sse("api_error", "\"InternalFailure\""));
}

TEST(EventStream, TruncatedStreamFailsAtFinish) {
    std::string f = chunk(kStop);
    for (std::size_t cut : {std::size_t{1}, std::size_t{12}, f.size() - 1}) {
        EventStreamDecoder d;
        std::string out;
        EXPECT_TRUE(feed(d, chunk(kStart) + f.substr(0, cut), out));
        EXPECT_FALSE(d.finish(out));
        EXPECT_EQ(out, sse("message_start", kStart) +
                           error_sse("api_error",
                                     "\"Bedrock event stream: truncated message (the stream "
                                     "ended mid-frame)\""))
            << cut;
    }
}

std::string prelude(std::uint32_t total, std::uint32_t headers) {
    std::string p;
    put32(p, total);
    put32(p, headers);
    put32(p, crc32(p));
    return p;
}

TEST(EventStream, LengthsOutOfRangeFailBeforeBuffering) {
    struct Case {
        std::uint32_t total, headers;
        std::string_view message;
    } cases[] = {
        {(16u << 20) + 1, 0, "\"Bedrock event stream: message length 16777217 out of range\""},
        {15, 0, "\"Bedrock event stream: message length 15 out of range\""},
        {100, 85, "\"Bedrock event stream: headers length exceeds the message\""},
    };
    for (const auto& c : cases) {
        EventStreamDecoder d;
        std::string out;
        EXPECT_FALSE(feed(d, prelude(c.total, c.headers), out));
        EXPECT_EQ(out, error_sse("api_error", c.message)) << c.total;
    }
    // The largest allowed length is accepted (and waits for more bytes).
    EventStreamDecoder d;
    std::string out;
    EXPECT_TRUE(feed(d, prelude(16u << 20, 84), out));
    EXPECT_EQ(out, "");
}

TEST(EventStream, MalformedHeadersFail) {
    EventStreamDecoder d;
    std::string out;
    EXPECT_FALSE(feed(d, frame(raw_header("x", 10, ""), ""), out));
    EXPECT_EQ(out, error_sse("api_error", "\"Bedrock event stream: unknown header value type\""));

    EventStreamDecoder d2;
    out.clear();
    EXPECT_FALSE(feed(d2, frame(raw_header("x", 7, std::string("\0\x09short", 7)), ""), out));
    EXPECT_EQ(out, error_sse("api_error", "\"Bedrock event stream: malformed header value\""));
}

TEST(EventStream, InvalidBase64InAChunkFails) {
    EventStreamDecoder d;
    std::string out;
    EXPECT_FALSE(feed(d, frame(chunk_headers(), R"({"bytes":"e30*"})"), out));
    EXPECT_EQ(out,
              error_sse("api_error", "\"Bedrock event stream: chunk bytes are not valid base64\""));
}

}  // namespace
}  // namespace ccr::worker::aws
