#pragma once
// The counter set, declared once (Envoy's ALL_*_STATS style). Each entry expands into the
// segment's per-slot row (ProviderCounters), the snapshot's sums (Totals), `stats --json` (its
// group and key, and the meaning it documents) and Prometheus (metric name, label, HELP text).
//
//   X(field, json_group, json_key, metric, label, help)
//
// json_group "" puts the key at the top of a provider's object; entries sharing a metric are one
// Prometheus family told apart by `label` (kept adjacent so HELP/TYPE are written once).
//
// What is counted where (the attribution `stats` promises):
// - a client request counts once, when it ends, under the provider whose answer the client got
//   (the row "relay" when the relay answered itself: its own 4xx/5xx, and the error it sends when
//   every attempt failed);
// - every upstream attempt counts under the provider it went to, by how it ended;
// - a client that leaves before its answer ends counts as a client abort, never as an upstream
//   error.

#include <cstdint>

// clang-format off
#define CCR_PROVIDER_COUNTERS(X)                                                                   \
    X(requests, "", "requests", "requests_total", "",                                             \
      "Client requests answered, each once, under the provider whose answer the client got "        \
      "(\"relay\": answered by the relay itself)")                                                  \
    X(status_2xx, "status", "2xx", "responses_total", "class=\"2xx\"",                              \
      "Answers to clients by status class")                                                         \
    X(status_4xx, "status", "4xx", "responses_total", "class=\"4xx\"", "")                          \
    X(status_5xx, "status", "5xx", "responses_total", "class=\"5xx\"", "")                          \
    X(client_aborts, "", "client_aborts", "client_aborts_total", "",                                \
      "Requests whose client went away before the answer ended (logged as 499)")                    \
    X(attempt_2xx, "attempts", "2xx", "upstream_attempts_total", "outcome=\"2xx\"",                 \
      "Upstream attempts by how they ended: the status class of the answer, or connect (no "        \
      "connection), timeout, reset (the connection failed after it was made)")                      \
    X(attempt_4xx, "attempts", "4xx", "upstream_attempts_total", "outcome=\"4xx\"", "")             \
    X(attempt_5xx, "attempts", "5xx", "upstream_attempts_total", "outcome=\"5xx\"", "")             \
    X(attempt_connect, "attempts", "connect", "upstream_attempts_total", "outcome=\"connect\"", "") \
    X(attempt_timeout, "attempts", "timeout", "upstream_attempts_total", "outcome=\"timeout\"", "") \
    X(attempt_reset, "attempts", "reset", "upstream_attempts_total", "outcome=\"reset\"", "")       \
    X(failovers, "", "failovers", "failovers_total", "",                                            \
      "Attempts at this provider after which the relay moved on to the next candidate")             \
    X(bytes_in, "", "bytes_in", "request_bytes_total", "",                                          \
      "Request body bytes received from clients")                                                   \
    X(bytes_out, "", "bytes_out", "response_bytes_total", "",                                       \
      "Response body bytes sent to clients")                                                        \
    X(input_tokens, "tokens", "input", "tokens_total", "kind=\"input\"",                            \
      "Tokens the answers reported in their usage, by kind")                                        \
    X(output_tokens, "tokens", "output", "tokens_total", "kind=\"output\"", "")                     \
    X(cache_read_tokens, "tokens", "cache_read", "tokens_total", "kind=\"cache_read\"", "")         \
    X(cache_creation_tokens, "tokens", "cache_creation", "tokens_total", "kind=\"cache_creation\"", \
      "")                                                                                            \
    X(cost_micro_usd, "", "cost_micro_usd", "cost_usd_total", "",                                   \
      "Cost of the answers from their usage and the provider's pricing (USD)")

// Latency histograms: X(field, json_key, metric, help), in microseconds in the segment.
#define CCR_PROVIDER_HISTOGRAMS(X)                                                                 \
    X(ttfb_us, "ttfb", "time_to_first_byte_seconds",                                                \
      "Time from the request to the first byte of the answer sent to the client")                   \
    X(total_us, "total", "request_duration_seconds", "Time from the request to the end of the answer") \
    X(overhead_us, "overhead", "overhead_seconds",                                                  \
      "Time spent in the relay itself (the total less the time waiting on upstreams)")
// clang-format on

namespace ccr::shared::stats {

/// Log-linear latency buckets over microseconds: 0..3 exactly, then 4 sub-buckets per power of
/// two (a bucket is at most 1/4 of its lower bound wide: ≤ 25% wide, ≤ 12.5% from its middle),
/// up to 2^30 us (18 minutes); the last bucket holds everything above.
inline constexpr int kSubBuckets = 4;
inline constexpr int kMaxExponent = 30;
inline constexpr int kBuckets = 4 + (kMaxExponent - 2) * kSubBuckets + 1;

/// Index of the bucket holding `us`.
constexpr int bucket_of(std::uint64_t us) {
    if (us < 4) return static_cast<int>(us);
    int e = 63 - __builtin_clzll(us);  // 2^e <= us < 2^(e+1), e >= 2
    if (e >= kMaxExponent) return kBuckets - 1;
    const int sub = static_cast<int>((us >> (e - 2)) & 3);
    return 4 + (e - 2) * kSubBuckets + sub;
}
/// Lowest value (us) of a bucket.
constexpr std::uint64_t bucket_lower_us(int b) {
    if (b < 4) return static_cast<std::uint64_t>(b);
    if (b >= kBuckets - 1) return std::uint64_t{1} << kMaxExponent;
    const int e = (b - 4) / kSubBuckets + 2;
    const int sub = (b - 4) % kSubBuckets;
    return static_cast<std::uint64_t>(4 + sub) << (e - 2);
}
/// One past the highest value (us) of a bucket (the last bucket: twice its lower bound, for
/// interpolation only).
constexpr std::uint64_t bucket_upper_us(int b) {
    if (b < 4) return static_cast<std::uint64_t>(b) + 1;
    if (b >= kBuckets - 1) return std::uint64_t{2} << kMaxExponent;
    return bucket_lower_us(b + 1);
}

}  // namespace ccr::shared::stats
