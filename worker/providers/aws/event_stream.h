#pragma once
// Bedrock streaming responses (InvokeModelWithResponseStream) arrive as
// `application/vnd.amazon.eventstream` binary frames; the client expects Anthropic SSE. This
// decoder sits in the relay between the upstream body reader and the client sink and turns each
// frame into at most one SSE event, keeping only a partial frame between reads.
//
// Frame: uint32 total_length, uint32 headers_length, uint32 prelude_crc (CRC32 of bytes 0..8),
// headers, payload, uint32 message_crc (CRC32 of everything before it); big-endian, IEEE CRC32.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "worker/body.h"

namespace ccr::worker::aws {

/// Limits on one frame: 16 bytes is an empty message; AWS caps messages well below 16 MiB
/// (Bedrock parts are at most 1,000,000 bytes), so a larger length means a corrupt stream.
inline constexpr std::uint32_t kEventStreamMinMessage = 16;
inline constexpr std::uint32_t kEventStreamMaxMessage = 16u << 20;

/// Appends `event: error\ndata: {"type":"error","error":{"type":T,"message":M}}\n\n`.
void append_sse_error(std::string& out, std::string_view type, std::string_view message);

/// The Anthropic `error.type` for an event-stream `:exception-type` (camelCase, as Bedrock sends
/// it in a stream): throttlingException rate_limit_error, serviceUnavailableException
/// overloaded_error, validationException invalid_request_error, everything else (including
/// modelTimeoutException, internalServerException, modelStreamErrorException) api_error.
std::string_view stream_exception_error_type(std::string_view exception_type);

class EventStreamDecoder {
  public:
    EventStreamDecoder();
    ~EventStreamDecoder();
    EventStreamDecoder(const EventStreamDecoder&) = delete;
    EventStreamDecoder& operator=(const EventStreamDecoder&) = delete;

    /// Feeds the next bytes of the upstream body (any split: a frame across many calls, many
    /// frames in one). Appends SSE text to `out` for each complete message. Returns false once the
    /// stream is failed (bad CRC, malformed frame, or an exception message): `out` then ends with
    /// an `event: error` the caller writes as the stream's last event; further input is ignored.
    ///
    /// - `event`/`chunk`: the payload's base64 `bytes` decode to one Anthropic event, written as
    ///   `event: <its "type">\ndata: <the decoded JSON>\n\n`. The JSON is passed through as is,
    ///   except that raw CR/LF (only possible as insignificant whitespace) become spaces so the
    ///   data stays on one line. Decoded JSON without a string `type` (keep-alives) is dropped;
    ///   other event types are ignored.
    /// - `exception`: an error event typed by stream_exception_error_type(), message from the
    ///   payload's `message` or else the exception name.
    /// - `error`: an api_error with `:error-message` (or `:error-code`).
    bool feed(std::span<const char> in, std::string& out);
    /// The upstream body ended: false (and an `event: error` appended) when it ended mid-frame.
    /// Appends nothing when the stream had already failed.
    bool finish(std::string& out);
    bool failed() const { return failed_; }

  private:
    bool check_prelude(const char* prelude, std::string& out);
    bool on_message(std::string_view msg, std::string& out);
    bool on_chunk(std::string_view payload, std::string& out);
    bool on_exception(std::string_view name, std::string_view payload, std::string& out);
    bool fail(std::string_view type, std::string_view message, std::string& out);
    /// Copies `json` into `buf` with simdjson's padding and returns the value of its top-level
    /// string `key` (valid until the next parse), or false.
    bool top_level_string(std::string& buf,
                          std::string_view json,
                          std::string_view key,
                          std::string_view& value);

    std::string partial_;         // bytes of the frame in progress (empty between frames)
    std::uint32_t expected_ = 0;  // its total length once its prelude has been checked
    std::string json_buf_;        // padded copy of a payload for simdjson
    std::string event_buf_;       // padded base64-decoded Anthropic event
    std::unique_ptr<JsonParser, JsonParserDeleter> parser_;
    bool failed_ = false;
};

}  // namespace ccr::worker::aws
