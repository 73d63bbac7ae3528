#pragma once

// The common case of an HTTP/1.1 head, parsed in one pass over bytes already buffered: a client's
// request head (into a ClientRequest of views, client_request.h), and an upstream's response head.
//
// Beast's parsers walk a head a byte at a time through a general state machine: the request's
// was ~20 % of a small request's instructions (bench/analysis.md, row 20), and an upstream's
// answer carries more fields than the request (Anthropic's ~20). What SDKs, Claude Code and the
// providers send is a narrow subset of HTTP/1.1: a token method and an ASCII target (requests,
// HTTP/1.1 or 1.0) or an HTTP/1.1 status line (responses), fields named by tokens with CRLF line
// ends, at most one decimal Content-Length; no Transfer-Encoding in a request, `chunked` alone in
// a response. The functions below parse exactly that subset: a request into a ClientRequest of
// views into `bytes` (the same verb, target, version, fields and keep-alive as the message Beast
// would have built; the fields in wire order, where Beast groups repeated names), a response
// into a ResponseHead of views (the same status, reason and fields as Beast reads, in wire order),
// and answer `not_simple` for anything else: the caller then hands the same bytes to Beast's
// parser, so every unusual or hostile head (obs-fold, bare LF, other transfer codings, smuggling
// attempts, oversized heads) is judged by Beast exactly as before. The fuzz harness
// http_head_fuzz checks on every input that a head these functions complete is one Beast parses
// to the same message and framing.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/container/small_vector.hpp>

#include "worker/client_request.h"

namespace ccr::worker {

/// Beast's enum for a field name (`string_to_field`: a hash of the whole name and a compare),
/// found without Beast's hash for the two dozen names nearly every request and answer carries,
/// and `unknown` at once for the two families Claude Code and the SDKs send a dozen of and
/// Beast's table has no name in: `X-Stainless-*` and `anthropic-*`.
boost::beast::http::field field_of(std::string_view name);
/// The names field_of finds without Beast's lookup, for the test that holds them to Beast's enum.
std::vector<std::string_view> hot_field_names();

struct SimpleHead {
    enum class Result {
        complete,    // the message holds the head; `size` bytes of the input were it
        incomplete,  // no complete head in the input yet (the message is unspecified)
        not_simple,  // outside the subset: let Beast's parser judge the bytes (the message is unspecified)
    };
    Result result = Result::incomplete;
    std::size_t size = 0;
    std::optional<std::uint64_t> content_length;
    bool chunked = false;  // responses: Transfer-Encoding: chunked
    bool close = false;    // responses: a Connection: close
};

/// A response head as the relay reads it: the status, the reason (as sent: Beast would put its
/// status's standard one in for an empty one) and every field in wire order, as views (into the
/// bytes parse_simple_response_head read, or into Beast's message for a head Beast read). Beast's
/// header container took an allocation and a red-black-tree insert per field and grouped
/// repeated names: Anthropic's stream head of 23 fields cost 32 800 instructions through Beast's
/// parser and container, 9 300 this way (bench/analysis.md, row 27).
struct ResponseHead {
    using Field = HeadField;
    unsigned status = 0;
    std::string_view reason;
    HeadFields fields;

    /// The first field of this name, or null.
    const Field* find(boost::beast::http::field known) const { return find_field(fields, known); }
    /// The views point into bytes now at `to` that were at `from`.
    void rebase(const char* from, const char* to);
};

// `limit` is the parser's header limit (server.max_header_bytes): a head that does not end
// within it is `not_simple`, for Beast to refuse with its own error. `req` must be new; its
// views point into `bytes`.
SimpleHead parse_simple_head(std::string_view bytes, std::size_t limit, ClientRequest& req);

// An upstream's response head, by the same rules (`limit`: the response header limit), into
// `res` (empty), whose views point into `bytes`. Only
// HTTP/1.1; a Connection field may name `close` and `keep-alive` only. Whether the connection
// stays open after the body is then `!close` with a Content-Length or `chunked`; with neither,
// the body ends with the connection (the status decides whether there is one: the caller's).
SimpleHead parse_simple_response_head(std::string_view bytes, std::size_t limit, ResponseHead& res);

// The statuses whose answers the relay takes from parse_simple_response_head: 2xx but 204, whose
// bodies its head frames (a length, chunks, or the connection's end) and which are relayed as
// they come. Errors (read for the providers' mappers, the echo guard and the thinking-signature
// check), 1xx, 204 and 3xx stay Beast's. For these, the keep-alive rule above is Beast's.
inline bool simple_response_status(unsigned status) { return status >= 200 && status <= 299 && status != 204; }

}  // namespace ccr::worker
