#include "worker/upstream/relay.h"

#include <sys/socket.h>

#include <array>
#include <span>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <spdlog/spdlog.h>

#include "shared/util/json.h"

namespace ccr::worker {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using shared::Errc;
using clock = std::chrono::steady_clock;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

std::vector<int> route(const Runtime& rt, std::string_view model, Endpoint endpoint) {
    std::vector<int> out;
    const auto& routing = rt.config->routing;
    auto usable = [&](int i) {
        return endpoint != Endpoint::count_tokens || rt.providers[i]->serves_count_tokens();
    };
    if (routing.strategy == "model_based") {
        // Longest prefix wins; then the default provider.
        std::size_t best_len = 0;
        const std::string* best = nullptr;
        for (const auto& [prefix, name] : routing.model_mapping) {
            if (model.substr(0, prefix.size()) == prefix && prefix.size() >= best_len) {
                best_len = prefix.size();
                best = &name;
            }
        }
        if (best == nullptr && !routing.default_provider.empty()) best = &routing.default_provider;
        for (int i = 0; best && i < static_cast<int>(rt.providers.size()); ++i) {
            if (rt.providers[i]->name() == *best && usable(i)) out.push_back(i);
        }
        if (!out.empty() || best) return out;
    }
    // failover (and, until the routing work lands, every other strategy): config order.
    for (int i = 0; i < static_cast<int>(rt.providers.size()); ++i) {
        if (usable(i)) out.push_back(i);
    }
    return out;
}

namespace {

struct ClientWatch {
    upstream::Conn* conn = nullptr;
    bool finished = false;
    bool client_gone = false;
};

// Waits for the client socket to become readable while the upstream works. EOF there means the
// client went away: close the upstream connection so its request is cancelled too.
net::awaitable<void> watch_client(net::ip::tcp::socket& client, std::shared_ptr<ClientWatch> w) {
    auto [ec] = co_await client.async_wait(net::ip::tcp::socket::wait_read, kTuple);
    if (ec || w->finished) co_return;
    char byte;
    ssize_t n = ::recv(client.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        w->client_gone = true;
        if (w->conn) w->conn->close();
    }
    // n > 0: the client pipelined its next request; a later write notices a disconnect.
}

enum class Outcome {
    relayed,      // the answer (or its start) went to the client
    retry_fresh,  // a pooled connection was stale: try again on a new one
    failover,     // nothing sent to the client; the next candidate may try
    local_answer, // the upstream cannot serve it; answer locally (count_tokens 404)
};

struct Attempt {
    const Provider& provider;
    std::string head;  // upstream request head
    std::vector<net::const_buffer> body;
    bool last_candidate;
    Endpoint endpoint;
    Errc error = Errc::upstream_failed;
    std::string error_message;
};

std::string build_upstream_head(const Provider& p,
                                const ClientRequest& req,
                                const RequestContext& ctx,
                                std::size_t body_size) {
    std::string_view connection_tokens;
    if (auto it = req.find(http::field::connection); it != req.end()) connection_tokens = it->value();
    std::string head;
    head.reserve(1024);
    head += req.method_string();
    head += ' ';
    head += p.origin().base_path;
    head += ctx.target;
    head += " HTTP/1.1\r\nHost: ";
    head += p.origin().host_header();
    head += "\r\n";
    for (const auto& f : req) {
        std::string_view name = f.name_string();
        if (is_hop_by_hop(name) || iequals(name, "host") || iequals(name, "authorization") ||
            iequals(name, "x-api-key") || iequals(name, "accept-encoding") ||
            iequals(name, "expect") || iequals(name, "x-request-id") ||
            (!connection_tokens.empty() && header_lists(connection_tokens, name))) {
            continue;
        }
        head += name;
        head += ": ";
        head += f.value();
        head += "\r\n";
    }
    http::fields auth;
    p.authenticate(auth, ctx.credentials);
    for (const auto& f : auth) {
        head += f.name_string();
        head += ": ";
        head += f.value();
        head += "\r\n";
    }
    head += "X-Request-ID: ";
    head += ctx.request_id;
    head += "\r\nContent-Length: ";
    head += std::to_string(body_size);
    head += "\r\n\r\n";
    return head;
}

bool retryable_status(unsigned status) { return status == 429 || status >= 500; }

// Bytes relayed per write at most, and read from the upstream per read.
constexpr std::size_t kRelayBuffer = 64 * 1024;

void append_chunk_size(std::string& out, std::size_t n) {
    char buf[24];
    int len = std::snprintf(buf, sizeof buf, "%zx\r\n", n);
    out.assign(buf, static_cast<std::size_t>(len));
}

// The last bytes relayed to the client of an SSE body, enough to tell whether they end an event.
class SseTail {
public:
    void feed(std::string_view bytes) {
        tail_ += bytes.substr(bytes.size() > kKeep ? bytes.size() - kKeep : 0);
        if (tail_.size() > kKeep) tail_.erase(0, tail_.size() - kKeep);
    }
    /// What to write before a new event so that it starts on its own: nothing at an event
    /// boundary (or before the first byte), else the line ends that close the event in progress.
    /// A trailing CR may be the first half of a CRLF, so it is not counted as a line end.
    std::string_view separator() const {
        const std::string_view t = tail_;
        if (t.empty() || t.ends_with("\n\n") || t.ends_with("\r\r") || t.ends_with("\n\r") ||
            t.ends_with("\r\n\r\n"))
            return {};
        if (t.ends_with('\n')) return "\n";
        return "\n\n";
    }

private:
    static constexpr std::size_t kKeep = 4;
    std::string tail_;
};

// The end of a drain window cut this SSE stream: end it with an `event: error` the SDKs report
// (overloaded_error, so they retry) and a clean chunked end, rather than a truncated body.
net::awaitable<void> write_terminal_event(beast::tcp_stream& client,
                                          const RequestContext& ctx,
                                          const SseTail& tail) {
    std::string event(tail.separator());
    event += "event: error\ndata: ";
    event += shared::error_body(Errc::overloaded, "the relay is shutting down", ctx.request_id);
    event += "\n\n";
    std::string chunk;
    append_chunk_size(chunk, event.size());
    chunk += event;
    chunk += "\r\n0\r\n\r\n";
    client.expires_after(Runtime::kCutGrace);
    // A client that does not take it is closed by the runtime when the grace ends.
    auto [ec, n] = co_await net::async_write(client, net::buffer(chunk), kTuple);
    if (ec) spdlog::debug("rid={} terminal event not delivered: {}", ctx.request_id, ec.message());
}

template <class Stream>
net::awaitable<Outcome> exchange(Runtime& rt,
                                 Stream& up,
                                 upstream::Conn& conn,
                                 beast::tcp_stream& client,
                                 RequestContext& ctx,
                                 Attempt& at,
                                 bool& reusable) {
    reusable = false;
    beast::tcp_stream& up_tcp = conn.tcp();
    const auto t0 = clock::now();
    std::vector<net::const_buffer> out;
    out.reserve(at.body.size() + 1);
    out.emplace_back(net::buffer(at.head));
    out.insert(out.end(), at.body.begin(), at.body.end());
    up_tcp.expires_at(ctx.deadline);
    auto [wec, wn] = co_await net::async_write(up, out, kTuple);
    if (wec) {
        if (conn.reused) co_return Outcome::retry_fresh;
        at.error = Errc::upstream_failed;
        at.error_message = "upstream connection failed: " + wec.message();
        co_return Outcome::failover;
    }

    http::response_parser<http::buffer_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(boost::none);
    auto header_timeout = rt.config->server.response_header_timeout_ms > 0
                              ? std::chrono::milliseconds(rt.config->server.response_header_timeout_ms)
                              : rt.timeout();
    up_tcp.expires_at(std::min(ctx.deadline, clock::now() + header_timeout));
    auto [hec, hn] = co_await http::async_read_header(up, conn.buffer, parser, kTuple);
    if (hec) {
        if (conn.reused && hn == 0 && hec != beast::error::timeout) co_return Outcome::retry_fresh;
        if (hec == beast::error::timeout) {
            at.error = Errc::upstream_timeout;
            at.error_message = "upstream did not answer within the response header timeout";
            ctx.timed_out = true;
        } else {
            at.error = Errc::upstream_failed;
            at.error_message = "upstream connection failed: " + hec.message();
        }
        co_return Outcome::failover;
    }
    auto& res = parser.get();
    const unsigned status = res.result_int();
    if (at.endpoint == Endpoint::count_tokens && status == 404) co_return Outcome::local_answer;
    if (retryable_status(status) && !at.last_candidate) {
        at.error_message = "upstream answered " + std::to_string(status);
        co_return Outcome::failover;
    }

    // Commit: from here on the answer is this upstream's.
    std::string_view content_type;
    if (auto it = res.find(http::field::content_type); it != res.end()) content_type = it->value();
    const bool sse = content_type.substr(0, 17) == "text/event-stream";
    const bool has_length = parser.content_length().has_value();
    const bool no_body = status == 204 || status == 304 || ctx.method == "HEAD";
    const bool chunked_out = !has_length && !no_body;

    std::string head;
    head.reserve(1024);
    append_status_line(head, static_cast<int>(status));
    for (const auto& f : res) {
        std::string_view name = f.name_string();
        if (is_hop_by_hop(name) || iequals(name, "x-request-id")) continue;
        if (sse && (iequals(name, "cache-control") || iequals(name, "x-accel-buffering"))) continue;
        head += name;
        head += ": ";
        head += f.value();
        head += "\r\n";
    }
    if (sse) head += "Cache-Control: no-cache, no-transform\r\nX-Accel-Buffering: no\r\n";
    if (has_length) {
        head += "Content-Length: ";
        head += std::to_string(*parser.content_length());
        head += "\r\n";
    } else if (chunked_out) {
        head += "Transfer-Encoding: chunked\r\n";
    }
    head += "X-Request-ID: ";
    head += ctx.request_id;
    head += "\r\n";
    ctx.upstream_time += std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - t0);
    if (ctx.debug_headers) {
        // Time spent in the relay so far, excluding connect and waiting on the upstream.
        auto overhead = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - ctx.start) -
                        ctx.upstream_time;
        char ms[32];
        std::snprintf(ms, sizeof ms, "%.3f", static_cast<double>(std::max<std::int64_t>(overhead.count(), 0)) / 1000.0);
        head += "X-CC-Relay-Provider: ";
        head += at.provider.name();
        head += "\r\nX-CC-Relay-Strategy: ";
        head += rt.config->routing.strategy;
        head += "\r\nX-CC-Relay-Overhead-Ms: ";
        head += ms;
        head += "\r\n";
    }
    if (!ctx.keep_alive) head += "Connection: close\r\n";
    head += "\r\n";
    ctx.status = static_cast<int>(status);
    ctx.upstream_error = status >= 500;

