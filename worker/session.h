#pragma once
// Step 1 of the request path: one client connection, HTTP/1.1 with keep-alive, from accept to
// close. Dispatches each request to a local answer or to the relay.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "worker/runtime.h"

namespace ccr::worker {

boost::asio::awaitable<void> run_session(Runtime& rt, boost::asio::ip::tcp::socket socket);

/// A random UUIDv4, as X-Request-ID when the client sent none.
std::string new_request_id();

/// Whether a client's X-Request-ID is safe to adopt: 1-128 letters, digits and `-_.:` (nothing
/// that could break a log line or a header).
bool acceptable_request_id(std::string_view id);

/// A request body for the debug log: cut to `max` bytes, values of secret-looking keys masked.
std::string redact_body(std::string_view body, std::size_t max);

}  // namespace ccr::worker
