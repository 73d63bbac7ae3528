#pragma once
/// The worker's view of the state every worker shares (DESIGN.md, "Shared memory"): per provider
/// its row (circuit breaker, routing turns, recent latency) and its key pool; per client of
/// `clients:` its limits; the service-wide count of requests being relayed (server.max_concurrent). In the shared segment when there is
/// one; else in this process's memory (unit tests, a worker run without the master), with the
/// same code on top.

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "shared/clock.h"
#include "shared/config/config.h"
#include "shared/stats/segment.h"
#include "worker/health/breaker.h"
#include "worker/limits/client_limits.h"
#include "worker/limits/key_pool.h"
#include "worker/routing/affinity.h"
#include "worker/routing/router.h"
#include "worker/routing/state.h"

namespace ccr::worker {

class Provider;

class SharedState final : public routing::RoutingState, public routing::HealthView {
public:
    using Providers = std::vector<std::unique_ptr<Provider>>;
    /// `seg` may be null. `slot`: the worker's slot (its relaying count lives there).
    SharedState(shared::stats::Segment* seg,
                int slot,
                const shared::Config& cfg,
                const Providers& providers,
                const shared::Clock& clock = shared::system_clock());
    ~SharedState() override;

    const shared::Clock& clock() const { return clock_; }

    // routing::RoutingState
    std::uint64_t next_turn() override;
    std::int64_t in_flight(int provider) const override;
    std::uint64_t recent_ttfb_us(int provider) const override;
    /// Records a time to first byte for latency_based routing.
    void record_ttfb(int provider, std::uint64_t us);

    /// The circuit breaker of a provider (over its shared word).
    health::Breaker breaker(int provider);
    health::BreakerState breaker_state(int provider) const;
    // routing::HealthView
    bool is_open(int provider) const override;
    bool is_disabled(int provider) const override;
    std::int64_t open_until(int provider) const override;

    /// The key pool of a provider; null for a provider without keys.
    limits::KeyPool* key_pool(int provider);

    /// The limits of a client (index into Config::clients); null when there is no such client.
    limits::ClientLimits* client_limits(int client);

    /// The provider that last answered a session (X-Claude-Code-Session-Id), service-wide; -1
    /// when none is remembered (or it expired, or is not in this worker's config).
    int session_provider(std::string_view session_id) const;
    /// Remembers `provider` as the one that answered the session.
    void remember_session(std::string_view session_id, int provider);

    /// server.max_concurrent, service-wide: takes a place (false when the cap is reached) and
    /// gives it back.
    bool try_enter_relaying(std::int64_t cap);
    void leave_relaying();

private:
    shared::stats::ProviderState& row(int provider) const;

    shared::stats::Segment* seg_;
    const shared::Clock& clock_;
    health::BreakerPolicy policy_;
    std::vector<shared::stats::ProviderState*> rows_;   // by provider index
    std::vector<int> seg_rows_;                          // segment row by provider index, -1: none
    std::vector<std::unique_ptr<limits::KeyPool>> pools_;
    std::vector<limits::ClientLimits> clients_;          // by client index
    std::atomic<std::int64_t>* relaying_ = nullptr;      // this worker's count
    int route_cursor_ = 0;
    // Without a segment (or for a row the segment has no room for): this process's own.
    std::unique_ptr<shared::stats::ProviderState[]> local_rows_;
    std::vector<std::unique_ptr<shared::stats::KeyRow>> local_keys_;
    std::unique_ptr<shared::stats::ClientRow[]> local_clients_;
    std::atomic<std::int64_t> local_relaying_{0};
    std::atomic<std::uint64_t> local_turn_{0};
    std::unique_ptr<shared::stats::AffinityEntry[]> local_affinity_;
    std::optional<routing::AffinityTable> affinity_;
};

/// limits::PoolStrategy from `pooling.strategy` (validated at load).
limits::PoolStrategy pool_strategy(const std::string& name);

}  // namespace ccr::worker
