#pragma once
// Reading what an upstream says about its limits: the anthropic-ratelimit-{requests,
// input-tokens,output-tokens}-{limit,remaining,reset} headers into a RateLimitReport for
// KeyPool::learn, and `retry-after` of a 429 for KeyPool::cooldown. Header values only: the
// caller walks the response head (Beast) and hands each field in.

#include <cstdint>
#include <optional>
#include <string_view>

#include "worker/limits/key_pool.h"

namespace ccr::worker::limits {

/// Adds one response header to `report` when it is one of the anthropic-ratelimit-* fields
/// (name compared case-insensitively); the reset time, an RFC 3339 timestamp, is turned into
/// monotonic ms with the two readings of now. Returns whether the header was one of them.
bool add_rate_limit_header(RateLimitReport& report,
                           std::string_view name,
                           std::string_view value,
                           std::int64_t now_unix_ms,
                           std::int64_t now_mono_ms);

/// An RFC 3339 timestamp ("2025-01-02T03:04:05Z", fractions and offsets allowed) in Unix ms.
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text);

/// `retry-after` in ms: delay-seconds ("30", "1.5"). nullopt for what is not a number (an
/// HTTP-date is not sent by the providers we relay).
std::optional<std::int64_t> parse_retry_after_ms(std::string_view value);

}  // namespace ccr::worker::limits
