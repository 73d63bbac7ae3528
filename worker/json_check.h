#pragma once
// Full JSON validation of a request body (RFC 8259 grammar, nesting bounded) without building
// anything: every value's grammar, escapes, control characters, numbers and literals, and the
// depth, so a body an upstream would parse differently, or not at all, is refused with a 400
// instead of being forwarded. UTF-8 is not its business (body.cc checks it with simdjson's
// validator, from the first byte >= 0x80 this check saw). The same walk hands back where the
// top-level object's members are, which is all that the relay reads of a body (inspect_body):
// one pass over the body, not two.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

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
    /// Valid text only: every byte before it is ASCII, so UTF-8 validation may start there (the
    /// text's size when all of it is ASCII). The scan sees every byte of every string, and a
    /// byte >= 0x80 anywhere else is a grammar fault.
    std::size_t ascii_prefix = 0;
    explicit operator bool() const { return !what.empty(); }
};

/// A member of the top-level object, as byte offsets: its name's string literal (quotes included,
/// escapes as written) and its value (a string value with its quotes).
struct JsonMember {
    std::size_t key = 0, key_end = 0;
    std::size_t value = 0, value_end = 0;
};

/// Checks that `text` is exactly one JSON value with optional whitespace around it. With
/// `members`, and a top-level object, also lists its members in order (cleared first; complete
/// only when the text is valid).
JsonFault check_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth,
                     std::vector<JsonMember>* members = nullptr);

}  // namespace ccr::worker
