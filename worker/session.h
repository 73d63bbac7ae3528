#pragma once
// Step 1 of the request path: one client connection, HTTP/1.1 with keep-alive, from accept to
// close. Each request: read its head, run the filters (filters/chain.h), read its body, then
// answer it locally or relay it (upstream/relay.h); its record goes to the access log and the
// stats when it ends.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "worker/runtime.h"

namespace ccr::worker {

/// `tls`: the socket came from server.tls.listen; the session starts with the TLS handshake.
boost::asio::awaitable<void> run_session(Runtime& rt, boost::asio::ip::tcp::socket socket, bool tls = false);
/// One HTTP/2 stream's request, handed over by h2/connection.h as HTTP/1.1 on one end of a socket
/// pair (one request, `connection: close`); `peer` is the HTTP/2 client's address.
boost::asio::awaitable<void> run_bridged_session(Runtime& rt, boost::asio::ip::tcp::socket socket, std::string peer);
/// A connection over server.max_connections with nothing idle to close for it: 529
/// overloaded_error (which clients retry), then close.
boost::asio::awaitable<void> refuse_session(boost::asio::ip::tcp::socket socket, std::int64_t cap);

/// A request body for the debug log: cut to `max` bytes, values of secret-looking keys masked.
std::string redact_body(std::string_view body, std::size_t max);

/// Appends ` Name: value;` for the debug log, the value masked (`***`) when the header carries a
/// credential (Authorization, x-api-key, cookies, cloud tokens).
void append_redacted_header(std::string& out, std::string_view name, std::string_view value);
/// The header lines of an HTTP head ("POST /p HTTP/1.1\r\nName: v\r\n..."), as
/// append_redacted_header writes them.
std::string redact_head(std::string_view head);

}  // namespace ccr::worker
