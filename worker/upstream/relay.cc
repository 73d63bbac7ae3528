#include "worker/upstream/relay.h"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "worker/providers/provider.h"
#include "worker/routing/router.h"
#include "worker/upstream/exchange.h"
#include "worker/upstream/pool.h"

namespace ccr::worker {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using shared::Errc;
using clock = std::chrono::steady_clock;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

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

net::awaitable<void> answer_estimate(Runtime& rt,
                                     beast::tcp_stream& client,
                                     const ClientRequest& req,
                                     RequestContext& ctx) {
    std::size_t n = estimate_input_tokens(*rt.json, req.body().view(), req.body().capacity());
    std::string body = "{\"input_tokens\":" + std::to_string(n) + "}";
    co_await write_local(client, ctx, 200, "application/json", body);
}

// One provider, one attempt (and one retry on a fresh connection when a pooled one was stale).
// The watch tells the caller whether the client went away meanwhile.
net::awaitable<upstream::Outcome> attempt(Runtime& rt,
                                          beast::tcp_stream& client,
                                          RequestContext& ctx,
                                          upstream::Attempt& at,
                                          ClientWatch& watch) {
    using upstream::Outcome;
    const Provider& p = at.provider;
    auto connect_timeout = std::min(
        std::chrono::milliseconds(rt.config->server.connect_timeout_ms),
        std::chrono::duration_cast<std::chrono::milliseconds>(ctx.deadline - clock::now()));
    // With a next candidate waiting, routing.failover_timeout caps the wait for a connection.
    if (!at.last_candidate) connect_timeout = std::min(connect_timeout, upstream::failover_wait(rt));
    Outcome outcome = Outcome::failover;
    for (int tries = 0; tries < 2; ++tries) {
        beast::error_code ec;
        auto t0 = clock::now();
        auto conn = co_await rt.pool->acquire(p.origin(), connect_timeout, tries > 0, ec);
        ctx.rec.upstream_time += std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - t0);
        if (watch.client_gone) co_return Outcome::relayed;
        if (ec) {
            const bool timeout = ec == beast::error::timeout;
            at.error = timeout ? Errc::upstream_timeout : Errc::upstream_failed;
            at.error_message = std::string(timeout ? "upstream connect timed out: " : "upstream connection failed: ") +
                               p.name() + ": " + ec.message();
            ctx.rec.timeout = ctx.rec.timeout || timeout;
            co_return Outcome::failover;
        }
        watch.conn = conn.get();
        bool reusable = false;
        outcome = co_await upstream::exchange(rt, *conn, client, ctx, at, reusable);
        watch.conn = nullptr;
        if (watch.client_gone) co_return Outcome::relayed;
        if (reusable) {
            rt.pool->release(p.origin(), std::move(conn));
        } else {
            conn->close();
        }
        if (outcome != Outcome::retry_fresh) co_return outcome;
    }
    at.error = Errc::upstream_failed;
    at.error_message = "upstream closed the connection";
    co_return Outcome::failover;
}

}  // namespace

net::awaitable<void> relay(Runtime& rt,
                           beast::tcp_stream& client,
                           const ClientRequest& req,
                           const BodyInfo& body,
                           RequestContext& ctx,
                           Endpoint endpoint) {
    using upstream::Outcome;
    // Input tokens for cost_based: about four bytes of JSON per token.
    const routing::RouteResult route = rt.router->route(
        {body.model, endpoint, ctx.credentials.grant, req.body().size() / 4, body.max_tokens});
    switch (route.refusal) {
        case routing::RouteResult::Refusal::none:
            break;
        case routing::RouteResult::Refusal::passthrough_only:
            spdlog::warn("rid={} client={} authentication failed: {}", ctx.request_id, ctx.client,
                         kPassthroughRefused);
            co_await write_error(client, ctx, Errc::unauthorized, kPassthroughRefused);
            co_return;
        case routing::RouteResult::Refusal::no_provider:
            if (endpoint == Endpoint::count_tokens) co_return co_await answer_estimate(rt, client, req, ctx);
            co_await write_error(client, ctx, Errc::unavailable,
                                 "no enabled provider serves model " + std::string(body.model));
            co_return;
    }
    std::vector<int> candidates = route.candidates;
    if (const int max = rt.config->routing.max_attempts; max > 0 && candidates.size() > static_cast<std::size_t>(max))
        candidates.resize(static_cast<std::size_t>(max));
    ctx.rec.started_provider = candidates.front();
    if (rt.stats) rt.stats->request_started(ctx.rec.started_provider);

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
        const Provider& p = *rt.providers[static_cast<std::size_t>(candidates[i])];
        ctx.rec.provider = candidates[i];
        ctx.rec.provider_name = p.name();
        if (i > 0) ++ctx.rec.failovers;
        BodySplice splice(req.body().view());
        p.transform(body, splice);
        upstream::Attempt at{p,
                             build_upstream_head(p, req, ctx, splice.size()),
                             splice.buffers(),
                             i + 1 == candidates.size(),
                             endpoint,
                             Errc::upstream_failed,
                             {}};
        const Outcome outcome = co_await attempt(rt, client, ctx, at, *watch);
        if (watch->client_gone) {
            ctx.keep_alive = false;
            if (ctx.rec.status == 0) ctx.rec.status = 499;  // nginx's "client closed request"
            co_return;
        }
        if (outcome == Outcome::relayed) co_return;
        if (outcome == Outcome::local_answer) co_return co_await answer_estimate(rt, client, req, ctx);
        last_error = at.error;
        last_message = std::move(at.error_message);
        ctx.rec.upstream_error = true;
        spdlog::debug("rid={} provider={} failed: {}", ctx.request_id, p.name(), last_message);
    }
    co_await write_error(client, ctx, last_error, last_message);
}

}  // namespace ccr::worker
