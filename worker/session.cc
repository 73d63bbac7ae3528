#include "worker/session.h"

#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <spdlog/spdlog.h>

#include "worker/endpoints.h"
#include "worker/filters/auth.h"
#include "worker/request.h"
#include "worker/request_body.h"
#include "worker/upstream/relay.h"

namespace ccr::worker {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using shared::Errc;
using clock = std::chrono::steady_clock;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

std::string new_request_id() {
    static std::mt19937_64 rng{std::random_device{}()};
    std::uint64_t a = rng(), b = rng();
    a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
    b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
    // Hex by hand: snprintf was a visible share of a small request's instructions.
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(36, '-');
    std::size_t pos = 0;
    auto put = [&](std::uint64_t v, int nibbles) {
        for (int i = nibbles - 1; i >= 0; --i) out[pos++] = kHex[(v >> (4 * i)) & 0xf];
    };
    put(a >> 32, 8);
    ++pos;
    put(a >> 16, 4);
    ++pos;
    put(a, 4);
    ++pos;
    put(b >> 48, 4);
    ++pos;
    put(b, 12);
    return out;
}

bool acceptable_request_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok) return false;
    }
    return true;
}

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

namespace {

constexpr std::size_t kBodyReadChunk = 256 * 1024;
constexpr std::size_t kIdleBufferCapacity = 16 * 1024;

std::string peer_of(const tcp::socket& s) {
    beast::error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) return "-";
    return ep.address().to_string() + ":" + std::to_string(ep.port());
}

void log_access(const RequestContext& ctx) {
    if (!spdlog::should_log(spdlog::level::info)) return;
    auto ms = [](std::chrono::microseconds us) { return static_cast<double>(us.count()) / 1000.0; };
    const double total = ms(std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - ctx.start));
    spdlog::info(
        "access rid={} client={} method={} path={} provider={} model={} stream={} status={} bytes_in={} "
        "bytes_out={} in_tok={} out_tok={} cache_read={} cache_create={} failovers={} ttfb_ms={:.2f} "
        "dur_ms={:.2f}",
        ctx.request_id, ctx.client, ctx.method, ctx.target,
        ctx.provider ? std::string_view(ctx.provider->name()) : std::string_view("-"),
        ctx.model.empty() ? std::string_view("-") : std::string_view(ctx.model), ctx.stream ? 1 : 0, ctx.status,
        ctx.bytes_in, ctx.bytes_out, ctx.usage.input_tokens, ctx.usage.output_tokens,
        ctx.usage.cache_read_input_tokens, ctx.usage.cache_creation_input_tokens, ctx.failovers,
        ms(ctx.ttfb), total);
}

enum class Route { messages, count_tokens, models, providers, health, hello, not_found, bad_method };

// The methods a route takes, for the Allow header of its 405.
std::string_view allow_header(std::string_view path) {
    if (path == "/v1/messages" || path == "/v1/messages/count_tokens") return "Allow: POST\r\n";
    return "Allow: GET, HEAD\r\n";
}

Route route_of(http::verb method, std::string_view path) {
    auto is = [&](std::string_view p) { return path == p; };
    if (is("/v1/messages")) return method == http::verb::post ? Route::messages : Route::bad_method;
    if (is("/v1/messages/count_tokens"))
        return method == http::verb::post ? Route::count_tokens : Route::bad_method;
    const bool get_or_head = method == http::verb::get || method == http::verb::head;
    if (is("/v1/models")) return get_or_head ? Route::models : Route::bad_method;
    if (is("/v1/providers")) return get_or_head ? Route::providers : Route::bad_method;
    if (is("/health")) return get_or_head ? Route::health : Route::bad_method;
    if (is("/") || is("/api/hello")) return get_or_head ? Route::hello : Route::bad_method;
    return Route::not_found;
}

// Counts a request that reached the relay step (RequestContext::counted_provider set).
void count_finished(Runtime& rt, const RequestContext& ctx) {
    if (!rt.stats || ctx.counted_provider < 0) return;
    StatsSink::Sample s;
    s.started_provider = ctx.counted_provider;
    s.provider = ctx.provider_index >= 0 ? ctx.provider_index : ctx.counted_provider;
    s.status = ctx.status;
    s.upstream_error = ctx.upstream_error;
    s.timeout = ctx.timed_out;
    s.failovers = ctx.failovers;
    s.bytes_in = ctx.bytes_in;
    s.bytes_out = ctx.bytes_out;
    s.input_tokens = ctx.usage.input_tokens;
    s.output_tokens = ctx.usage.output_tokens;
    s.cache_read = ctx.usage.cache_read_input_tokens;
    s.cache_creation = ctx.usage.cache_creation_input_tokens;
    s.ttfb = ctx.ttfb;
    s.total = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - ctx.start);
    s.overhead = s.total > ctx.upstream_time ? s.total - ctx.upstream_time : std::chrono::microseconds(0);
    rt.stats->request_finished(s);
}

