#pragma once
// Step 6's tap: reads token usage out of a response as it passes, without touching the bytes.
// SSE: `message_start` (message.usage) and `message_delta` (usage, overwriting) data lines.
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
    /// The body ended; parses a buffered JSON body.
    void finish();

    const Usage& usage() const { return usage_; }
    /// Number of SSE events seen (blank-line terminated).
    std::uint64_t events() const { return events_; }

private:
    void on_line(std::string_view line);
    void parse_usage_json(std::string_view json, bool is_start);

    Mode mode_;
    Usage usage_;
    std::uint64_t events_ = 0;
    std::string line_;        // partial SSE line carried across chunks (only lines we read)
    bool skipping_ = false;   // inside a line we do not need; drop bytes until '\n'
    bool at_line_start_ = true;
    std::string json_;        // buffered JSON body (bounded), with simdjson's padding reserved
    std::string padded_;      // an SSE data line read, with simdjson's padding reserved
    bool json_overflow_ = false;
};

/// Largest JSON body the tap buffers to read `usage`; larger answers are relayed untapped.
inline constexpr std::size_t kMaxTappedJson = 4 * 1024 * 1024;

}  // namespace ccr::worker
