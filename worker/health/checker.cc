// Active health checks: one loop in one worker of the generation (server.cc spawns it).

#include "worker/health/checker.h"

#include <algorithm>
#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include "worker/health/breaker.h"
#include "worker/providers/provider.h"
#include "worker/runtime.h"
#include "worker/shared_state.h"
#include "worker/upstream/pool.h"

namespace ccr::worker::health {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);
// A check's whole exchange (after the connect) may take this long; then it counts as no answer.
constexpr std::chrono::milliseconds kCheckTimeout{5000};
// The loop wakes at least this often, so a circuit that just opened waits at most this long
// beyond interval_ms for its first check.
constexpr std::int64_t kMaxTickMs = 1000;

bool check_says_alive(int status) { return status > 0 && status < 500 && status != 429; }

CheckSchedule::CheckSchedule(std::size_t providers, std::int64_t interval_ms)
    : interval_ms_(interval_ms > 0 ? interval_ms : 10'000), last_(providers, 0) {}

std::vector<int> CheckSchedule::due(std::int64_t now_ms, const std::function<bool(int)>& is_open) {
    std::vector<int> out;
    for (std::size_t i = 0; i < last_.size(); ++i) {
        const int p = static_cast<int>(i);
        if (!is_open(p)) {
            last_[i] = 0;  // closed again: the next opening is checked after one interval
            continue;
        }
        if (last_[i] == 0) {
            // Just seen open: the request that opened it was the latest evidence; check one
            // interval from now.
            last_[i] = now_ms;
            continue;
        }
        if (now_ms - last_[i] < interval_ms_) continue;
        last_[i] = now_ms;
        out.push_back(p);
    }
    return out;
}

namespace {

// One GET <base>/v1/models on `conn`: the HTTP status, or 0 when no answer came. `keep`: the
// connection may go back to the pool.
template <class Stream>
net::awaitable<int> get_models(const Provider& p,
                               Stream& stream,
                               beast::flat_buffer& buffer,
                               bool& keep) {
    http::request<http::empty_body> req{http::verb::get, p.origin().base_path + "/v1/models", 11};
    req.set(http::field::host, p.origin().host_header());
    req.set(http::field::user_agent, "cc-relay-health-check");
    http::fields auth;
    p.authenticate(auth, ClientCredentials{}, 0);
    for (const auto& f : auth) req.set(f.name_string(), f.value());
    auto [wec, wn] = co_await http::async_write(stream, req, kTuple);
    if (wec) co_return 0;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1024 * 1024);  // a model list; anything bigger is not worth reading
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kTuple);
    if (rec) co_return 0;
    keep = parser.get().keep_alive();
    co_return static_cast<int>(parser.get().result_int());
}

// The check of one provider: its status, or 0. A pooled connection the server closed while idle
// gets one retry on a fresh one, as requests do.
net::awaitable<int> check_once(Runtime& rt, const Provider& p) {
    const auto connect_timeout = std::chrono::milliseconds(rt.config->server.connect_timeout_ms);
    for (int tries = 0; tries < 2; ++tries) {
        beast::error_code ec;
        auto conn = co_await rt.pool->acquire(p.origin(), connect_timeout, tries > 0, ec);
        if (ec || !conn) co_return 0;
        const bool reused = conn->reused;
        conn->tcp().expires_after(kCheckTimeout);
        bool keep = false;
        const int status = conn->tls ? co_await get_models(p, *conn->tls, conn->buffer, keep)
                                     : co_await get_models(p, *conn->plain, conn->buffer, keep);
        if (keep && status != 0) {
            rt.pool->release(p.origin(), std::move(conn));
        } else {
            conn->close();
        }
        if (status != 0 || !reused) co_return status;
    }
    co_return 0;
}

}  // namespace

net::awaitable<void> run_health_checks(Runtime& rt) {
    const auto& hc = rt.config->health.health_check;
    CheckSchedule schedule(rt.providers.size(), hc.interval_ms);
    const auto& clock = rt.shared->clock();
    net::steady_timer timer(rt.ioc);
    while (!rt.draining) {
        const std::int64_t now = clock.mono_ms();
        auto is_open = [&](int p) {
            return rt.shared->breaker(p).state(clock.mono_ms()) == BreakerState::open;
        };
        for (int p : schedule.due(now, is_open)) {
            const Provider& provider = *rt.providers[static_cast<std::size_t>(p)];
            if (!provider.has_models_route()) continue;  // cloud APIs: passive health only
            const int status = co_await check_once(rt, provider);
            if (rt.draining) co_return;
            if (!check_says_alive(status)) {
                spdlog::debug("provider {}: health check failed ({})", provider.name(),
                              status == 0 ? std::string("no answer") : std::to_string(status));
                continue;
            }
            const Transition t = rt.shared->breaker(p).force_half_open(clock.mono_ms());
            // Only the CAS winner sees the transition: logged once.
            if (t != Transition::none) {
                spdlog::info("provider {}: circuit {} (health check answered {})", provider.name(),
                             transition_name(t), status);
            }
        }
        timer.expires_after(
            std::chrono::milliseconds(std::min(schedule.interval_ms(), kMaxTickMs)));
        auto [ec] = co_await timer.async_wait(kTuple);
        if (ec) co_return;  // cancelled: the io_context is going away
    }
}

}  // namespace ccr::worker::health
