#pragma once
// Steps 4-6 of the request path: choose candidates, forward over a pooled connection, fail over
// before the first response byte, then relay the answer to the client as it arrives.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>

#include "worker/body.h"
#include "worker/request.h"
#include "worker/request_body.h"
#include "worker/runtime.h"

namespace ccr::worker {

enum class Endpoint { messages, count_tokens };

/// Forwards an authenticated, inspected request and writes the answer (relayed or an error) to
/// the client. Sets ctx.keep_alive = false when the connection cannot carry another request.
boost::asio::awaitable<void> relay(Runtime& rt,
                                   boost::beast::tcp_stream& client,
                                   const ClientRequest& req,
                                   const BodyInfo& body,
                                   RequestContext& ctx,
                                   Endpoint endpoint);

/// Providers to try for `model`, best first (routing strategy over enabled providers).
std::vector<int> route(const Runtime& rt, std::string_view model, Endpoint endpoint);

}  // namespace ccr::worker
