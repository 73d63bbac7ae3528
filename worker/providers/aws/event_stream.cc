#include "worker/providers/aws/event_stream.h"

#include <algorithm>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/crc.hpp>
#include <cstring>

#include "shared/util/json.h"
#include "worker/json_parser.h"

namespace ccr::worker::aws {

namespace {

namespace base64 = boost::beast::detail::base64;

constexpr std::size_t kPrelude = 12;  // total_length, headers_length, prelude_crc

std::uint32_t be32(const char* p) {
    auto b = reinterpret_cast<const unsigned char*>(p);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
           std::uint32_t{b[3]};
}

std::uint32_t crc32(const char* p, std::size_t n) {
    boost::crc_32_type crc;
    crc.process_bytes(p, n);
    return crc.checksum();
}

struct Headers {
    std::string_view message_type, event_type, exception_type, error_code, error_message;
};

// Fixed value sizes of header types 0..9 (-1: uint16 length-prefixed, types 6 and 7).
constexpr int kValueSize[10] = {0, 0, 1, 2, 4, 8, -1, -1, 8, 16};

/// nullptr on success, otherwise what is wrong.
const char* parse_headers(std::string_view h, Headers& out) {
    std::size_t i = 0;
    while (i < h.size()) {
        std::size_t name_len = static_cast<unsigned char>(h[i++]);
        if (name_len == 0 || h.size() - i < name_len + 1) return "malformed header name";
        std::string_view name = h.substr(i, name_len);
        i += name_len;
        unsigned type = static_cast<unsigned char>(h[i++]);
        if (type > 9) return "unknown header value type";
        std::size_t len = 0;
        if (kValueSize[type] >= 0) {
            len = static_cast<std::size_t>(kValueSize[type]);
        } else {
            if (h.size() - i < 2) return "malformed header value";
            len = (std::size_t{static_cast<unsigned char>(h[i])} << 8) |
                  static_cast<unsigned char>(h[i + 1]);
            i += 2;
        }
        if (h.size() - i < len) return "malformed header value";
        if (type == 7) {
            std::string_view value = h.substr(i, len);
            if (name == ":message-type")
                out.message_type = value;
            else if (name == ":event-type")
                out.event_type = value;
            else if (name == ":exception-type")
                out.exception_type = value;
            else if (name == ":error-code")
                out.error_code = value;
            else if (name == ":error-message")
                out.error_message = value;
        }
        i += len;
    }
    return nullptr;
}

/// Strict padded base64 (the alphabet Bedrock uses); false on anything else.
bool decode_base64(std::string_view in, std::string& out) {
    std::size_t data_len = in.size();
    if (data_len % 4 != 0) return false;
    for (int pad = 0; pad < 2 && data_len > 0 && in[data_len - 1] == '='; ++pad) --data_len;
    out.resize(base64::decoded_size(in.size()) + kJsonPadding);
    auto [written, read] = base64::decode(out.data(), in.data(), data_len);
    if (read != data_len) return false;
    out.resize(written);
    return true;
}

}  // namespace

void append_sse_error(std::string& out, std::string_view type, std::string_view message) {
    out += "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":";
    shared::append_json_string(out, type);
    out += ",\"message\":";
    shared::append_json_string(out, message);
    out += "}}\n\n";
}

std::string_view stream_exception_error_type(std::string_view exception_type) {
    if (exception_type == "throttlingException") return "rate_limit_error";
    if (exception_type == "serviceUnavailableException") return "overloaded_error";
    if (exception_type == "validationException") return "invalid_request_error";
    return "api_error";
}

EventStreamDecoder::EventStreamDecoder() : parser_(make_json_parser()) {}
EventStreamDecoder::~EventStreamDecoder() = default;

bool EventStreamDecoder::feed(std::span<const char> in, std::string& out) {
    if (failed_) return false;
    while (!in.empty()) {
        if (partial_.empty()) {
            // Between frames: decode whole frames straight from the input, without copying.
            if (in.size() >= kPrelude) {
                if (!check_prelude(in.data(), out)) return false;
                if (in.size() >= expected_) {
                    std::string_view msg(in.data(), expected_);
                    in = in.subspan(expected_);
                    expected_ = 0;
                    if (!on_message(msg, out)) return false;
                    continue;
                }
                partial_.reserve(expected_);
            }
            partial_.append(in.data(), in.size());
            return true;
        }
        // A frame in progress: first complete its prelude (to learn its length), then its body.
        std::size_t want = expected_ ? expected_ : kPrelude;
        std::size_t take = std::min(want - partial_.size(), in.size());
        partial_.append(in.data(), take);
        in = in.subspan(take);
        if (partial_.size() < want) return true;
        if (!expected_) {
            if (!check_prelude(partial_.data(), out)) return false;
            partial_.reserve(expected_);
            continue;
        }
        bool ok = on_message(partial_, out);
        partial_.clear();  // keeps its capacity for the next split frame
        expected_ = 0;
        if (!ok) return false;
    }
    return true;
}

bool EventStreamDecoder::finish(std::string& out) {
    if (failed_) return false;
    if (!partial_.empty()) {
        return fail("api_error",
                    "Bedrock event stream: truncated message (the stream ended mid-frame)", out);
    }
    return true;
}

bool EventStreamDecoder::check_prelude(const char* p, std::string& out) {
    if (crc32(p, 8) != be32(p + 8))
        return fail("api_error", "Bedrock event stream: prelude CRC mismatch", out);
    std::uint32_t total = be32(p);
    std::uint32_t headers = be32(p + 4);
    if (total < kEventStreamMinMessage || total > kEventStreamMaxMessage) {
        return fail(
            "api_error",
            "Bedrock event stream: message length " + std::to_string(total) + " out of range", out);
    }
    if (headers > total - kEventStreamMinMessage) {
        return fail("api_error", "Bedrock event stream: headers length exceeds the message", out);
    }
    expected_ = total;
    return true;
}

bool EventStreamDecoder::on_message(std::string_view msg, std::string& out) {
    std::size_t body_end = msg.size() - 4;
    if (crc32(msg.data(), body_end) != be32(msg.data() + body_end)) {
        return fail("api_error", "Bedrock event stream: message CRC mismatch", out);
    }
    std::uint32_t headers_len = be32(msg.data() + 4);
    Headers h;
    if (const char* why = parse_headers(msg.substr(kPrelude, headers_len), h)) {
        return fail("api_error", std::string("Bedrock event stream: ") + why, out);
    }
    std::string_view payload =
        msg.substr(kPrelude + headers_len, body_end - kPrelude - headers_len);
    if (h.message_type == "event") {
        return h.event_type == "chunk" ? on_chunk(payload, out) : true;
    }
    if (h.message_type == "exception") return on_exception(h.exception_type, payload, out);
    if (h.message_type == "error") {
        std::string_view message = !h.error_message.empty() ? h.error_message
                                   : !h.error_code.empty()  ? h.error_code
                                                            : "Bedrock event stream error";
        return fail("api_error", message, out);
    }
    return true;  // a message type this protocol version does not define: skip it
}

bool EventStreamDecoder::on_chunk(std::string_view payload, std::string& out) {
    std::string_view b64;
    if (!top_level_string(json_buf_, payload, "bytes", b64)) return true;  // nothing to relay
    if (!decode_base64(b64, event_buf_)) {
        return fail("api_error", "Bedrock event stream: chunk bytes are not valid base64", out);
    }
    std::string_view event = event_buf_;
    std::string_view type;
    {
        PaddedJson padded(event, event_buf_.capacity());
        simdjson::ondemand::document doc;
        simdjson::ondemand::object obj;
        if (parser_->parser.iterate(padded.view).get(doc) || doc.get_object().get(obj) ||
            obj.find_field_unordered("type").get_string().get(type)) {
            return true;  // no string `type`: a gateway keep-alive, dropped as the SDKs do
        }
    }
    if (type.find_first_of("\r\n") != std::string_view::npos) return true;
    out.reserve(out.size() + type.size() + event.size() + 17);
    out.append("event: ").append(type).append("\ndata: ");
    std::size_t start = out.size();
    out.append(event);
    std::replace_if(
        out.begin() + static_cast<std::ptrdiff_t>(start), out.end(),
        [](char c) { return c == '\n' || c == '\r'; }, ' ');
    out.append("\n\n");
    return true;
}

bool EventStreamDecoder::on_exception(std::string_view name,
                                      std::string_view payload,
                                      std::string& out) {
    std::string_view type = stream_exception_error_type(name);
    std::string_view message;
    if (top_level_string(json_buf_, payload, "message", message) ||
        top_level_string(json_buf_, payload, "Message", message)) {
        // `message` lives in the parser's buffer; copy before fail() can reuse anything.
        return fail(type, std::string(message), out);
    }
    return fail(type, name.empty() ? std::string_view("Bedrock stream exception") : name, out);
}

bool EventStreamDecoder::fail(std::string_view type, std::string_view message, std::string& out) {
    failed_ = true;
    append_sse_error(out, type, message);
    partial_.clear();
    expected_ = 0;
    return false;
}

bool EventStreamDecoder::top_level_string(std::string& buf,
                                          std::string_view json,
                                          std::string_view key,
                                          std::string_view& value) {
    if (json.empty()) return false;
    buf.reserve(json.size() + kJsonPadding);
    buf.assign(json.data(), json.size());
    PaddedJson padded(buf, buf.capacity());
    simdjson::ondemand::document doc;
    simdjson::ondemand::object obj;
    return !parser_->parser.iterate(padded.view).get(doc) && !doc.get_object().get(obj) &&
           !obj.find_field_unordered(key).get_string().get(value);
}

}  // namespace ccr::worker::aws