    UsageTap tap(sse ? UsageTap::Mode::sse
                     : (content_type.find("json") != std::string_view::npos ? UsageTap::Mode::json
                                                                           : UsageTap::Mode::none));
    // Relay the body. Whatever the parser has buffered is decoded synchronously (put) into one
    // piece and written with one writev, so N small events read at once cost one write, not N;
    // the socket is read only when the buffer is empty. The head goes out with the first piece,
    // or alone when no body byte is buffered yet (the client sees the status at once).
    const auto body_t0 = clock::now();
    // Registered while the body is relayed: the end of a drain window cuts it (see below).
    struct Registration {
        Runtime& rt;
        Runtime::RelayList::iterator it;
        ~Registration() { rt.unregister_relay(it); }
    } registration{rt, rt.register_relay(client, up_tcp)};
    const bool can_end_with_event = sse && chunked_out;
    SseTail sse_tail;
    // Not zero-filled: a 64 KiB memset per request was half of the relay's instructions.
    auto buf_mem = std::make_unique_for_overwrite<char[]>(kRelayBuffer);
    const std::span<char> buf(buf_mem.get(), kRelayBuffer);
    std::string chunk_head;
    bool head_pending = true;
    bool upstream_ok = true;
    bool complete = false;  // the whole body went to the client
    for (;;) {
        std::size_t got = 0;
        beast::error_code perr;
        if (!no_body && !parser.is_done()) {
            auto& b = parser.get().body();
            b.data = buf.data();
            b.size = buf.size();
            while (!parser.is_done() && b.size > 0 && conn.buffer.size() > 0) {
                beast::error_code pec;
                const std::size_t used = parser.put(conn.buffer.data(), pec);
                conn.buffer.consume(used);
                if (pec == http::error::need_more || pec == http::error::need_buffer) break;
                if (pec) {
                    perr = pec;
                    break;
                }
                if (used == 0) break;
            }
            got = buf.size() - b.size;
        }
        const bool done = no_body || parser.is_done();
        if (got > 0 || head_pending || (done && chunked_out)) {
            std::array<net::const_buffer, 5> out{};
            std::size_t n = 0;
            if (head_pending) out[n++] = net::buffer(head);
            if (got > 0) {
                tap.feed(std::string_view(buf.data(), got));
                if (can_end_with_event) sse_tail.feed(std::string_view(buf.data(), got));
                if (chunked_out) {
                    append_chunk_size(chunk_head, got);
                    out[n++] = net::buffer(chunk_head);
                    out[n++] = net::buffer(buf.data(), got);
                    out[n++] = net::buffer("\r\n", 2);
                } else {
                    out[n++] = net::buffer(buf.data(), got);
                }
            }
            if (done && chunked_out && upstream_ok && !perr) out[n++] = net::buffer("0\r\n\r\n", 5);
            client.expires_at(ctx.deadline);
            auto [cec, cn] = co_await net::async_write(client, std::span(out.data(), n), kTuple);
            if (head_pending) {
                ctx.ttfb = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - ctx.start);
                head_pending = false;
            }
            ctx.bytes_out += got;
            if (cec) {
                // The client went away mid-answer: stop reading the upstream (it is closed below).
                ctx.keep_alive = false;
                co_return Outcome::relayed;
            }
        }
        if (done) {
            complete = true;
            break;
        }
        if (perr) {
            upstream_ok = false;
            break;
        }
        if (got > 0) continue;  // more may be buffered
        if (registration.it->cut) break;
        up_tcp.expires_at(ctx.deadline);
        auto [rec, rn] = co_await up.async_read_some(conn.buffer.prepare(kRelayBuffer), kTuple);
        conn.buffer.commit(rn);
        if (rec == net::error::eof || rec == net::ssl::error::stream_truncated) {
            // A body delimited by the connection's end is complete now; any other is cut short.
            beast::error_code eec;
            parser.put_eof(eec);
            if (!eec && rn == 0) continue;
            if (eec) {
                upstream_ok = false;
                break;
            }
        } else if (rec) {
            if (rec == beast::error::timeout) ctx.timed_out = true;
            upstream_ok = false;
            break;
        }
    }
    // The body phase is paced by the upstream; count it as upstream time (the relay's own share of
    // it is the decode and write, small next to the wait).
    ctx.upstream_time += std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - body_t0);
    tap.finish();
    ctx.usage = tap.usage();
    if (registration.it->cut && !complete) {
        // The drain window ended. The upstream did nothing wrong; the client gets a last event
        // when the framing allows one (SSE, chunked), else the cut itself is the signal.
        ctx.keep_alive = false;
        spdlog::warn("rid={} stream cut at the end of the drain window{}", ctx.request_id,
                     can_end_with_event ? "; sent event: error (overloaded_error)" : "");
        if (can_end_with_event) co_await write_terminal_event(client, ctx, sse_tail);
        co_return Outcome::relayed;
    }
    if (!upstream_ok) {
        // The status line is gone; the only honest signal left is an incomplete message. Close
        // without the terminating chunk so the client sees the truncation.
        ctx.upstream_error = true;
        ctx.keep_alive = false;
        co_return Outcome::relayed;
    }
    reusable = parser.keep_alive();
    co_return Outcome::relayed;
}

