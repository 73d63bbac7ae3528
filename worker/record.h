#pragma once
// Step 7 of the request path: what one request did. Filled as the request moves (the relay sets
// the provider, status, bytes and usage; the session the timings) and read once at its end, by
// the access log and by the stats sink, so the figures are declared here and nowhere else.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/log/fields.h"
#include "worker/usage.h"

namespace ccr::worker {

struct RequestRecord {
    int provider = -1;               // provider of the last attempt
    /// The provider whose answer the client got (its head was relayed, or its error mapped);
    /// -1: the relay answered itself (its own errors, or every attempt failed).
    int answered_by = -1;
    /// The request was on a relayed route or answered with an error: counted in the stats
    /// (health probes, /v1/models and other local successes are not).
    bool counted = false;
    std::string_view provider_name;  // its name (owned by the Runtime's providers), "" if none
    /// Client of `clients:` the request is counted under (index into Config::clients), set by the
    /// client-limits filter on relayed requests; -1: none.
    int client = -1;
    /// Name of the client whose key authenticated the request (set by auth on every route, for the
    /// access log; owned by the Runtime's config); "" if none.
    std::string_view client_name;
    std::string model;               // as the client asked for it
    bool stream = false;             // the body asked for SSE
    int status = 0;                  // sent to the client; 499: the client went away first
    bool client_aborted = false;     // the client went away before its answer ended
    bool upstream_error = false;     // the last attempt failed (5xx, transport, cut stream)
    bool timeout = false;            // an upstream timeout happened on the way
    int failovers = 0;               // attempts after the first
    /// What went wrong, for the access log: the relay's own error answer's message, or why the
    /// upstream answer relayed failed (5xx, 429, a stream cut short); empty: nothing.
    std::string error;
    std::uint64_t bytes_in = 0;      // request body
    std::uint64_t bytes_out = 0;     // response body
    std::int64_t input_tokens = 0, output_tokens = 0, cache_read = 0, cache_creation = 0;
    std::uint64_t cost_micro_usd = 0;  // from `usage` and the provider's pricing
    bool priced = false;               // the answering provider has a price for the model
    std::chrono::microseconds ttfb{0};           // to the first response byte sent; 0: none
    std::chrono::microseconds upstream_time{0};  // spent waiting on upstreams
    std::chrono::microseconds total{0};          // set when the request ends
    std::chrono::microseconds overhead{0};       // total - upstream_time, set with total

    void set_usage(const Usage& u) {
        input_tokens = u.input_tokens;
        output_tokens = u.output_tokens;
        cache_read = u.cache_read_input_tokens;
        cache_creation = u.cache_creation_input_tokens;
    }
    /// Closes the record: the total and the relay's own share of it.
    void finish(std::chrono::microseconds elapsed) {
        total = elapsed;
        overhead = total > upstream_time ? total - upstream_time : std::chrono::microseconds(0);
    }
};

struct RequestContext;
/// The access line of a finished request (nothing is formatted when info is off).
void log_access(const RequestContext& ctx);
/// The access line's fields (README, "Log fields"), for log_access and its tests.
shared::LogFields access_fields(const RequestContext& ctx);

}  // namespace ccr::worker