// Handles one request whose head has been read. Returns false when the connection must close.
net::awaitable<void> handle(Runtime& rt,
                            beast::tcp_stream& stream,
                            beast::flat_buffer& buffer,
                            http::request_parser<RequestBody>& parser,
                            RequestContext& ctx) {
    auto& req = parser.get();
    ctx.method = req.method_string();
    ctx.target = req.target();
    ctx.path = ctx.target.substr(0, ctx.target.find('?'));
    const std::string_view query =
        ctx.path.size() < ctx.target.size() ? ctx.target.substr(ctx.path.size() + 1) : std::string_view{};
    if (auto it = req.find("x-request-id"); it != req.end() && acceptable_request_id(it->value())) {
        ctx.request_id = std::string(it->value());
    } else {
        ctx.request_id = new_request_id();
    }
    ctx.keep_alive = req.keep_alive() && !rt.draining;
    ctx.debug_headers = rt.config->routing.debug;
    const auto& server = rt.config->server;

    const Route r = route_of(req.method(), ctx.path);
    const bool has_body = parser.content_length().value_or(0) > 0 || parser.chunked();

    // When auth is configured, everything but the liveness probes requires it (so /v1/models and
    // /v1/providers do not describe the relay to strangers).
    const bool probe = r == Route::health || (r == Route::hello && req.method() == http::verb::head);
    if (!probe) {
        ClientCredentials& creds = ctx.credentials;
        if (auto it = req.find(http::field::authorization); it != req.end()) creds.authorization = it->value();
        if (auto it = req.find("x-api-key"); it != req.end()) creds.api_key = it->value();
        const AuthResult auth = authenticate(server, creds);
        if (!auth.ok) {
            if (has_body) ctx.unread_body = true;
            spdlog::warn("rid={} client={} authentication failed: {}", ctx.request_id, ctx.client,
                         auth.message);
            co_await write_error(stream, ctx, Errc::unauthorized, auth.message);
            co_return;
        }
        creds.authorization_is_proxy_secret = auth.bearer_is_proxy_secret;
        creds.api_key_is_proxy_secret = auth.api_key_is_proxy_secret;
        creds.grant = auth.grant;
    }

    // Body: bounded by server.max_body_bytes (0: unlimited); padded for simdjson.
    const std::uint64_t limit = server.max_body_bytes > 0 ? static_cast<std::uint64_t>(server.max_body_bytes)
                                                          : std::numeric_limits<std::uint64_t>::max();
    if (parser.content_length() && *parser.content_length() > limit) {
        ctx.unread_body = true;
        co_await write_error(stream, ctx, Errc::request_too_large,
                             "request body exceeds the maximum allowed size of " +
                                 std::to_string(limit) + " bytes");
        co_return;
    }
    if (has_body) {
        if (auto it = req.find(http::field::expect); it != req.end() && iequals(it->value(), "100-continue")) {
            auto [cec, cn] = co_await net::async_write(stream, net::buffer("HTTP/1.1 100 Continue\r\n\r\n", 25), kTuple);
            if (cec) {
                ctx.keep_alive = false;
                co_return;
            }
        }
        parser.body_limit(limit);
        // Beast sizes each read by the buffer's free space (512 bytes for a fresh buffer), and a
        // body reader drains the buffer as it goes: without room, a 500 KiB body is 1 000 reads.
        buffer.reserve(std::min<std::uint64_t>(parser.content_length().value_or(kBodyReadChunk),
                                               kBodyReadChunk));
        stream.expires_at(ctx.deadline);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
        if (ec) {
            ctx.keep_alive = false;
            if (ec == http::error::body_limit) {
                ctx.unread_body = true;
                co_await write_error(stream, ctx, Errc::request_too_large,
                                     "request body exceeds the maximum allowed size of " +
                                         std::to_string(limit) + " bytes");
            } else if (ec == beast::error::timeout) {
                co_await write_error(stream, ctx, Errc::request_timeout, "timed out reading the request body");
            } else if (ec.category() == http::make_error_code(http::error::bad_chunk).category() &&
                       ec != http::error::partial_message && ec != http::error::end_of_stream) {
                // Bad framing (an invalid chunk size, say): the client is still there to read why.
                co_await write_error(stream, ctx, Errc::invalid_request,
                                     "malformed request body: " + ec.message());
            } else {
                ctx.status = 499;
            }
            co_return;
        }
    }
    ctx.bytes_in = req.body().size();

    switch (r) {
        case Route::messages:
        case Route::count_tokens: {
            // server.max_concurrent is shared evenly by the workers (no cross-process state on the
            // request path); the 503 carries Retry-After so SDKs back off.
            if (const auto cap = server.max_concurrent; cap > 0) {
                const auto per_worker = static_cast<std::size_t>((cap + rt.workers - 1) / rt.workers);
                if (rt.relaying >= per_worker) {
                    co_await write_error(stream, ctx, Errc::unavailable,
                                         "server is at maximum capacity (server.max_concurrent " +
                                             std::to_string(cap) + "), please retry later");
                    co_return;
                }
            }
            ++rt.relaying;
            struct Release {
                std::size_t& n;
                ~Release() { --n; }
            } release{rt.relaying};
            BodyInfo body = inspect_body(*rt.json, req.body(), req.body().capacity());
            if (!body.valid) {
                co_await write_error(stream, ctx, Errc::invalid_request, body.error);
                co_return;
            }
            ctx.model = std::string(body.model);
            ctx.stream = body.stream;
            if (spdlog::should_log(spdlog::level::debug) && rt.config->logging.debug_options.log_request_body) {
                spdlog::debug("rid={} body={}", ctx.request_id,
                              redact_body(req.body().view(), static_cast<std::size_t>(
                                                          rt.config->logging.debug_options.max_body_log_size)));
            }
            co_await relay(rt, stream, req, body, ctx,
                           r == Route::messages ? Endpoint::messages : Endpoint::count_tokens);
            co_return;
        }
        case Route::models:
            co_await write_local(stream, ctx, 200, "application/json", models_json(rt, query),
                                 req.method() == http::verb::head);
            co_return;
        case Route::providers:
            co_await write_local(stream, ctx, 200, "application/json", providers_json(rt),
                                 req.method() == http::verb::head);
            co_return;
        case Route::health:
            co_await write_local(stream, ctx, 200, "application/json", health_json(rt),
                                 req.method() == http::verb::head);
            co_return;
        case Route::hello:
            co_await write_local(stream, ctx, 200, "text/plain; charset=utf-8", "cc-relay\n",
                                 req.method() == http::verb::head);
            co_return;
        case Route::bad_method:
            co_await write_error(stream, ctx, Errc::method_not_allowed,
                                 std::string(ctx.method) + " is not allowed on " + std::string(ctx.path),
                                 allow_header(ctx.path));
            co_return;
        case Route::not_found:
            co_await write_error(stream, ctx, Errc::not_found,
                                 "no route for " + std::string(ctx.method) + " " + std::string(ctx.path));
            co_return;
    }
}

