#pragma once
// One request as it moves through a session: who sent it and what it is (identity, deadline,
// credentials), how the connection carries on after it, and its record (record.h).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/fields.hpp>

#include "shared/error/error.h"
#include "worker/client_request.h"
#include "worker/filters/auth.h"
#include "worker/record.h"

namespace ccr::worker {

class ClientStream;

struct RequestContext {
    using clock = std::chrono::steady_clock;

    std::string request_id;
    std::string client;  // peer address
    std::string_view method;
    std::string_view path;   // target without the query
    std::string_view target; // path and query, as received
    clock::time_point start = clock::now();
    clock::time_point deadline;  // start + server.timeout_ms

    ClientCredentials credentials;  // read and judged once, by the auth filter
    bool debug_headers = false;     // routing.debug: X-CC-Relay-* on relayed answers
    bool debug = false;             // logging.debug_for names its client: per-request debug lines

    // How the connection carries on after this request.
    bool keep_alive = true;    // false: close the connection after this response
    bool unread_body = false;  // answered before reading the body: linger, then close

    RequestRecord rec;  // what it did, for the access log and the stats
};

/// Writes a complete response made by the relay itself (not relayed).
boost::asio::awaitable<bool> write_local(ClientStream& stream,
                                         RequestContext& ctx,
                                         int status,
                                         std::string_view content_type,
                                         std::string_view body,
                                         bool head_only = false,
                                         std::string_view extra_headers = {});

/// An Anthropic-shaped error answer. `extra_headers` ("Name: value\r\n"...) replaces the code's
/// default extras (Retry-After on 429 and 503).
boost::asio::awaitable<bool> write_error(ClientStream& stream,
                                         RequestContext& ctx,
                                         shared::Errc code,
                                         std::string_view message = {},
                                         std::string_view extra_headers = {});

/// "HTTP/1.1 200 OK\r\n"
void append_status_line(std::string& out, int status);
/// `n` in decimal, without a temporary string (a head's Content-Length).
void append_decimal(std::string& out, std::uint64_t n);
/// Hop-by-hop headers (RFC 9110 §7.6.1) and framing headers the relay sets itself. Every one is
/// a field Beast knows, so the parser's classification of each name decides, with no comparison.
bool is_hop_by_hop(boost::beast::http::field name);
/// Whether `fields` has a field named as `f` is: the same known field, or the same unknown name.
bool has_field_named(const boost::beast::http::fields& fields, const HeadField& f);
/// Why a request head's framing cannot be trusted, or empty when it can (RFC 9112 §6, the
/// request-smuggling rules): a Transfer-Encoding other than a single `chunked`, or on an
/// HTTP/1.0 request; more than one Content-Length; an HTTP/1.1 request without exactly one Host.
/// Beast already refuses Content-Length with Transfer-Encoding, bare LF and malformed fields.
std::string framing_problem(unsigned version, const HeadFields& fields);
/// Case-insensitive ASCII equality.
bool iequals(std::string_view a, std::string_view b);
/// Whether a comma-separated header value lists `token` (case-insensitive).
bool header_lists(std::string_view value, std::string_view token);

}  // namespace ccr::worker
