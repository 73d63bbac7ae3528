#pragma once
// HTTP/2 from clients (server.enable_http2): h2c with prior knowledge, h2c by `Upgrade`, and h2
// over TLS chosen by ALPN. libnghttp2 speaks the protocol (framing, HPACK, flow control, the
// RFC 9113 message checks); this file carries each stream to the one request path.
//
// Each stream's request is handed to an ordinary HTTP/1.1 session (session.h) over a socket pair,
// one request per pair, and that session's answer is read back and framed as HEADERS and DATA.
// So a request over HTTP/2 meets exactly the limits, filters, routing, relay and error answers of
// one over HTTP/1.1, with their tests; the price is a kernel copy each way per stream, which only
// HTTP/2 clients pay (HAProxy 1.8 carried HTTP/2 to its HTTP/1 core the same way). Flow control
// is end to end: a stream whose client stops reading stops reading its socket pair once
// kResponseBuffer bytes wait, the pair fills, and the relay stops reading the upstream.

#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "worker/runtime.h"

namespace ccr::worker {
class ClientStream;
}

namespace ccr::worker::h2 {

/// What a client sends first on an HTTP/2 connection (RFC 9113 §3.4).
inline constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// An HTTP/1.1 request that asked for h2c (RFC 7540 §3.2): answered on stream 1 after the 101.
struct Upgrade {
    std::string settings;      // HTTP2-Settings, decoded
    std::string head;          // the request, as the HTTP/1.1 head its stream session reads
    bool head_method = false;  // a HEAD request: its answer has no body
};

/// Decodes an HTTP2-Settings value (base64url without padding); false when it is not one.
bool decode_settings(std::string_view value, std::string& out);

/// Serves `stream` as an HTTP/2 connection until it ends, the preface's first `received` bytes
/// already read. `registration` is the connection's entry in the runtime's list, marked busy
/// while a stream is open. The caller closes `stream` afterwards.
boost::asio::awaitable<void> serve(Runtime& rt,
                                   ClientStream& stream,
                                   std::string_view received,
                                   std::string peer,
                                   Runtime::StreamList::iterator registration,
                                   const Upgrade* upgrade = nullptr);

}  // namespace ccr::worker::h2
