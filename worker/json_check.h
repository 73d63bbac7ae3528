#pragma once
// Full JSON validation of a request body (RFC 8259 grammar, nesting bounded), for the parts the
// relay does not read itself. simdjson's on-demand pass (body.cc) has already checked UTF-8 and
// unescaped control characters over the whole body, and the top level's shape; this pass checks
// the rest without building anything: every value's grammar, escapes, numbers and literals, and
// the depth, so a body an upstream would parse differently, or not at all, is refused with a 400
// instead of being forwarded.

#include <cstddef>
#include <string>
#include <string_view>

namespace ccr::worker {

/// Deepest nesting of arrays and objects accepted (simdjson's default, so the relay refuses
/// exactly what its own parser could not read).
inline constexpr std::size_t kMaxJsonDepth = 1024;

struct JsonFault {
    std::size_t offset = 0;  // byte where the problem was found
    std::string what;        // empty: the text is valid JSON
    /// Valid text only: a string "redacted_thinking" anywhere, or "thinking" as an object
    /// member's value (written without escapes), which thinking blocks carry as their type. The
    /// walk sees every string anyway, so this costs the relay no pass of its own (thinking.h).
    bool mentions_thinking = false;
    explicit operator bool() const { return !what.empty(); }
};

/// Checks that `text` is exactly one JSON value with optional whitespace around it.
JsonFault check_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

}  // namespace ccr::worker
