#include "worker/upstream/relay.h"

#include <random>

#include <spdlog/spdlog.h>

#include "shared/log/fields.h"
#include "worker/client_stream.h"
#include "worker/filters/client_limits.h"
#include "worker/health/breaker.h"
#include "worker/limits/key_pool.h"
#include "worker/providers/provider.h"
#include "worker/routing/router.h"
#include "worker/shared_state.h"
#include "worker/session.h"
#include "worker/thinking.h"
#include "worker/upstream/client_watch.h"
#include "worker/upstream/exchange.h"
#include "worker/upstream/pool.h"
#include "worker/upstream/settle.h"

namespace ccr::worker {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using shared::Errc;
using clock = std::chrono::steady_clock;
using namespace std::string_view_literals;
// Claude Code's stable id of a conversation, meant for proxies (session affinity).
constexpr std::string_view kSessionHeader = "X-Claude-Code-Session-Id";

namespace {

// The upstream request head: the client's headers less hop-by-hop ones, its credentials and those
// the provider sets itself (which replace the client's of the same name), then the provider's.
std::string build_upstream_head(const Provider& p,
                                const ClientRequest& req,
                                const RequestContext& ctx,
                                const UpstreamRequest& up) {
    const std::string_view connection_tokens = req.value(http::field::connection);
    std::string head;
    head.reserve(1024);
    head += req.method_string();
    head += ' ';
    head += up.path;
    head += " HTTP/1.1\r\nHost: "sv;
    p.origin().append_host_header(head);
    head += "\r\n"sv;
    auto add = [&head](std::string_view name, std::string_view value) {
        head += name;
        head += ": "sv;
        head += value;
        head += "\r\n"sv;
    };
    // Known fields by the parser's classification; names compared only for the unknown ones.
    const auto dropped = [&](const HeadField& f) {
        switch (const http::field known = f.known) {
            case http::field::host:
            case http::field::authorization:
            case http::field::accept_encoding:
            case http::field::expect:
                return true;
            case http::field::unknown: {
                const std::string_view name = f.name;
                if (iequals(name, "x-api-key") || iequals(name, "x-request-id") ||
                    (up.beta && iequals(name, "anthropic-beta"))) {
                    return true;
                }
                break;
            }
            default:
                if (is_hop_by_hop(known)) return true;
        }
        return (!connection_tokens.empty() && header_lists(connection_tokens, f.name)) ||
               has_field_named(up.headers, f);
    };
    for (const HeadField& f : req) {
        if (!dropped(f)) add(f.name, f.value);
    }
    if (up.beta && !up.beta->empty()) add("anthropic-beta", *up.beta);
    for (const auto& f : up.headers) add(f.name_string(), f.value());
    head += "X-Request-ID: "sv;
    head += ctx.request_id;
    head += "\r\nContent-Length: "sv;
    append_decimal(head, up.splice.size());
    head += "\r\n\r\n"sv;
    return head;
}

net::awaitable<void> answer_estimate(Runtime& rt,
                                     ClientStream& client,
                                     const ClientRequest& req,
                                     RequestContext& ctx) {
    std::size_t n = estimate_input_tokens(*rt.json, req.body().view(), req.body().capacity());
    std::string body = "{\"input_tokens\":" + std::to_string(n) + "}";
    co_await write_local(client, ctx, 200, "application/json", body);
}

// One provider, one attempt (and one retry on a fresh connection when a pooled one was stale).
// The watch tells the caller whether the client went away meanwhile.
net::awaitable<upstream::Outcome> attempt(Runtime& rt,
                                          ClientStream& client,
                                          RequestContext& ctx,
                                          upstream::Attempt& at,
                                          upstream::ClientWatch& watch) {
    using upstream::Outcome;
    const Provider& p = at.provider;
    Outcome outcome = Outcome::failover;
    for (int tries = 0; tries < 2; ++tries) {
        beast::error_code ec;
        // An idle pooled connection is taken without a wait (nor a coroutine frame, nor the time
        // it takes to measure none); only a new connection is awaited and timed.
        std::unique_ptr<upstream::Conn> conn = tries == 0 ? rt.pool->take_idle(p.origin()) : nullptr;
        if (!conn) {
            auto connect_timeout = std::min(
                std::chrono::milliseconds(rt.config->server.connect_timeout_ms),
                std::chrono::duration_cast<std::chrono::milliseconds>(ctx.deadline - clock::now()));
            // With a next candidate waiting, routing.failover_timeout caps the wait for a connection.
            if (!at.last_candidate) connect_timeout = std::min(connect_timeout, upstream::failover_wait(rt));
            const auto t0 = clock::now();
            conn = co_await rt.pool->acquire(p.origin(), connect_timeout, tries > 0, ec);
            ctx.rec.upstream_time += std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - t0);
        }
        if (watch.client_gone()) co_return Outcome::relayed;
        if (ec) {
            const bool timeout = ec == beast::error::timeout;
            at.connected = false;
            at.error = timeout ? Errc::upstream_timeout : Errc::upstream_failed;
            at.error_message = std::string(timeout ? "upstream connect timed out: " : "upstream connection failed: ") +
                               p.name() + ": " + ec.message();
            ctx.rec.timeout = ctx.rec.timeout || timeout;
            co_return Outcome::failover;
        }
        watch.guard(conn.get());
        at.connected = true;
        bool reusable = false;
        outcome = co_await upstream::exchange(rt, *conn, client, ctx, at, reusable);
        watch.guard(nullptr);
        if (watch.client_gone()) co_return Outcome::relayed;
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

std::uint64_t random_draw() {
    static std::mt19937_64 rng{std::random_device{}()};  // single-threaded worker
    return rng();
}

// One line per failed attempt (refused, timeout, reset, 5xx, 429, a stream cut short), at info
// whether or not a failover follows: which provider, why, and the status it answered (if any).
void log_failed_attempt(const RequestContext& ctx,
                        const upstream::Attempt& at,
                        int attempt,
                        std::string_view reason,
                        spdlog::level::level_enum level = spdlog::level::info) {
    if (!spdlog::should_log(level)) return;
    shared::LogFields f("upstream attempt failed");
    f.text("request_id", "rid", ctx.request_id)
        .text("provider", "provider", at.provider.name())
        .number("attempt", "attempt", attempt);
    if (at.status != 0) {
        f.number("status", "status", at.status);
    } else {
        f.text("status", "status", "", true);  // no answer: JSON null, text "-"
    }
    f.text("reason", "reason", reason);
    shared::log_fields(level, f);
}

}  // namespace

net::awaitable<void> relay(Runtime& rt,
                           ClientStream& client,
                           const ClientRequest& req,
                           const BodyInfo& body,
                           RequestContext& ctx,
                           Endpoint endpoint) {
    using upstream::Outcome;
    // Thinking signatures (thinking.h): the parse only when a cheap look says blocks may be there.
    ThinkingInfo thinking;
    if (endpoint == Endpoint::messages && body.may_carry_thinking)
        thinking = scan_thinking(*rt.json, req.body().view(), req.body().capacity());
    const bool has_thinking = thinking.valid && thinking.has_thinking;
    const std::string_view session = req.value(kSessionHeader);
    // Input tokens for cost_based: about four bytes of JSON per token.
    routing::RouteQuery query{body.model, endpoint, ctx.credentials.grant, req.body().size() / 4, body.max_tokens};
    query.allowed = rt.allowed_providers(ctx.credentials.client);  // clients' allowed_providers
    query.keep_provider = has_thinking;
    if (has_thinking && !session.empty()) query.preferred = rt.shared->session_provider(session);
    routing::RouteResult route = rt.router->route(query);
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
            if (query.allowed != ~std::uint64_t{0}) {
                co_await write_error(client, ctx, Errc::forbidden,
                                     filters::not_allowed_message(rt.config->clients[static_cast<std::size_t>(
                                                                      ctx.credentials.client)],
                                                                  body.model));
                co_return;
            }
            co_await write_error(client, ctx, Errc::unavailable,
                                 "no enabled provider serves model " + std::string(body.model));
            co_return;
    }
    std::vector<int> candidates = std::move(route.candidates);
    if (const int max = rt.config->routing.max_attempts; max > 0 && candidates.size() > static_cast<std::size_t>(max))
        candidates.resize(static_cast<std::size_t>(max));

