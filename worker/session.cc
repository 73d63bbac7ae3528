#include "worker/session.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <tuple>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <spdlog/spdlog.h>

#include "worker/client_stream.h"
#include "worker/endpoints.h"
#include "worker/filters/chain.h"
#include "worker/filters/request_id.h"
#include "worker/h2/connection.h"
#include "worker/request.h"
#include "worker/request_body.h"
#include "worker/simple_head.h"
#include "worker/routes.h"
#include "worker/short_read.h"
#include "worker/transfer.h"
#include "worker/upstream/relay.h"

namespace ccr::worker {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using shared::Errc;
using clock = std::chrono::steady_clock;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

std::string redact_body(std::string_view body, std::size_t max) {
    std::string out(body.substr(0, max));
    static constexpr std::string_view kKeys[] = {"api_key", "apikey", "x-api-key", "authorization",
                                                 "token", "secret", "password", "bearer"};
    for (std::string_view k : kKeys) {
        std::string quoted = "\"" + std::string(k) + "\"";
        for (std::size_t pos = out.find(quoted); pos != std::string::npos;
             pos = out.find(quoted, pos + 1)) {
            std::size_t colon = out.find_first_not_of(" \t\r\n", pos + quoted.size());
            if (colon == std::string::npos || out[colon] != ':') continue;
            std::size_t open = out.find_first_not_of(" \t\r\n", colon + 1);
            if (open == std::string::npos || out[open] != '"') continue;
            std::size_t close = open + 1;
            while (close < out.size() && out[close] != '"') close += out[close] == '\\' ? 2 : 1;
            out.replace(open + 1, std::min(close, out.size()) - open - 1, "***");
        }
    }
    if (body.size() > max) out += "...(truncated)";
    return out;
}

void append_redacted_header(std::string& out, std::string_view name, std::string_view value) {
    static constexpr std::string_view kSecret[] = {"authorization", "proxy-authorization", "x-api-key", "api-key",
                                                   "x-goog-api-key", "cookie", "set-cookie", "x-amz-security-token"};
    const bool secret = std::any_of(std::begin(kSecret), std::end(kSecret),
                                    [&](std::string_view s) { return iequals(s, name); });
    out += ' ';
    out += name;
    out += ": ";
    out += secret ? std::string_view("***") : value;
    out += ';';
}

std::string redact_head(std::string_view head) {
    std::string out;
    std::size_t pos = head.find("\r\n");  // after the request line
    while (pos != std::string_view::npos && pos + 2 < head.size()) {
        const std::size_t start = pos + 2;
        const std::size_t end = head.find("\r\n", start);
        const std::string_view line = head.substr(start, end == std::string_view::npos ? end : end - start);
        if (line.empty()) break;
        const std::size_t colon = line.find(':');
        if (colon != std::string_view::npos) {
            std::string_view value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            append_redacted_header(out, line.substr(0, colon), value);
        }
        pos = end;
    }
    return out;
}

namespace {

constexpr std::size_t kBodyReadChunk = 256 * 1024;
constexpr std::size_t kIdleBufferCapacity = 16 * 1024;
// Like Envoy's max_headers_count (100 by default); Claude Code sends about 20. Each field is
// forwarded upstream, so this bounds what one request can make the relay send.
constexpr std::size_t kMaxHeaderFields = 256;
constexpr std::size_t kHeadReadChunk = 4 * 1024;  // first read of a kept-alive connection's next head

std::string peer_of(const tcp::socket& s) {
    beast::error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) return "-";
    return ep.address().to_string() + ":" + std::to_string(ep.port());
}

// The context of an answer given before any request was read (a refused connection, a malformed
// head): a request id of its own, `within` to write it, and the connection closing after it.
RequestContext closing_answer(std::string client, bool unread_body, std::chrono::seconds within) {
    RequestContext ctx;
    ctx.client = std::move(client);
    ctx.request_id = filters::new_request_id();
    ctx.keep_alive = false;
    ctx.unread_body = unread_body;
    ctx.deadline = clock::now() + within;
    return ctx;
}

net::awaitable<void> reject(ClientStream& stream, RequestContext& ctx, const filters::Rejection& no) {
    co_await write_error(stream, ctx, no.code, no.message, no.extra_headers);
}

std::string too_large(std::uint64_t limit) {
    return "request body exceeds the maximum allowed size of " + std::to_string(limit) + " bytes";
}

// Step 1's second half: the body, bounded by server.max_body_bytes (0: unlimited), read straight
// into its padded buffer.
struct BodyRead {
    bool ok = true;          // the body is in
    filters::Verdict answer;  // not ok: why, for the client (413, 408, 400); none: it went away
};

// server.max_body_bytes, 0 meaning no limit.
std::uint64_t body_limit(const Runtime& rt) {
    const auto max = rt.config->server.max_body_bytes;
    return max > 0 ? static_cast<std::uint64_t>(max) : std::numeric_limits<std::uint64_t>::max();
}

// A request's head as the session read it: the request, and how its body is framed. Most heads
// are parsed by parse_simple_head; the others by Beast's parser, whose message the request's
// views then point into and which reads a chunked body.
struct RequestHead {
    ClientRequest* req = nullptr;
    std::optional<std::uint64_t> content_length;
    http::request_parser<RequestBody>* parser = nullptr;

