#pragma once
/// Step 6 of the request path, for one attempt at one provider: send the request, read the
/// response head and decide there whether to fail over, then pump the committed body to the
/// client through a ClientSink.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/container/small_vector.hpp>

#include "shared/error/error.h"
#include "worker/limits/key_pool.h"
#include "worker/routes.h"

namespace ccr::worker {
class Provider;
class ClientStream;
struct RequestContext;
struct Runtime;
}  // namespace ccr::worker

namespace ccr::worker::upstream {

struct Conn;

/// One provider tried for one request.
struct Attempt {
    const Provider& provider;
    std::string head;  // the upstream request head
    // What goes upstream in one gather write: `head`, then the (spliced) body's pieces. Points
    // into `head`, so an Attempt is not moved once it is set.
    boost::container::small_vector<boost::asio::const_buffer, 8> request;
    bool last_candidate;                              // no failover after this one
    Endpoint endpoint;
    int key = 0;  // which of the provider's keys (its pool's pick)
    shared::Errc error = shared::Errc::upstream_failed;  // why it failed, when it did
    std::string error_message;
    // What the response head said, for health and limits.
    unsigned status = 0;                       // 0: no response head
    std::optional<std::int64_t> retry_after_ms;
    limits::RateLimitReport limits;            // anthropic-ratelimit-* headers
    /// The body still carries thinking blocks: a 400 about their signatures is read before it is
    /// committed, and answered by Outcome::retry_stripped.
    bool check_signature_error = false;
    bool connected = false;  // a connection was made (with status 0: it failed after that)
    bool debug = false;      // logging.debug_for: log the answer's status (and headers)
    // For settling it (settle.h): the provider's index, the request's estimated input tokens and
    // model, and whether it is settled (a completed answer is, before its last write).
    int index = -1;
    std::int64_t estimated_input = 0;
    std::string_view model{};
    bool settled = false;
};

enum class Outcome {
    relayed,      // the answer (or its start) went to the client
    retry_fresh,  // a pooled connection was stale: try again on a new one
    failover,     // nothing sent to the client; the next candidate may try
    local_answer, // the upstream cannot serve it; answer locally (count_tokens 404)
    retry_stripped, // 400 about thinking signatures: the same provider again, without the blocks
};

/// routing.failover_timeout: how long an attempt with a next candidate behind it may wait for a
/// connection, and, for a streaming request, for the response head, before the relay moves on.
std::chrono::milliseconds failover_wait(const Runtime& rt);

/// Runs the attempt over `conn`. `reusable`: the connection may go back to the pool.
boost::asio::awaitable<Outcome> exchange(Runtime& rt,
                                         Conn& conn,
                                         ClientStream& client,
                                         RequestContext& ctx,
                                         Attempt& at,
                                         bool& reusable);

}  // namespace ccr::worker::upstream