net::awaitable<void> answer_estimate(Runtime& rt,
                                     beast::tcp_stream& client,
                                     const ClientRequest& req,
                                     RequestContext& ctx) {
    std::size_t n = estimate_input_tokens(*rt.json, req.body().view(), req.body().capacity());
    std::string body = "{\"input_tokens\":" + std::to_string(n) + "}";
    co_await write_local(client, ctx, 200, "application/json", body);
}

}  // namespace

net::awaitable<void> relay(Runtime& rt,
                           beast::tcp_stream& client,
                           const ClientRequest& req,
                           const BodyInfo& body,
                           RequestContext& ctx,
                           Endpoint endpoint) {
    std::vector<int> candidates = route(rt, body.model, endpoint);
    if (ctx.credentials.grant == AuthGrant::passthrough && !candidates.empty()) {
        // A token that proved nothing about the relay never spends a provider's key.
        std::erase_if(candidates, [&](int i) { return !rt.providers[i]->passes_client_credentials(); });
        if (candidates.empty()) {
            spdlog::warn("rid={} client={} authentication failed: {}", ctx.request_id, ctx.client,
                         kPassthroughRefused);
            co_await write_error(client, ctx, Errc::unauthorized, kPassthroughRefused);
            co_return;
        }
    }
    if (candidates.empty()) {
        if (endpoint == Endpoint::count_tokens) co_return co_await answer_estimate(rt, client, req, ctx);
        co_await write_error(client, ctx, Errc::unavailable,
                             "no enabled provider serves model " + std::string(body.model));
        co_return;
    }

    ctx.counted_provider = candidates.front();
    if (rt.stats) rt.stats->request_started(ctx.counted_provider);

    auto watch = std::make_shared<ClientWatch>();
    net::co_spawn(client.get_executor(), watch_client(client.socket(), watch), net::detached);
    struct StopWatch {
        beast::tcp_stream& client;
        std::shared_ptr<ClientWatch>& w;
        ~StopWatch() {
            w->finished = true;
            w->conn = nullptr;
            beast::error_code ignored;  // the socket may already be closed
            client.socket().cancel(ignored);
        }
    } stop_watch{client, watch};

    Errc last_error = Errc::upstream_failed;
    std::string last_message;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const Provider& p = *rt.providers[candidates[i]];
        ctx.provider = &p;
        ctx.provider_index = candidates[i];
        if (i > 0) ++ctx.failovers;
        BodySplice splice(req.body().view());
        p.transform(body, splice);
        Attempt at{p,
                   build_upstream_head(p, req, ctx, splice.size()),
                   splice.buffers(),
                   i + 1 == candidates.size(),
                   endpoint,
                   Errc::upstream_failed,
                   {}};
        auto connect_timeout = std::min(std::chrono::milliseconds(rt.config->server.connect_timeout_ms),
                                        std::chrono::duration_cast<std::chrono::milliseconds>(
                                            ctx.deadline - clock::now()));
        Outcome outcome = Outcome::failover;
        for (int tries = 0; tries < 2; ++tries) {
            beast::error_code ec;
            auto t0 = clock::now();
            auto conn = co_await rt.pool.acquire(p.origin(), connect_timeout, tries > 0, ec);
            ctx.upstream_time += std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - t0);
            if (watch->client_gone) {
                ctx.keep_alive = false;
                ctx.status = 499;  // nginx's "client closed request", for the access log only
                co_return;
            }
            if (ec) {
                const bool timeout = ec == beast::error::timeout;
                at.error = timeout ? Errc::upstream_timeout : Errc::upstream_failed;
                at.error_message = std::string(timeout ? "upstream connect timed out: "
                                                       : "upstream connection failed: ") +
                                   p.name() + ": " + ec.message();
                ctx.timed_out = ctx.timed_out || timeout;
                outcome = Outcome::failover;
                break;
            }
            watch->conn = conn.get();
            bool reusable = false;
            outcome = conn->tls ? co_await exchange(rt, *conn->tls, *conn, client, ctx, at, reusable)
                                : co_await exchange(rt, *conn->plain, *conn, client, ctx, at, reusable);
            watch->conn = nullptr;
            if (watch->client_gone) {
                ctx.keep_alive = false;
                if (ctx.status == 0) ctx.status = 499;
                co_return;
            }
            if (reusable) {
                rt.pool.release(p.origin(), std::move(conn));
            } else {
                conn->close();
            }
            if (outcome != Outcome::retry_fresh) break;
        }
        if (outcome == Outcome::relayed) co_return;
        if (outcome == Outcome::local_answer) co_return co_await answer_estimate(rt, client, req, ctx);
        if (outcome == Outcome::retry_fresh) {
            at.error = Errc::upstream_failed;
            at.error_message = "upstream closed the connection";
        }
        last_error = at.error;
        last_message = std::move(at.error_message);
        ctx.upstream_error = true;
        spdlog::debug("rid={} provider={} failed: {}", ctx.request_id, p.name(), last_message);
    }
    co_await write_error(client, ctx, last_error, last_message);
}

}  // namespace ccr::worker
