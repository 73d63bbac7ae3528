#include "worker/runtime.h"

#include <algorithm>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "shared/clock.h"
#include "worker/client_stream.h"
#include "worker/providers/provider.h"
#include "worker/routing/router.h"
#include "worker/shared_state.h"
#include "worker/upstream/client_watch.h"
#include "worker/upstream/pool.h"

namespace ccr::worker {

namespace {

// RouteQuery::allowed for a client: bit i for providers[i] when allowed_providers names it. No
// list, or one that names every enabled provider: unrestricted (~0), so that a request nobody can
// serve stays a 503 and only a real restriction gives 403.
std::uint64_t allowed_mask(const shared::ClientConfig& c, const std::vector<std::unique_ptr<Provider>>& providers) {
    const auto& names = c.allowed_providers;
    if (names.empty()) return ~std::uint64_t{0};
    const std::size_t n = std::min<std::size_t>(providers.size(), 64);
    std::uint64_t mask = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (std::find(names.begin(), names.end(), providers[i]->name()) != names.end()) mask |= std::uint64_t{1} << i;
    }
    const std::uint64_t all = n == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
    return mask == all ? ~std::uint64_t{0} : mask;
}

}  // namespace

Runtime::Runtime(boost::asio::io_context& io,
                 std::shared_ptr<const shared::Config> cfg,
                 shared::stats::Segment* segment,
                 int worker_slot)
    : ioc(io),
      config(std::move(cfg)),
      pool(std::make_unique<upstream::Pool>(io)),
      watches(std::make_unique<upstream::ClientWatches>(io)),
      json(make_json_parser()) {
    const ProviderDeps deps{pool.get(), &shared::system_clock(),
                            std::chrono::milliseconds(config->server.connect_timeout_ms)};
    for (const auto& pc : config->providers) {
        if (pc.enabled) providers.push_back(make_provider(pc, deps));
    }
    slot = worker_slot;
    shared = std::make_unique<SharedState>(segment, worker_slot, *config, providers);
    router = std::make_unique<routing::Router>(*config, providers, *shared, shared.get());
    client_keys = ClientKeys(config->clients);
    for (const auto& c : config->clients) client_allowed.push_back(allowed_mask(c, providers));
    const auto& debug_for = config->logging.debug_for;
    auto named = [](const std::vector<std::string>& names, const std::string& n) {
        return std::find(names.begin(), names.end(), n) != names.end();
    };
    for (const auto& c : config->clients) debug_clients.push_back(named(debug_for.clients, c.name));
    for (const auto& p : providers) debug_providers.push_back(named(debug_for.providers, p->name()));
}

std::uint64_t Runtime::allowed_providers(int client) const {
    if (client < 0 || static_cast<std::size_t>(client) >= client_allowed.size()) return ~std::uint64_t{0};
    return client_allowed[static_cast<std::size_t>(client)];
}

Runtime::~Runtime() = default;

const Provider* Runtime::find_provider(std::string_view name) const {
    for (const auto& p : providers) {
        if (p->name() == name) return p.get();
    }
    return nullptr;
}

bool Runtime::evict_idle_connection() {
    for (auto& s : streams) {  // oldest first
        if (s.busy || s.evicted) continue;
        s.evicted = true;
        ++evicting;
        boost::system::error_code ignored;
        s.stream->socket().cancel(ignored);  // the session's pending read ends; it closes
        return true;
    }
    return false;
}

void Runtime::maybe_finish_drain() {
    if (draining && sessions == 0) ioc.stop();
}

void Runtime::start_drain(std::chrono::milliseconds window, bool stop) {
    const auto now = std::chrono::steady_clock::now();
    if (stop && !stopping) {
        stopping = true;
        // Nothing will serve this connection again: close those with no request in flight now
        // (the clients retry on a fresh connection, which reaches the next service). Cancelling
        // the pending read ends the session, which closes the socket.
        for (auto& s : streams) {
            if (!s.busy) s.stream->cancel();
        }
    }
    if (draining) return;
    draining = true;
    drain_deadline = now + window;
    if (on_drain_start) on_drain_start();
    pool->clear();
    if (!stopping) {
        // A reload: idle keep-alive connections wait for their next request (answered with
        // Connection: close) until their idle timeout or the deadline, whichever is first.
        const auto idle_until = std::min(
            drain_deadline, now + std::chrono::milliseconds(config->server.idle_timeout_ms));
        for (auto& s : streams) {
            if (!s.busy) s.stream->expires_at(idle_until);
        }
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(ioc, drain_deadline);
    timer->async_wait([this, timer](const boost::system::error_code&) { end_drain_window(); });
    // After what is already queued: an accept that completed before the drain began, with no
    // session open yet, is served rather than lost with the worker (accept_loop).
    boost::asio::post(ioc, [this] { maybe_finish_drain(); });
}

void Runtime::end_drain_window() {
    if (streams.empty()) {
        ioc.stop();
        return;
    }
    spdlog::warn("drain window over: ending {} connection(s) still open ({} with a terminal event)",
                 streams.size(), relays.size());
    std::unordered_set<const ClientStream*> cut;
    for (auto& r : relays) {
        r.cut = true;
        r.upstream->cancel();  // the relay sees its read end, writes the event, and returns
        cut.insert(r.client);
    }
    for (auto& s : streams) {
        // An HTTP/2 connection carries its streams' terminal events: it closes with the grace.
        if (!cut.contains(s.stream) && !s.carrier) s.stream->close();
    }
    auto grace = std::make_shared<boost::asio::steady_timer>(ioc, kCutGrace);
    grace->async_wait([this, grace](const boost::system::error_code&) {
        // A client that does not read its terminal event does not hold the worker. Closing ends
        // each session's pending write, so the sessions unwind and the last one stops the
        // io_context; the short fallback covers one that cannot.
        for (auto& s : streams) s.stream->close();
        grace->expires_after(std::chrono::milliseconds(200));
        grace->async_wait([this, grace](const boost::system::error_code&) { ioc.stop(); });
    });
}

}  // namespace ccr::worker
