#pragma once
// Thinking signatures across providers, the body side (step 3 of the request path, beside
// body.h). A `thinking` block's signature is bound to the provider that made it: Anthropic
// refuses another provider's with 400 "Invalid `signature` in `thinking` block", and other
// providers cannot verify Anthropic's. A conversation that must move to another provider is sent
// without the `thinking` and `redacted_thinking` blocks of its assistant messages, removed by
// splicing the original bytes so that nothing else changes, not a byte; and `thinking` is turned
// off for that request when the last assistant turn started with such a block, or the API answers
// "Expected `thinking` or `redacted_thinking`, but found `text`".
// Routing decides when to strip (affinity, the retry after is_invalid_signature_error); this file
// only finds the bytes and edits them.

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "worker/body.h"

namespace ccr::worker {

/// [offset, offset + length) of the body.
struct ByteRange {
    std::size_t offset = 0;
    std::size_t length = 0;
    friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

/// What scan_thinking() found. Nothing in it is meaningful unless `valid`.
struct ThinkingInfo {
    bool valid = false;  // the body is a JSON object that parsed to its end
    /// Some assistant message carries a thinking or redacted_thinking block.
    bool has_thinking = false;
    std::size_t block_count = 0;  // how many such blocks
    /// The bytes to remove, in increasing order, not overlapping: each block with one adjacent
    /// comma and the whitespace between, so the JSON stays valid. An assistant message whose
    /// content holds nothing but such blocks is removed whole (with one comma of the messages
    /// list): the API refuses empty content, and merges the neighbouring turns it leaves.
    std::vector<ByteRange> removals;
    /// The value of the top-level "thinking" member, when there is one.
    std::optional<ByteRange> thinking_value;
    /// That value is an object whose "type" is not "disabled" ("enabled", "adaptive").
    bool thinking_enabled = false;
    /// The content of the last assistant message starts with a thinking or redacted_thinking
    /// block.
    bool last_assistant_starts_with_thinking = false;
};

/// Whether scan_thinking() needs to run: `"redacted_thinking"` anywhere, or `"thinking"` as a
/// member's value. False means there is no block; true may be wrong (the scan decides). The
/// relay reads it from inspect_body (BodyInfo::may_carry_thinking, found by check_json's walk,
/// which sees every string); this runs that check alone, for the tests.
bool may_carry_thinking_blocks(std::string_view body);

/// Finds the thinking blocks of assistant messages and the top-level "thinking" member with
/// simdjson On-Demand. `capacity` is the allocated size behind body.data(), as for inspect_body().
ThinkingInfo scan_thinking(JsonParser& parser, std::string_view body, std::size_t capacity);

/// What replaces the top-level "thinking" value when stripping turns thinking off.
inline constexpr std::string_view kThinkingDisabled = R"({"type":"disabled"})";

/// Whether strip_thinking() turns thinking off: it is on and the last assistant turn, which
/// started with a thinking block, no longer will.
bool disables_thinking(const ThinkingInfo& info);

/// Adds to `splice` the removals of `info`, and the replacement of the "thinking" value by
/// kThinkingDisabled when disables_thinking(). Other edits of the same body (the model name) may
/// be in `splice` already or come later: they do not overlap these. Returns false, and adds
/// nothing, when `info` is not valid or one of its edits would overlap an edit in `splice`.
bool strip_thinking(const ThinkingInfo& info, BodySplice& splice);

/// Whether a provider's 400 body is about thinking blocks it could not accept as sent: an
/// invalid or missing signature ("Invalid `signature` in `thinking` block",
/// "messages.1.content.0.thinking.signature: Field required"), a modified block ("thinking
/// blocks ... cannot be modified"), or a turn that must start with one ("Expected `thinking` or
/// `redacted_thinking`, but found `text`"). Removing the blocks answers each of these.
bool is_invalid_signature_error(std::string_view body);

}  // namespace ccr::worker
