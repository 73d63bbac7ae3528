#pragma once
// Step 6's tap: reads token usage out of a response as it passes, without touching the bytes.
// SSE: `message_start` (message.usage) and `message_delta` (usage, overwriting) data lines, found
// by a search for "message_" over each piece rather than line by line (row 26 of
// bench/analysis.md: the line-by-line walk was a fifth of a stream's instructions).
// JSON: the top-level `usage` of a complete Message.

#include <cstdint>
#include <string>
#include <string_view>

#include "worker/usage.h"

namespace ccr::worker {

class UsageTap {
public:
    enum class Mode { none, sse, json };
    explicit UsageTap(Mode mode = Mode::none) : mode_(mode) {}
    void reset(Mode mode);

    /// Feed the next piece of the response body, in order.
    void feed(std::string_view chunk);
    /// Feed the body's last piece, `readable` bytes from its start being readable (at least its
    /// size). A JSON answer that came whole in this one piece, with simdjson's padding readable
    /// after it, is read where it lies: no copy into the tap, no buffer of its own.
    void feed_last(std::string_view chunk, std::size_t readable);
    /// The body ended; parses a buffered JSON body.
    void finish();

    const Usage& usage() const { return usage_; }

private:
    void on_line(std::string_view line);
    void carry(std::string_view bytes);
    void parse_usage_json(std::string_view json, bool is_start);

    Mode mode_;
    Usage usage_;
    std::string line_;        // partial SSE line carried across chunks (only lines we read)
    bool carrying_ = false;   // the last piece ended inside a line
    bool skipping_ = false;   // ... one we do not need (not data, or too long): drop it
    std::string json_;        // buffered JSON body (bounded), with simdjson's padding reserved
    std::string padded_;      // an SSE data line read, with simdjson's padding reserved
    bool json_overflow_ = false;
};

/// Largest JSON body the tap buffers to read `usage`; larger answers are relayed untapped.
inline constexpr std::size_t kMaxTappedJson = 4 * 1024 * 1024;

}  // namespace ccr::worker
