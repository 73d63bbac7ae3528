// The Bedrock event-stream decoder (worker/providers/aws/event_stream.h) on any upstream body.
// Each input is decoded twice: as it is (CRC failures and all), and with its frames' lengths
// clamped and both CRCs recomputed, so the fuzzer reaches headers and payloads instead of
// stopping at the prelude CRC; a known `message_stop` frame follows the fixed-up stream.
// Asserts: the same output, result and failure whether the bytes arrive whole, byte by byte or
// cut at input-chosen points; the output is a sequence of `event: T\ndata: D\n\n` events with no
// CR or LF inside T or D; a failed stream ends with exactly one `event: error` whose data is an
// Anthropic error object; and a stream that did not fail ends with the known frame's event (no
// frame boundary is lost).

#include <boost/crc.hpp>
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "tests/fuzz/check.h"
#include "tests/fuzz/splits.h"
#include "worker/providers/aws/event_stream.h"

namespace {

using ccr::worker::aws::EventStreamDecoder;

struct Decoded {
    std::string out;
    bool fed_ok = true;
    bool finished_ok = true;
    bool failed = false;
};

template <class Feed>
Decoded decode(Feed feed) {
    EventStreamDecoder d;
    Decoded r;
    feed([&](std::string_view piece) {
        const bool ok = d.feed(std::span<const char>(piece.data(), piece.size()), r.out);
        FUZZ_CHECK(ok == !d.failed(), "feed() returned %d with failed() %d", ok, d.failed());
        r.fed_ok = r.fed_ok && ok;
    });
    r.finished_ok = d.finish(r.out);
    r.failed = d.failed();
    FUZZ_CHECK(r.finished_ok == !r.failed, "finish() returned %d with failed() %d", r.finished_ok,
               r.failed);
    return r;
}

void check_sse(const Decoded& d) {
    std::string_view rest = d.out;
    std::string_view last_event, last_data;
    std::size_t errors = 0;
    while (!rest.empty()) {
        FUZZ_CHECK(rest.starts_with("event: "), "output is not an SSE event: %.80s",
                   std::string(rest.substr(0, 80)).c_str());
        rest.remove_prefix(7);
        const std::size_t nl = rest.find('\n');
        FUZZ_CHECK(nl != std::string_view::npos, "event line without its end");
        last_event = rest.substr(0, nl);
        rest.remove_prefix(nl + 1);
        FUZZ_CHECK(rest.starts_with("data: "), "event without its data line");
        rest.remove_prefix(6);
        const std::size_t end = rest.find("\n\n");
        FUZZ_CHECK(end != std::string_view::npos, "data line without its blank line");
        last_data = rest.substr(0, end);
        rest.remove_prefix(end + 2);
        FUZZ_CHECK(last_event.find('\r') == std::string_view::npos, "CR in an event name");
        FUZZ_CHECK(last_data.find_first_of("\r\n") == std::string_view::npos,
                   "CR or LF in a data line");
        if (last_event == "error") ++errors;
    }
    if (!d.failed) return;
    FUZZ_CHECK(last_event == "error", "a failed stream ends with `event: %s`",
               std::string(last_event).c_str());
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    FUZZ_CHECK(!parser.parse(last_data.data(), last_data.size()).get(doc),
               "the terminal error is not JSON: %s", std::string(last_data).c_str());
    std::string_view type, error_type, message;
    FUZZ_CHECK(!doc["type"].get(type) && type == "error" && !doc["error"]["type"].get(error_type) &&
                   !doc["error"]["message"].get(message),
               "the terminal error is not an Anthropic error: %s", std::string(last_data).c_str());
    FUZZ_CHECK(error_type == "api_error" || error_type == "rate_limit_error" ||
                   error_type == "overloaded_error" || error_type == "invalid_request_error",
               "unexpected error type %s", std::string(error_type).c_str());
}

void check(std::string_view stream, std::string_view must_end_with = {}) {
    const Decoded whole = decode([&](auto feed) { feed(stream); });
    check_sse(whole);
    const Decoded bytes = decode([&](auto feed) {
        for (std::size_t i = 0; i < stream.size(); ++i) feed(stream.substr(i, 1));
    });
    const Decoded cut = decode([&](auto feed) {
        for (std::string_view p : ccr::fuzz::pieces(stream, ccr::fuzz::cut_points(stream, 3))) feed(p);
    });
    for (const Decoded* other : {&bytes, &cut}) {
        FUZZ_CHECK(other->out == whole.out, "output depends on the chunking:\n%s\n---\n%s",
                   whole.out.c_str(), other->out.c_str());
        FUZZ_CHECK(other->fed_ok == whole.fed_ok && other->finished_ok == whole.finished_ok &&
                       other->failed == whole.failed,
                   "result depends on the chunking");
    }
    if (!must_end_with.empty() && !whole.failed) {
        FUZZ_CHECK(std::string_view(whole.out).ends_with(must_end_with),
                   "the stream's last frame was not decoded: %s", whole.out.c_str());
    }
}

std::uint32_t be32(const char* p) {
    auto b = reinterpret_cast<const unsigned char*>(p);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
           std::uint32_t{b[3]};
}

void put_be32(char* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (24 - 8 * i));
}

std::uint32_t crc32(const char* p, std::size_t n) {
    boost::crc_32_type crc;
    crc.process_bytes(p, n);
    return crc.checksum();
}

// Clamps each frame's lengths to what is there and rewrites both CRCs; a tail too short to be a
// frame is dropped.
std::string fix_up(std::string_view in) {
    std::string out(in);
    std::size_t pos = 0;
    while (out.size() - pos >= 16) {
        char* f = out.data() + pos;
        const std::size_t left = out.size() - pos;
        std::uint32_t total = be32(f);
        if (total < 16 || total > left) total = static_cast<std::uint32_t>(left);
        std::uint32_t headers = be32(f + 4);
        if (headers > total - 16) headers %= total - 16 + 1;
        put_be32(f, total);
        put_be32(f + 4, headers);
        put_be32(f + 8, crc32(f, 8));
        put_be32(f + total - 4, crc32(f, total - 4));
        pos += total;
    }
    out.resize(pos);
    return out;
}

void append_header(std::string& h, std::string_view name, std::string_view value) {
    h += static_cast<char>(name.size());
    h += name;
    h += '\x07';
    h += static_cast<char>(value.size() >> 8);
    h += static_cast<char>(value.size() & 0xff);
    h += value;
}

std::string frame(std::string_view headers, std::string_view payload) {
    std::string f(12, '\0');
    put_be32(f.data(), static_cast<std::uint32_t>(12 + headers.size() + payload.size() + 4));
    put_be32(f.data() + 4, static_cast<std::uint32_t>(headers.size()));
    put_be32(f.data() + 8, crc32(f.data(), 8));
    f += headers;
    f += payload;
    f.resize(f.size() + 4);
    put_be32(f.data() + f.size() - 4, crc32(f.data(), f.size() - 4));
    return f;
}

const std::string& stop_frame() {
    static const std::string f = [] {
        std::string h;
        append_header(h, ":event-type", "chunk");
        append_header(h, ":content-type", "application/json");
        append_header(h, ":message-type", "event");
        return frame(h, R"({"bytes":"eyJ0eXBlIjoibWVzc2FnZV9zdG9wIn0=","p":"abcd"})");
    }();
    return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view raw(reinterpret_cast<const char*>(data), size);
    check(raw);
    check(fix_up(raw) + stop_frame(), "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    return 0;
}