    // From here on a client that hangs up cancels the upstream's work (client_watch.h).
    upstream::ClientWatch watch(*rt.watches, client.socket());

    Errc last_error = Errc::upstream_failed;
    std::string last_message;
    std::int64_t limited_until = 0;  // every key of the skipped providers busy until then
    bool attempted = false;
    int stripped_retry = -1;  // the provider retried without thinking blocks
    const std::int64_t estimated_input = static_cast<std::int64_t>(req.body().size() / 4);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const int index = candidates[i];
        const Provider& p = *rt.providers[static_cast<std::size_t>(index)];
        const std::int64_t now_ms = rt.shared->clock().mono_ms();
        // Health: a half-open circuit admits its probes only; the router already dropped open
        // ones (all_open: the soonest to reopen is tried anyway).
        health::Breaker breaker = rt.shared->breaker(index);
        if (!route.all_open) {
            const auto admission = breaker.allow(now_ms);
            upstream::log_transition(p, admission.transition);
            if (!admission.allowed) continue;
        }
        // Limits: a key of the pool with room for this request, else the next provider.
        limits::KeyPool* pool = rt.shared->key_pool(index);
        int key = 0;
        if (pool != nullptr) {
            const auto pick = pool->acquire(estimated_input, now_ms, random_draw());
            if (pick.index < 0) {
                limited_until = limited_until == 0 ? pick.retry_at_ms : std::min(limited_until, pick.retry_at_ms);
                spdlog::debug("rid={} provider={} skipped: every key is at its limit", ctx.request_id, p.name());
                continue;
            }
            key = pick.index;
        }
        if (attempted) ++ctx.rec.failovers;
        attempted = true;
        ctx.rec.provider = index;
        ctx.rec.provider_name = p.name();
        const std::string_view beta = req.value("anthropic-beta");
        UpstreamRequest up(req.method_string(), ctx.target, req.body().view(), req.body().capacity(), body, endpoint,
                           ctx.credentials, beta, key, *rt.json);
        // Signatures only the origin can verify: any other provider, or the origin again after it
        // refused them, gets the request without the blocks.
        const bool strip = has_thinking && (index != route.origin || index == stripped_retry);
        bool stripped = false;
        if (strip) {
            stripped = strip_thinking(thinking, up.splice);
            if (stripped) {
                spdlog::info("rid={} provider={}: {} thinking block(s) removed{}", ctx.request_id, p.name(),
                             thinking.block_count, disables_thinking(thinking) ? ", thinking disabled" : "");
            } else {
                spdlog::warn("rid={} provider={}: thinking blocks could not be removed", ctx.request_id, p.name());
            }
        }
        upstream::Attempt at{p, {}, {}, i + 1 == candidates.size(), endpoint, key, Errc::upstream_failed, {}, 0, std::nullopt, {}};
        at.index = index;
        at.estimated_input = estimated_input;
        at.model = body.model;
        // The provider's own edits and credentials, signed over the final bytes.
        if (rt.stats) rt.stats->attempt_started(index);
        std::optional<PrepareError> failed;
        if (!p.prepare_now(up)) failed = co_await p.prepare(up);
        if (failed) {
            // Nothing was sent: a failure of the provider's (its token endpoint), not the request's.
            at.error = failed->timeout ? Errc::upstream_timeout : Errc::upstream_failed;
            at.error_message = "provider " + p.name() + ": " + failed->message;
            upstream::settle(rt, at, Outcome::failover, false, ctx);
            last_error = at.error;
            last_message = std::move(at.error_message);
            ctx.rec.upstream_error = true;
            // The provider's own failure (credentials, its token endpoint): warn, it needs an operator.
            log_failed_attempt(ctx, at, ctx.rec.failovers + 1, failed->message, spdlog::level::warn);
            continue;
        }
        at.head = build_upstream_head(p, req, ctx, up);
        at.request.assign(1, net::buffer(at.head));
        up.splice.append_buffers(at.request);
        at.debug = ctx.debug || rt.debug_providers[static_cast<std::size_t>(index)];
        if (at.debug) {
            const auto max = static_cast<std::size_t>(rt.config->logging.debug_options.max_body_log_size);
            spdlog::info("rid={} debug_for provider={}: {} {} headers:{} body={}", ctx.request_id, p.name(),
                         req.method_string(), up.path, redact_head(at.head), redact_body(up.splice.str(), max));
        }
        at.check_signature_error = has_thinking && !stripped && stripped_retry < 0;
        const Outcome outcome = co_await attempt(rt, client, ctx, at, watch);
        // The client got this provider's answer (or its start): counted under it.
        if (outcome == Outcome::relayed && ctx.rec.status != 0) ctx.rec.answered_by = index;
        // A relayed answer that completed was settled before its last write (settle.h).
        if (!at.settled) upstream::settle(rt, at, outcome, watch.client_gone(), ctx);
        if (watch.client_gone()) {
            ctx.keep_alive = false;
            ctx.rec.client_aborted = true;
            if (ctx.rec.status == 0) ctx.rec.status = 499;  // nginx's "client closed request"
            co_return;
        }
        if (outcome == Outcome::relayed) {
            // The last candidate's error answer goes to the client as it came; it is still a failed attempt.
            if (at.status == 429 || at.status >= 500 || ctx.rec.upstream_error) {
                if (at.error_message.empty()) at.error_message = "upstream answered " + std::to_string(at.status);
                log_failed_attempt(ctx, at, ctx.rec.failovers + 1, at.error_message);
                ctx.rec.error = std::move(at.error_message);
            }
            if (!session.empty() && endpoint == Endpoint::messages && ctx.rec.status >= 200 && ctx.rec.status < 300)
                rt.shared->remember_session(session, index);
            co_return;
        }
        if (outcome == Outcome::retry_stripped) {
            // Once, at the same provider, without the blocks it refused.
            spdlog::info("rid={} provider={} refused the thinking signatures; retrying without them", ctx.request_id,
                         p.name());
            stripped_retry = index;
            --i;  // wraps at 0 and comes back with ++i: unsigned arithmetic is defined
            continue;
        }
        if (outcome == Outcome::local_answer) co_return co_await answer_estimate(rt, client, req, ctx);
        last_error = at.error;
        last_message = std::move(at.error_message);
        ctx.rec.upstream_error = true;
        log_failed_attempt(ctx, at, ctx.rec.failovers + 1, last_message);
    }
    if (!attempted) {
        // Nothing was sent: every key of every candidate is at its limit (or every half-open
        // circuit's probes are out, which clears as fast).
        const std::int64_t wait_ms = std::max<std::int64_t>(limited_until - rt.shared->clock().mono_ms(), 1000);
        const std::string retry = "Retry-After: " + std::to_string((wait_ms + 999) / 1000) + "\r\n";
        co_await write_error(client, ctx, Errc::rate_limited,
                             limited_until > 0 ? "every provider key is at its rate limit; retry later"
                                               : "every provider is recovering from failures; retry shortly",
                             retry);
        co_return;
    }
    co_await write_error(client, ctx, last_error, last_message);
}

}  // namespace ccr::worker
