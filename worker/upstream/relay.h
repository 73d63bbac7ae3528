#pragma once
// Steps 4-6 of the request path, put together: ask the router for candidates, then try them in
// order (upstream/exchange.h), failing over before the first response byte reaches the client;
// the relay's own answers when nothing can serve (503, the count_tokens estimate).

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include "worker/body.h"
#include "worker/client_request.h"
#include "worker/request.h"
#include "worker/routes.h"
#include "worker/runtime.h"

namespace ccr::worker {

/// Forwards an authenticated, inspected request and writes the answer (relayed or an error) to
/// the client. Sets ctx.keep_alive = false when the connection cannot carry another request.
boost::asio::awaitable<void> relay(Runtime& rt,
                                   ClientStream& client,
                                   const ClientRequest& req,
                                   const BodyInfo& body,
                                   RequestContext& ctx,
                                   Endpoint endpoint);

}  // namespace ccr::worker