    bool chunked() const { return parser != nullptr && parser->chunked(); }
    bool has_body() const { return content_length.value_or(0) > 0 || chunked(); }
};

// A head Beast's parser read, as the request's views into its message.
void adopt_head(const http::request<RequestBody>& m, ClientRequest& req) {
    req.set_request_line(m.method(), m.method_string(), m.target(), m.version());
    for (const auto& f : m) req.add(f.name(), f.name_string(), f.value());
    req.set_keep_alive(m.keep_alive());
}

// Moves what of a sized body came with its head from the connection's buffer into the body's.
// Returns how much is still to read.
std::size_t take_buffered(ClientRequest& req, beast::flat_buffer& buffer, std::uint64_t length) {
    const auto have = std::min<std::size_t>(buffer.size(), static_cast<std::size_t>(length));
    req.body().append(buffer.data().data(), have);
    buffer.consume(have);
    return static_cast<std::size_t>(length) - have;
}

// read_body's common case without a wait (nor a coroutine frame): a sized body within the limit,
// without Expect, that arrived whole with its head. False, having taken nothing, otherwise.
bool body_came_with_head(const Runtime& rt, beast::flat_buffer& buffer, RequestHead& head) {
    const auto length = head.content_length;
    auto& req = *head.req;
    if (!length || head.chunked() || buffer.size() < *length || *length > body_limit(rt) ||
        req.find(http::field::expect) != nullptr) {
        return false;
    }
    take_buffered(req, buffer, *length);
    return true;
}

net::awaitable<BodyRead> read_body(Runtime& rt,
                                           ClientStream& stream,
                                           beast::flat_buffer& buffer,
                                           RequestHead& head,
                                           RequestContext& ctx) {
    const std::uint64_t limit = body_limit(rt);
    auto fail = [](filters::Verdict answer) { return BodyRead{false, std::move(answer)}; };
    if (head.content_length && *head.content_length > limit) {
        ctx.unread_body = true;
        co_return fail(filters::Rejection{Errc::request_too_large, too_large(limit)});
    }
    auto& req = *head.req;
    if (iequals(req.value(http::field::expect), "100-continue")) {
        auto [cec, cn] = co_await net::async_write(stream, net::buffer("HTTP/1.1 100 Continue\r\n\r\n", 25), kTuple);
        if (cec) {
            ctx.keep_alive = false;
            co_return fail(std::nullopt);
        }
    }
    stream.expires_at(ctx.deadline);
    beast::error_code ec;
    if (const auto length = head.content_length; length && !head.chunked()) {
        // A sized body (what every SDK sends) is read by the socket straight into its final,
        // padded buffer: what arrived with the head is moved over, the rest is one read per
        // socket wakeup with no copy (nginx reads a body into its buffer the same way). A Beast
        // parser that read the head is left before its body; the next request gets a new one.
        auto& body = req.body();
        const std::size_t rest = take_buffered(req, buffer, *length);
        if (rest == 0) co_return BodyRead{};
        auto [rec, n] = co_await net::async_read(stream, net::buffer(body.prepare(rest), rest), all_at_once, kTuple);
        body.commit(n);
        if (!rec) co_return BodyRead{};
        ec = rec == net::error::eof ? http::error::partial_message : rec;
    } else {
        // Chunked: only Beast's parser reads those (parse_simple_head leaves them to it).
        auto& parser = *head.parser;
        parser.body_limit(limit);
        // Beast sizes each read by the buffer's free space (512 bytes for a fresh buffer), and a
        // body reader drains the buffer as it goes: without room, a 500 KiB body is 1 000 reads.
        buffer.reserve(kBodyReadChunk);
        auto [rec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
        if (!rec) {
            req.body() = std::move(parser.get().body());
            co_return BodyRead{};
        }
        ec = rec;
    }
    ctx.keep_alive = false;
    if (ec == http::error::body_limit) {
        ctx.unread_body = true;
        co_return fail(filters::Rejection{Errc::request_too_large, too_large(limit)});
    }
    if (ec == beast::error::timeout) {
        co_return fail(filters::Rejection{Errc::request_timeout, "timed out reading the request body"});
    }
    if (ec.category() == http::make_error_code(http::error::bad_chunk).category() &&
        ec != http::error::partial_message && ec != http::error::end_of_stream) {
        // Bad framing (an invalid chunk size, say): the client is still there to read why.
        co_return fail(filters::Rejection{Errc::invalid_request, "malformed request body: " + ec.message()});
    }
    ctx.rec.status = 499;  // nginx's "client closed request", for the access log only
    co_return fail(std::nullopt);
}

// Steps 3 to 7 for /v1/messages and count_tokens: inspect the body, then relay it.
net::awaitable<void> serve_relayed(Runtime& rt,
                                   ClientStream& stream,
                                   const ClientRequest& req,
                                   Endpoint endpoint,
                                   RequestContext& ctx) {
    ctx.rec.counted = true;
    filters::BodyHolds holds;
    if (auto no = filters::on_body(rt, ctx, holds)) co_return co_await reject(stream, ctx, *no);
    BodyInfo body = inspect_body(*rt.json, req.body());
    if (!body.valid) {
        co_await write_error(stream, ctx, Errc::invalid_request, body.error);
        co_return;
    }
    ctx.rec.model = std::string(body.model);
    ctx.rec.stream = body.stream;
    const auto& debug = rt.config->logging.debug_options;
    const int client = ctx.credentials.client;
    ctx.debug = client >= 0 && static_cast<std::size_t>(client) < rt.debug_clients.size() &&
                rt.debug_clients[static_cast<std::size_t>(client)];
    if (ctx.debug) {
        std::string headers;
        for (const HeadField& f : req) append_redacted_header(headers, f.name, f.value);
        spdlog::info("rid={} debug_for client={}: {} {} headers:{} body={}", ctx.request_id, ctx.rec.client_name,
                     ctx.method, ctx.target, headers,
                     redact_body(req.body().view(), static_cast<std::size_t>(debug.max_body_log_size)));
    } else if (debug.log_request_body && spdlog::should_log(spdlog::level::debug)) {
        spdlog::debug("rid={} body={}", ctx.request_id,
                      redact_body(req.body().view(), static_cast<std::size_t>(debug.max_body_log_size)));
    }
    co_await relay(rt, stream, req, body, ctx, endpoint);
}

// Answers made by the relay itself.
net::awaitable<void> serve_local(Runtime& rt, ClientStream& stream, const ClientRequest& req, Route r, RequestContext& ctx) {
    const bool head = req.method() == http::verb::head;
    const std::string_view query =
        ctx.path.size() < ctx.target.size() ? ctx.target.substr(ctx.path.size() + 1) : std::string_view{};
    switch (r) {
        case Route::models:
            co_await write_local(stream, ctx, 200, "application/json", models_json(rt, query), head);
            break;
        case Route::providers:
            co_await write_local(stream, ctx, 200, "application/json", providers_json(rt), head);
            break;
        case Route::health:
            co_await write_local(stream, ctx, 200, "application/json", health_json(rt), head);
            break;
        case Route::hello:
            co_await write_local(stream, ctx, 200, "text/plain; charset=utf-8", "cc-relay\n", head);
            break;
        case Route::bad_method:
            co_await write_error(stream, ctx, Errc::method_not_allowed,
                                 std::string(ctx.method) + " is not allowed on " + std::string(ctx.path),
                                 allow_header(ctx.path));
            break;
        default:
            co_await write_error(stream, ctx, Errc::not_found,
                                 "no route for " + std::string(ctx.method) + " " + std::string(ctx.path));
            break;
    }
}

// One request whose head has been read: the filters, the body, then the answer.
net::awaitable<void> handle(Runtime& rt,
                            ClientStream& stream,
                            beast::flat_buffer& buffer,
                            RequestHead& head,
                            RequestContext& ctx) {
    auto& req = *head.req;
    ctx.method = req.method_string();
    ctx.target = req.target();
    ctx.path = ctx.target.substr(0, ctx.target.find('?'));
    ctx.keep_alive = req.keep_alive() && !rt.draining;
    ctx.debug_headers = rt.config->routing.debug;
    const Route r = route_of(req.method(), ctx.path);
    const bool has_body = head.has_body();

    if (auto no = filters::on_head(rt, req, r, ctx)) {
        if (has_body) ctx.unread_body = true;
        co_return co_await reject(stream, ctx, *no);
    }
    if (has_body && !body_came_with_head(rt, buffer, head)) {
        BodyRead body = co_await read_body(rt, stream, buffer, head, ctx);
        if (!body.ok) {
            if (body.answer) co_await reject(stream, ctx, *body.answer);
            co_return;
        }
    }
    ctx.rec.bytes_in = req.body().size();
    if (r == Route::messages || r == Route::count_tokens) {
        co_await serve_relayed(rt, stream, req, r == Route::messages ? Endpoint::messages : Endpoint::count_tokens, ctx);
    } else {
        co_await serve_local(rt, stream, req, r, ctx);
    }
}

// After answering without reading the body (401, 413), the client may still be sending it.
// Closing now would reset the connection and the client could lose our answer (EPIPE before it
// reads); like nginx's lingering close, read and drop what comes for a bounded time and size.
net::awaitable<void> linger_close(ClientStream& stream) {
    constexpr std::size_t kMaxDiscard = 64 * 1024 * 1024;
    std::array<char, 16 * 1024> sink;
    std::size_t discarded = 0;
    stream.expires_after(std::chrono::seconds(2));
    while (discarded < kMaxDiscard) {
        auto [ec, n] = co_await stream.async_read_some(net::buffer(sink), kTuple);
        if (ec) break;
        discarded += n;
    }
}

}  // namespace

net::awaitable<void> refuse_session(tcp::socket socket, std::int64_t cap) {
    ClientStream stream(std::move(socket), nullptr);
    RequestContext ctx = closing_answer(peer_of(stream.socket()), true, std::chrono::seconds(2));
    co_await write_error(stream, ctx, Errc::overloaded,
                         "cc-relay: every connection this worker may hold is serving a request "
                         "(server.max_connections = " + std::to_string(cap) + ")");
    log_access(ctx);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    co_await linger_close(stream);
    stream.close();
}

namespace {

// How a connection came: from a listener (HTTP/1.1, or HTTP/2 when server.enable_http2 says so
// and the client asks), or as one HTTP/2 stream's request handed over by h2/connection.h.
enum class Via { plain, tls, h2_stream };

// Whether `buffer` holds HTTP/2's connection preface, reading until it is complete or cannot be
// (an HTTP/1.1 request differs from it by its second byte).
net::awaitable<bool> read_preface(ClientStream& stream, beast::flat_buffer& buffer) {
    for (;;) {
        const std::string_view got(static_cast<const char*>(buffer.data().data()), buffer.size());
        if (got.size() >= h2::kPreface.size()) co_return got.starts_with(h2::kPreface);
        if (!h2::kPreface.starts_with(got)) co_return false;
        auto [ec, n] = co_await stream.async_read_some(ShortReadDrains(buffer.prepare(kHeadReadChunk)), kTuple);
        if (ec) co_return false;
        buffer.commit(n);
    }
}

// An HTTP/1.1 request asking for h2c (RFC 7540 §3.2; RFC 9113 deprecates the mechanism but
// curl --http2 still uses it): taken only without a body, which would have to be read first.
std::optional<h2::Upgrade> h2c_upgrade(const RequestHead& head) {
    const auto& req = *head.req;
    const HeadField* upgrade = req.find(http::field::upgrade);
    if (upgrade == nullptr) return std::nullopt;  // every request but an upgrade: one lookup
    const HeadField* settings = req.find("HTTP2-Settings");
    const HeadField* connection = req.find(http::field::connection);
    if (settings == nullptr || connection == nullptr) return std::nullopt;
    if (!header_lists(upgrade->value, "h2c") || !header_lists(connection->value, "upgrade") ||
        !header_lists(connection->value, "http2-settings"))
        return std::nullopt;
    if (head.has_body()) return std::nullopt;
    h2::Upgrade up;
    if (!h2::decode_settings(settings->value, up.settings)) return std::nullopt;
    up.head_method = req.method() == http::verb::head;
    up.head.reserve(1024);
    up.head += req.method_string();
    up.head += ' ';
    up.head += req.target();
    up.head += " HTTP/1.1\r\n";
    for (const HeadField& f : req) {
        if (f.known == http::field::connection || f.known == http::field::upgrade ||
            f.known == http::field::keep_alive || iequals(f.name, "HTTP2-Settings"))
            continue;
        up.head += f.name;
        up.head += ": ";
        up.head += f.value;
        up.head += "\r\n";
    }
    up.head += "connection: close\r\n\r\n";
    return up;
}

net::awaitable<void> serve_connection(Runtime& rt, tcp::socket socket, Via via, std::string client) {
    beast::error_code ignored;
    if (via != Via::h2_stream) socket.set_option(tcp::no_delay(true), ignored);  // SSE wants every write out now
    if (via == Via::plain) enable_drain_hint(socket);  // best effort (short_read.h)
    const bool tls = via == Via::tls;
    const bool h2_allowed = via != Via::h2_stream && rt.config->server.enable_http2;
    ClientStream stream(std::move(socket), tls ? rt.tls.get() : nullptr);
    beast::flat_buffer buffer;
    std::string head_bytes;  // the current request's head, which its views point into
    ++rt.sessions;
    auto registration = rt.register_stream(stream);
    struct Leave {
        Runtime& rt;
        Runtime::StreamList::iterator it;
        ~Leave() {
            if (it->evicted) --rt.evicting;
            rt.unregister_stream(it);
            --rt.sessions;
            rt.maybe_finish_drain();
        }
    } leave{rt, registration};

    if (tls) {
        // The handshake is bounded like a head (read_header_timeout): a client that stalls in it
        // is a slow-header client like any other.
        stream.expires_after(std::chrono::milliseconds(rt.config->server.read_header_timeout_ms));
        auto [ec] = co_await stream.tls().async_handshake(net::ssl::stream_base::server, kTuple);
        if (ec) {
            spdlog::debug("TLS handshake with {} failed: {}", client, ec.message());
            stream.close();
            co_return;
        }
        if (stream.negotiated_h2()) {
            co_await h2::serve(rt, stream, {}, client, registration);
            stream.close();
            co_return;
        }
    } else if (h2_allowed) {
        // h2c with prior knowledge: the preface instead of a request line.
        stream.expires_after(std::chrono::milliseconds(rt.config->server.read_header_timeout_ms));
        if (co_await read_preface(stream, buffer)) {
            const std::string_view got(static_cast<const char*>(buffer.data().data()), buffer.size());
            co_await h2::serve(rt, stream, got, client, registration);
            stream.close();
            co_return;
        }
    }
    bool first = true;
    bool linger = false;
    for (;;) {
        const auto& server = rt.config->server;
        // A kept-alive connection may idle for idle_timeout before its next request starts (cut
        // short when a drain ends); from a head's first byte (a new connection's accept), the
        // whole head must arrive within read_header_timeout, so a client trickling its head
        // (slowloris) holds a connection no longer than that.
        if (!first && buffer.size() == 0) {
            // A TLS client's next request: the other connections' ready work first, as the client
            // is only now reading the answer just written, so a read at once would find nothing
            // (a failed recv, then the wait). A plain socket's read knows (short_read.h).
            if (tls) co_await net::post(net::use_awaitable);
            auto until = clock::now() + std::chrono::milliseconds(server.idle_timeout_ms);
            if (rt.draining) until = std::min(until, rt.drain_deadline);
            stream.expires_at(until);
            auto [ec, n] = co_await stream.async_read_some(ShortReadDrains(buffer.prepare(kHeadReadChunk)), kTuple);
            if (ec) break;  // gone, idled out, or closed for a newcomer at the connection cap
            buffer.commit(n);
        }
        auto until = clock::now() + std::chrono::milliseconds(server.read_header_timeout_ms);
        if (rt.draining) until = std::min(until, rt.drain_deadline);
        stream.expires_at(until);
        // A new connection's first bytes (a kept-alive one's were read above): most heads arrive
        // whole in one read and are parsed at once; the rest, partial or unusual, go to Beast.
        beast::error_code ec;
        if (buffer.size() == 0) {
            auto [rec, n] = co_await stream.async_read_some(ShortReadDrains(buffer.prepare(kHeadReadChunk)), kTuple);
            if (rec) break;  // gone or timed out before a byte
            buffer.commit(n);
        }
        ClientRequest req;
        std::optional<http::request_parser<RequestBody>> parser;
        RequestHead head;
        head.req = &req;
        const std::string_view got(static_cast<const char*>(buffer.data().data()), buffer.size());
        if (auto s = parse_simple_head(got, server.max_header_bytes, req); s.result == SimpleHead::Result::complete) {
            // The request's views move to the connection's copy of the head: the read buffer's
            // bytes are the next request's once consumed.
            head_bytes.assign(got.data(), s.size);
            req.rebase(got.data(), head_bytes.data());
            buffer.consume(s.size);
            head.content_length = s.content_length;
        } else {
            req = ClientRequest{};
            parser.emplace();
            parser->header_limit(static_cast<std::uint32_t>(server.max_header_bytes));
            // Beast checks Content-Length against its default 1 MiB limit while parsing the
            // head; the configured limit is applied by handle() with a proper 413.
            parser->body_limit(boost::none);
            std::tie(ec, std::ignore) = co_await http::async_read_header(stream, buffer, *parser, kTuple);
            head.parser = &*parser;
            if (!ec) {
                adopt_head(parser->get(), req);
                if (const auto length = parser->content_length()) head.content_length = *length;
            }
        }
        std::string bad_head;
        Errc bad_code = Errc::invalid_request;
        if (ec) {
            // A head that is too large or not HTTP gets an answer before the close; a client
            // that went away or timed out gets nothing.
            if (ec == http::error::header_limit) {
                bad_code = Errc::header_too_large;
                bad_head = "request header fields exceed server.max_header_bytes (" +
                           std::to_string(server.max_header_bytes) + " bytes)";
            } else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
                       ec != http::error::end_of_stream && ec != http::error::partial_message) {
                bad_head = "malformed HTTP request: " + ec.message();
            } else {
                break;
            }
        } else if (auto problem = framing_problem(req.version(), req.fields()); !problem.empty()) {
            bad_head = "malformed HTTP request: " + problem;
        } else if (auto count = req.fields().size(); count > kMaxHeaderFields) {
            bad_code = Errc::header_too_large;
            bad_head = "too many header fields (" + std::to_string(count) + "; at most " +
                       std::to_string(kMaxHeaderFields) + ")";
        }
        if (!bad_head.empty()) {
            // A complete head: whatever follows it is not read.
            RequestContext ctx = closing_answer(client, !ec, std::chrono::seconds(5));
            co_await write_error(stream, ctx, bad_code, bad_head);
            ctx.rec.finish(std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - ctx.start));
            if (rt.stats) rt.stats->request_finished(ctx.rec);
            log_access(ctx);
            linger = true;
            break;
        }
        first = false;
        if (h2_allowed && !tls) {
            if (auto up = h2c_upgrade(head)) {
                static constexpr std::string_view k101 =
                    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
                stream.expires_after(std::chrono::milliseconds(server.read_header_timeout_ms));
                auto [wec, wn] = co_await net::async_write(stream, net::buffer(k101), kTuple);
                if (wec) break;
                const std::string_view rest(static_cast<const char*>(buffer.data().data()), buffer.size());
                co_await h2::serve(rt, stream, rest, client, registration, &*up);
                stream.close();
                co_return;
            }
        }
        RequestContext ctx;
        ctx.client = client;
        ctx.deadline = ctx.start + rt.timeout();
        ++rt.in_flight;
        rt.mark_busy(registration, true);
        try {
            co_await handle(rt, stream, buffer, head, ctx);
        } catch (const std::exception& e) {
            // A bug, not a request error (nothing on the request path throws by design): log it
            // with the request, close this connection, keep the worker serving.
            spdlog::error("rid={} request ended by an exception: {}", ctx.request_id, e.what());
            ctx.keep_alive = false;
        }
        // Give a large body's read room back while the connection idles.
        if (buffer.size() == 0 && buffer.capacity() > kIdleBufferCapacity) buffer.shrink_to_fit();
        ctx.rec.finish(std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - ctx.start));
        // Counted: requests of the relayed routes, and every error answer (the relay's own 401s
        // and 404s too); health probes and other local successes are not traffic.
        if (rt.stats && (ctx.rec.counted || ctx.rec.status >= 400)) rt.stats->request_finished(ctx.rec);
        rt.mark_busy(registration, false);
        --rt.in_flight;
        log_access(ctx);
        // A reload's drain that began during this request closes the connection after the *next*
        // answer (sent with Connection: close), so no client request races the close; a stop
        // closes it now (nothing would serve a next request).
        if (ctx.unread_body) {
            linger = true;
            break;
        }
        if (!ctx.keep_alive || rt.stopping) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);  // may already be gone
    if (linger) co_await linger_close(stream);
    stream.close();
}

}  // namespace

net::awaitable<void> run_session(Runtime& rt, tcp::socket socket, bool tls) {
    std::string client = peer_of(socket);
    co_await serve_connection(rt, std::move(socket), tls ? Via::tls : Via::plain, std::move(client));
}

net::awaitable<void> run_bridged_session(Runtime& rt, tcp::socket socket, std::string peer) {
    co_await serve_connection(rt, std::move(socket), Via::h2_stream, std::move(peer));
}

}  // namespace ccr::worker
