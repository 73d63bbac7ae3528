// parse_simple_head: the one-pass parser of the common request head. What it completes must be
// the message Beast's parser makes of the same bytes; everything outside its subset is left to
// Beast (`not_simple`), including every unusual head the hostile-input suite sends.

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "tests/worker/response_head_order.h"
#include "worker/simple_head.h"

namespace ccr::worker {
namespace {

namespace http = boost::beast::http;
using Result = SimpleHead::Result;

constexpr std::size_t kLimit = 16 * 1024;

// What Claude Code sends (headers as of version 2.x, values shortened), with a body after it.
const std::string kClaudeHead =
    "POST /v1/messages?beta=true HTTP/1.1\r\n"
    "host: 127.0.0.1:8787\r\n"
    "connection: keep-alive\r\n"
    "Accept: application/json\r\n"
    "X-Stainless-Retry-Count: 0\r\n"
    "X-Stainless-Timeout: 600\r\n"
    "X-Stainless-Lang: js\r\n"
    "anthropic-beta: claude-code-20250219,interleaved-thinking-2025-05-14\r\n"
    "anthropic-beta: fine-grained-tool-streaming-2025-05-14\r\n"
    "anthropic-version: 2023-06-01\r\n"
    "authorization: Bearer sk-ant-oat01-xxxx\r\n"
    "content-type: application/json\r\n"
    "user-agent: claude-cli/2.0.0 (external, cli)\r\n"
    "x-app: cli\r\n"
    "X-Empty:\r\n"
    "X-Padded: \t value with  inner spaces \t \r\n"
    "accept-encoding: gzip, deflate, br, zstd\r\n"
    "content-length: 12\r\n"
    "\r\n";

// Beast's parse of the same bytes, to compare with.
struct BeastHead {
    http::request_parser<RequestBody> parser;
    boost::beast::error_code ec;
    std::size_t used = 0;
};

void beast_parse(std::string_view in, std::size_t limit, BeastHead& b) {
    b.parser.header_limit(static_cast<std::uint32_t>(limit));
    b.parser.body_limit(boost::none);
    b.parser.eager(false);
    b.used = b.parser.put(boost::asio::buffer(in.data(), in.size()), b.ec);
}

// Parses `in` both ways and expects the same message; returns the simple parse.
SimpleHead expect_same_as_beast(std::string_view in, ClientRequest& simple, std::size_t limit = kLimit) {
    const SimpleHead s = parse_simple_head(in, limit, simple);
    EXPECT_EQ(s.result, Result::complete) << in;
    BeastHead b;
    beast_parse(in, limit, b);
    EXPECT_FALSE(b.ec) << b.ec.message();
    EXPECT_TRUE(b.parser.is_header_done());
    EXPECT_EQ(s.size, b.used);
    const auto& m = b.parser.get();
    EXPECT_EQ(simple.method(), m.method());
    EXPECT_EQ(simple.method_string(), m.method_string());
    EXPECT_EQ(simple.target(), m.target());
    EXPECT_EQ(simple.version(), m.version());
    EXPECT_EQ(simple.keep_alive(), m.keep_alive());
    const auto fields = testing::in_beast_order(simple.fields());
    auto a = fields.begin();
    for (const auto& f : m) {
        if (a == fields.end()) {
            ADD_FAILURE() << "Beast has more fields, from " << f.name_string();
            break;
        }
        EXPECT_EQ(a->known, f.name());
        EXPECT_EQ(a->name, f.name_string());
        EXPECT_EQ(a->value, f.value());
        ++a;
    }
    EXPECT_TRUE(a == fields.end());
    EXPECT_EQ(s.content_length.has_value(), b.parser.content_length().has_value());
    if (s.content_length && b.parser.content_length()) {
        EXPECT_EQ(*s.content_length, *b.parser.content_length());
    }
    EXPECT_FALSE(b.parser.chunked());
    return s;
}

Result simple_result(std::string_view in, std::size_t limit = kLimit) {
    ClientRequest req;
    return parse_simple_head(in, limit, req).result;
}

TEST(SimpleHead, ClaudeCodesHeadIsTheMessageBeastMakes) {
    const std::string in = kClaudeHead + "{\"model\":1}";
    ClientRequest req;
    const SimpleHead s = expect_same_as_beast(in, req);
    EXPECT_EQ(s.size, kClaudeHead.size());  // the body is not the head's
    ASSERT_TRUE(s.content_length.has_value());
    EXPECT_EQ(*s.content_length, 12u);
    EXPECT_EQ(req.method(), http::verb::post);
    EXPECT_EQ(req.target(), "/v1/messages?beta=true");
    EXPECT_EQ(req.version(), 11u);
    EXPECT_EQ(req.value("x-padded"), "value with  inner spaces");
    EXPECT_EQ(req.value("X-PADDED"), "value with  inner spaces");  // names without regard to case
    ASSERT_NE(req.find("X-Empty"), nullptr);
    EXPECT_EQ(req.value("X-Empty"), "");
    EXPECT_EQ(req.find("x-absent"), nullptr);
    EXPECT_EQ(req.value(http::field::authorization), "Bearer sk-ant-oat01-xxxx");
    EXPECT_EQ(req.find(http::field::expect), nullptr);
    EXPECT_EQ(req.fields().size(), 17u);
    // Repeated fields keep their order and both values; find() gives the first.
    EXPECT_EQ(req.value("anthropic-beta"), "claude-code-20250219,interleaved-thinking-2025-05-14");
    std::vector<std::string_view> betas;
    for (const HeadField& f : req) {
        if (f.name == "anthropic-beta") betas.push_back(f.value);
    }
    EXPECT_EQ(betas, (std::vector<std::string_view>{"claude-code-20250219,interleaved-thinking-2025-05-14",
                                                     "fine-grained-tool-streaming-2025-05-14"}));
    EXPECT_TRUE(req.keep_alive());
}

TEST(SimpleHead, FieldsStayInWireOrderWhereBeastGroupsRepeatedNames) {
    // What the relay forwards upstream is the order the client sent (as nginx forwards it).
    ClientRequest req;
    expect_same_as_beast("POST /v1/messages HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nX-B: 2\r\nx-a: 3\r\n\r\n", req);
    std::vector<std::string_view> names;
    for (const HeadField& f : req) names.push_back(f.name);
    EXPECT_EQ(names, (std::vector<std::string_view>{"Host", "X-A", "X-B", "x-a"}));
}

TEST(SimpleHead, ViewsFollowTheHeadWhenItsBytesMove) {
    // The session copies a parsed head out of its read buffer and rebases the views onto the copy.
    std::string in = "POST /v1/messages?beta=true HTTP/1.1\r\nHost: a\r\nX-Api-Key: k\r\n\r\n";
    ClientRequest req;
    const SimpleHead s = parse_simple_head(in, kLimit, req);
    ASSERT_EQ(s.result, Result::complete);
    const std::string copy = in.substr(0, s.size);
    req.rebase(in.data(), copy.data());
    in.assign(in.size(), '#');  // the old bytes are gone
    EXPECT_EQ(req.method_string(), "POST");
    EXPECT_EQ(req.target(), "/v1/messages?beta=true");
    EXPECT_EQ(req.value(http::field::host), "a");
    EXPECT_EQ(req.value("x-api-key"), "k");
    EXPECT_EQ(req.fields()[1].name, "X-Api-Key");
}

TEST(SimpleHead, VersionsMethodsAndBodilessHeads) {
    {
        ClientRequest req;
        expect_same_as_beast("GET /health HTTP/1.0\r\n\r\n", req);
        EXPECT_EQ(req.version(), 10u);
        EXPECT_FALSE(req.keep_alive());
    }
    {
        ClientRequest req;  // a method Beast has no verb for keeps its name
        expect_same_as_beast("FROB /x HTTP/1.1\r\nHost: a\r\nConnection: close , Foo\r\n\r\n", req);
        EXPECT_EQ(req.method(), http::verb::unknown);
        EXPECT_EQ(req.method_string(), "FROB");
        EXPECT_FALSE(req.keep_alive());
    }
    {
        ClientRequest req;
        const auto s = expect_same_as_beast("HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 000\r\n\r\n", req);
        EXPECT_EQ(*s.content_length, 0u);
    }
    {
        ClientRequest req;  // bytes >= 0x80 in a value (obs-text) are a value's bytes
        expect_same_as_beast("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xc3\xa9\r\n\r\n", req);
    }
}

TEST(SimpleHead, AHeadStillArrivingIsIncomplete) {
    EXPECT_EQ(simple_result(""), Result::incomplete);
    EXPECT_EQ(simple_result("POST /v1/messages HTTP/1.1\r\nHost: a\r\n"), Result::incomplete);
    EXPECT_EQ(simple_result(kClaudeHead.substr(0, kClaudeHead.size() - 1)), Result::incomplete);
}

TEST(SimpleHead, AHeadThatDoesNotEndInsideTheLimitIsBeasts) {
    EXPECT_EQ(simple_result(kClaudeHead, kClaudeHead.size() + 1), Result::complete);
    EXPECT_EQ(simple_result(kClaudeHead, kClaudeHead.size()), Result::not_simple);
    EXPECT_EQ(simple_result(kClaudeHead, 100), Result::not_simple);
    // Beast's own verdict at that limit is an error, which the session turns into a 431.
    BeastHead b;
    beast_parse(kClaudeHead, 100, b);
    EXPECT_EQ(b.ec, http::error::header_limit);
}

TEST(SimpleHead, EverythingOutsideTheSubsetIsLeftToBeast) {
    const std::string host = "GET / HTTP/1.1\r\nHost: a\r\n";
    const char* cases[] = {
        "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456789\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive,,close\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: \"close\"\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n",          // obs-fold
        "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n\tb\r\n\r\n",
        "GET / HTTP/1.1\nHost: a\r\n\r\n",                               // bare LF
        "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",                        // bare CR
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",                             // space before the colon
        "GET / HTTP/1.1\r\n: a\r\n\r\n",                                  // empty name
        "GET / HTTP/1.1\r\nX(y): a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n",
        " GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
        "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        "GET / http/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
        "GET /\r\n\r\n",
        "GET\r\n\r\n",
    };
    for (const char* c : cases) EXPECT_EQ(simple_result(c), Result::not_simple) << c;
    EXPECT_EQ(simple_result(host + "\r\n"), Result::complete);
}

// ---- parse_simple_response_head: an upstream's answer ----

// What Anthropic answers a stream with (values shortened), and a chunk of its body after it.
const std::string kAnthropicHead =
    "HTTP/1.1 200 OK\r\n"
    "Date: Sun, 29 Nov 2026 08:00:00 GMT\r\n"
    "Content-Type: text/event-stream; charset=utf-8\r\n"
    "Transfer-Encoding: chunked\r\n"
    "Connection: keep-alive\r\n"
    "Cache-Control: no-cache\r\n"
    "anthropic-ratelimit-input-tokens-limit: 2000000\r\n"
    "anthropic-ratelimit-input-tokens-remaining: 1999000\r\n"
    "anthropic-ratelimit-input-tokens-reset: 2026-11-29T08:00:01Z\r\n"
    "anthropic-ratelimit-output-tokens-limit: 400000\r\n"
    "anthropic-ratelimit-output-tokens-remaining: 400000\r\n"
    "anthropic-ratelimit-output-tokens-reset: 2026-11-29T08:00:00Z\r\n"
    "anthropic-ratelimit-requests-limit: 4000\r\n"
    "anthropic-ratelimit-requests-remaining: 3999\r\n"
    "anthropic-ratelimit-requests-reset: 2026-11-29T08:00:00Z\r\n"
    "request-id: req_011CV\r\n"
    "strict-transport-security: max-age=31536000; includeSubDomains; preload\r\n"
    "anthropic-organization-id: 1234\r\n"
    "via: 1.1 google\r\n"
    "cf-cache-status: DYNAMIC\r\n"
    "X-Robots-Tag: none\r\n"
    "Server: cloudflare\r\n"
    "CF-RAY: 8f00-SJC\r\n"
    "\r\n";

struct BeastResponse {
    http::response_parser<http::buffer_body> parser;
    boost::beast::error_code ec;
    std::size_t used = 0;
};

void beast_parse(std::string_view in, BeastResponse& b) {
    b.parser.header_limit(static_cast<std::uint32_t>(kLimit));
    b.parser.body_limit(boost::none);
    b.used = b.parser.put(boost::asio::buffer(in.data(), in.size()), b.ec);
}

// Parses `in` both ways and expects the same status, reason, fields and framing; returns the
// simple parse.
SimpleHead expect_same_response(std::string_view in, ResponseHead& simple) {
    const SimpleHead s = parse_simple_response_head(in, kLimit, simple);
    EXPECT_EQ(s.result, Result::complete) << in;
    BeastResponse b;
    beast_parse(in, b);
    EXPECT_TRUE(!b.ec || b.ec == http::error::need_buffer) << b.ec.message();
    EXPECT_TRUE(b.parser.is_header_done());
    EXPECT_EQ(s.size, b.used);
    const auto& m = b.parser.get();
    EXPECT_EQ(simple.status, m.result_int());
    if (!simple.reason.empty()) {  // Beast gives an empty one its status's standard reason
        EXPECT_EQ(simple.reason, std::string_view(m.reason()));
    }
    EXPECT_EQ(m.version(), 11u);
    const auto fields = testing::in_beast_order(simple);
    auto a = fields.begin();
    for (const auto& f : m) {
        if (a == fields.end()) {
            ADD_FAILURE() << "Beast has more fields, from " << f.name_string();
            break;
        }
        EXPECT_EQ(a->known, f.name());
        EXPECT_EQ(a->name, std::string_view(f.name_string()));
        EXPECT_EQ(a->value, std::string_view(f.value()));
        ++a;
    }
    EXPECT_TRUE(a == fields.end());
    EXPECT_EQ(s.content_length.has_value(), b.parser.content_length().has_value());
    if (s.content_length && b.parser.content_length()) {
        EXPECT_EQ(*s.content_length, *b.parser.content_length());
    }
    EXPECT_EQ(s.chunked, b.parser.chunked());
    if (simple_response_status(simple.status)) {
        EXPECT_EQ(!s.close && (s.content_length || s.chunked), b.parser.keep_alive()) << in;
    }
    return s;
}

TEST(SimpleHead, FieldOfIsBeastsLookupWithoutTheFamiliesBeastHasNoNameIn) {
    // The short cut is sound only while no name in Beast's table starts with either prefix.
    for (unsigned i = 1; i <= static_cast<unsigned>(http::field::xref); ++i) {
        const auto f = static_cast<http::field>(i);
        const std::string_view name = http::to_string(f);
        EXPECT_EQ(ccr::worker::field_of(name), f) << name;
        std::string lower(name);
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        EXPECT_FALSE(lower.starts_with("x-stainless-") || lower.starts_with("anthropic-")) << name;
    }
    for (const char* name : {"X-Stainless-Retry-Count", "x-stainless-lang", "anthropic-beta", "Anthropic-Version",
                             "X-Stainless-", "anthropic-"}) {
        EXPECT_EQ(ccr::worker::field_of(name), http::field::unknown) << name;
    }
    EXPECT_EQ(ccr::worker::field_of("X-Stainless"), http::string_to_field("X-Stainless"));
    EXPECT_EQ(ccr::worker::field_of("content-length"), http::field::content_length);
    EXPECT_EQ(ccr::worker::field_of("X-Frame-Options"), http::field::x_frame_options);
}

TEST(SimpleHead, HotNamesAreBeastsLookup) {
    // Every name field_of finds by its own table, in any case, and every near miss of one (a byte
    // changed, one short, one more), gets Beast's answer.
    const std::vector<std::string_view> hot = hot_field_names();
    ASSERT_GE(hot.size(), 20u);
    auto same = [](const std::string& name) {
        EXPECT_EQ(field_of(name), http::string_to_field(name)) << name;
    };
    for (const std::string_view h : hot) {
        std::string lower(h), upper(h), title(h);
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        for (std::size_t i = 0; i < title.size(); ++i) {
            if (i == 0 || title[i - 1] == '-') title[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(title[i])));
        }
        for (const std::string& n : {lower, upper, title}) same(n);
        EXPECT_EQ(field_of(title), field_of(lower)) << title;
        for (std::size_t i = 0; i < lower.size(); ++i) {
            // A letter one off, '-' as '_', and the bytes a blind OR with 0x20 would have folded
            // onto the name's: a control byte for '-' or a digit, '@' to '`' against a letter.
            for (const char c : {static_cast<char>(lower[i] + 1), '_', static_cast<char>(lower[i] & ~0x20),
                                 static_cast<char>(lower[i] - 0x21)}) {
                std::string m = lower;
                m[i] = c;
                same(m);
            }
        }
        same(lower.substr(0, lower.size() - 1));
        same(lower + "s");
        same(title + "-");
    }
    EXPECT_EQ(field_of("Content-Type"), http::field::content_type);
    EXPECT_EQ(field_of("X-API-KEY"), http::field::unknown);
}

TEST(SimpleResponseHead, AnthropicsStreamHeadIsTheMessageBeastMakes) {
    const std::string in = kAnthropicHead + "1a\r\nevent: message_start\r\n";
    ResponseHead res;
    const SimpleHead s = expect_same_response(in, res);
    EXPECT_EQ(s.size, kAnthropicHead.size());
    EXPECT_TRUE(s.chunked);
    EXPECT_FALSE(s.close);
}

TEST(SimpleResponseHead, LengthsConnectionsReasonsAndStatuses) {
    for (const std::string& in : {
             std::string("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 42\r\n\r\n"),
             std::string("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
             std::string("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 3\r\n\r\n"),
             std::string("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"),  // ends with the connection
             std::string("HTTP/1.1 201 \r\nContent-Length: 1\r\n\r\n"),            // an empty reason
             std::string("HTTP/1.1 200 Fine \t thanks\r\ntransfer-encoding: CHUNKED\r\n\r\n"),
             std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nX-Empty:\r\n\r\n"),
             std::string("HTTP/1.1 529 Overloaded\r\nretry-after: 3\r\nContent-Length: 9\r\n\r\n"),
             std::string("HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\n"),  // no body: keep-alive not compared
         }) {
        ResponseHead res;
        expect_same_response(in, res);
    }
}

TEST(SimpleResponseHead, RepeatedNamesKeepTheWireOrder) {
    const std::string in = "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nContent-Length: 0\r\nset-cookie: b=2\r\n\r\n";
    ResponseHead res;
    expect_same_response(in, res);  // the same fields as Beast's, in its order
    ASSERT_EQ(res.fields.size(), 3u);
    EXPECT_EQ(res.fields[0].value, "a=1");
    EXPECT_EQ(res.fields[1].name, "Content-Length");
    EXPECT_EQ(res.fields[2].value, "b=2");
}

TEST(SimpleResponseHead, AHeadStillArrivingIsIncomplete) {
    for (std::size_t n = 0; n < kAnthropicHead.size(); ++n) {
        ResponseHead res;
        EXPECT_EQ(parse_simple_response_head(std::string_view(kAnthropicHead).substr(0, n), kLimit, res).result,
                  Result::incomplete)
            << n;
    }
}

TEST(SimpleResponseHead, EverythingOutsideTheSubsetIsLeftToBeast) {
    for (const std::string& in : {
             std::string("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n"),
             std::string("HTTP/2 200 OK\r\n\r\n"),
             std::string("HTTP/1.1 20 OK\r\n\r\n"),
             std::string("HTTP/1.1 2000 OK\r\n\r\n"),
             std::string("HTTP/1.1 099 OK\r\n\r\n"),
             std::string("HTTP/1.1 200OK\r\n\r\n"),
             std::string("HTTP/1.1 200 O\x01K\r\n\r\n"),
             std::string("HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\n"),
             std::string("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"),
             std::string("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
             std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"),
             std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
             std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
             std::string("HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n"),
             std::string("HTTP/1.1 200 OK\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n"),
             std::string("HTTP/1.1 200 OK\r\nConnection: close, x-hop\r\n\r\n"),
             std::string("HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\n\r\n"),
             std::string("HTTP/1.1 200 OK\r\nBad Name: a\r\n\r\n"),
             std::string("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"),
         }) {
        ResponseHead res;
        EXPECT_EQ(parse_simple_response_head(in, kLimit, res).result, Result::not_simple) << in;
    }
    // A head that does not end inside the limit.
    ResponseHead res;
    EXPECT_EQ(parse_simple_response_head(kAnthropicHead, kAnthropicHead.size() - 1, res).result, Result::not_simple);
}

}  // namespace
}  // namespace ccr::worker