// After answering without reading the body (401, 413), the client may still be sending it.
// Closing now would reset the connection and the client could lose our answer (EPIPE before it
// reads); like nginx's lingering close, read and drop what comes for a bounded time and size.
net::awaitable<void> linger_close(beast::tcp_stream& stream) {
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

net::awaitable<void> run_session(Runtime& rt, tcp::socket socket) {
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // best effort; SSE wants every write out now
    const std::string client = peer_of(socket);
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    ++rt.sessions;
    auto registration = rt.register_stream(stream);
    struct Leave {
        Runtime& rt;
        Runtime::StreamList::iterator it;
        ~Leave() {
            rt.unregister_stream(it);
            --rt.sessions;
            rt.maybe_finish_drain();
        }
    } leave{rt, registration};

    bool first = true;
    bool linger = false;
    for (;;) {
        http::request_parser<RequestBody> parser;
        parser.header_limit(64 * 1024);
        // Beast checks Content-Length against its default 1 MiB limit while parsing the head;
        // the configured limit is applied by handle() with a proper 413.
        parser.body_limit(boost::none);
        const auto& server = rt.config->server;
        // The first head must arrive within read_header_timeout; between kept-alive requests the
        // idle timeout applies (cut short when a drain ends).
        auto wait = std::chrono::milliseconds(first ? server.read_header_timeout_ms : server.idle_timeout_ms);
        auto until = clock::now() + wait;
        if (rt.draining) until = std::min(until, rt.drain_deadline);
        stream.expires_at(until);
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kTuple);
        if (ec) {
            // A head that is too large or not HTTP gets a 400 before the close; a client that
            // went away or idled out gets nothing.
            if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
                ec != http::error::end_of_stream && ec != http::error::partial_message) {
                RequestContext ctx;
                ctx.client = client;
                ctx.request_id = new_request_id();
                ctx.keep_alive = false;
                ctx.deadline = clock::now() + std::chrono::seconds(5);
                co_await write_error(stream, ctx, Errc::invalid_request,
                                     ec == http::error::header_limit
                                         ? std::string("request header too large")
                                         : "malformed HTTP request: " + ec.message());
            }
            break;
        }
        first = false;
        RequestContext ctx;
        ctx.client = client;
        ctx.deadline = ctx.start + rt.timeout();
        ++rt.in_flight;
        rt.mark_busy(registration, true);
        try {
            co_await handle(rt, stream, buffer, parser, ctx);
        } catch (const std::exception& e) {
            // A bug, not a request error (nothing on the request path throws by design): log it
            // with the request, close this connection, keep the worker serving.
            spdlog::error("rid={} request ended by an exception: {}", ctx.request_id, e.what());
            ctx.keep_alive = false;
        }
        // Give a large body's read room back while the connection idles.
        if (buffer.size() == 0 && buffer.capacity() > kIdleBufferCapacity) buffer.shrink_to_fit();
        count_finished(rt, ctx);
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

}  // namespace ccr::worker
