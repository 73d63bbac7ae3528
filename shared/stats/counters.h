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

// Latency histograms: X(name, json_key, metric, help). In the segment `name##_us[kBuckets]` (counts
// per bucket of microseconds) and `name##_us_sum` (the exact sum); in the snapshot `Histogram name`.
#define CCR_PROVIDER_HISTOGRAMS(X)                                                                 \
    X(ttfb, "ttfb", "time_to_first_byte_seconds",                                                   \
      "Time from the request to the first byte of the answer sent to the client")                   \
    X(total, "total", "request_duration_seconds", "Time from the request to the end of the answer")  \
    X(overhead, "overhead", "overhead_seconds",                                                     \
      "Time spent in the relay itself (the total less the time waiting on upstreams)")

// Counters of one client of `clients:` (requests that authenticated with its key), same columns
// as CCR_PROVIDER_COUNTERS. Prometheus families are `client_...` with the label `client`.
#define CCR_CLIENT_COUNTERS(X)                                                                     \
    X(requests, "", "requests", "client_requests_total", "",                                        \
      "Requests of each client of `clients:`, once each, whoever answered them")                    \
    X(status_2xx, "status", "2xx", "client_responses_total", "class=\"2xx\"",                       \
      "Answers to each client by status class")                                                     \
    X(status_4xx, "status", "4xx", "client_responses_total", "class=\"4xx\"", "")                   \
    X(status_5xx, "status", "5xx", "client_responses_total", "class=\"5xx\"", "")                   \
    X(client_aborts, "", "client_aborts", "client_aborted_requests_total", "",                     \
      "Requests of each client that it left before the answer ended (logged as 499)")               \
    X(rate_limited, "", "rate_limited", "client_rate_limited_total", "",                            \
      "Requests of each client answered 429 (its own limits, or an upstream's)")                    \
    X(input_tokens, "tokens", "input", "client_tokens_total", "kind=\"input\"",                     \
      "Tokens of each client's answers, by kind")                                                   \
    X(output_tokens, "tokens", "output", "client_tokens_total", "kind=\"output\"", "")              \
    X(cache_read_tokens, "tokens", "cache_read", "client_tokens_total", "kind=\"cache_read\"", "")  \
    X(cache_creation_tokens, "tokens", "cache_creation", "client_tokens_total",                     \
      "kind=\"cache_creation\"", "")                                                                \
    X(cost_micro_usd, "", "cost_micro_usd", "client_cost_usd_total", "",                            \
      "Cost of each client's answers (USD, where pricing is configured)")
// clang-format on

namespace ccr::shared::stats {

/// Log-linear latency buckets over microseconds (HdrHistogram's layout): 0..7 exactly, then 8
/// sub-buckets per power of two, so a bucket is at most 1/8 of its lower bound wide: any value
/// read from a bucket (a quantile interpolated in it) is within 12.5% of every sample it holds,
/// under the 19% that 4 log-spaced sub-buckets would give. Up to 2^30 us (18 minutes); the last
/// bucket holds everything above.
inline constexpr int kSubBits = 3;
inline constexpr int kSubBuckets = 1 << kSubBits;
inline constexpr int kMaxExponent = 30;
inline constexpr int kBuckets = kSubBuckets + (kMaxExponent - kSubBits) * kSubBuckets + 1;

/// Index of the bucket holding `us`.
constexpr int bucket_of(std::uint64_t us) {
    if (us < kSubBuckets) return static_cast<int>(us);
    const int e = 63 - __builtin_clzll(us);  // 2^e <= us < 2^(e+1), e >= kSubBits
    if (e >= kMaxExponent) return kBuckets - 1;
    const int sub = static_cast<int>((us >> (e - kSubBits)) & (kSubBuckets - 1));
    return kSubBuckets + (e - kSubBits) * kSubBuckets + sub;
}
/// Lowest value (us) of a bucket.
constexpr std::uint64_t bucket_lower_us(int b) {
    if (b < kSubBuckets) return static_cast<std::uint64_t>(b);
    if (b >= kBuckets - 1) return std::uint64_t{1} << kMaxExponent;
    const int e = (b - kSubBuckets) / kSubBuckets + kSubBits;
    const int sub = (b - kSubBuckets) % kSubBuckets;
    return static_cast<std::uint64_t>(kSubBuckets + sub) << (e - kSubBits);
}
/// One past the highest value (us) of a bucket (the last bucket: twice its lower bound, for
/// interpolation only).
constexpr std::uint64_t bucket_upper_us(int b) {
    if (b < kSubBuckets) return static_cast<std::uint64_t>(b) + 1;
    if (b >= kBuckets - 1) return std::uint64_t{2} << kMaxExponent;
    return bucket_lower_us(b + 1);
}

static_assert(bucket_of(bucket_lower_us(kBuckets - 2)) == kBuckets - 2);
static_assert(bucket_upper_us(kBuckets - 2) == std::uint64_t{1} << kMaxExponent);

}  // namespace ccr::shared::stats
