#include "worker/routing/router.h"

#include <algorithm>

#include "worker/providers/provider.h"

namespace ccr::worker::routing {

std::unique_ptr<Strategy> make_strategy(const shared::RoutingConfig& cfg, const Providers& providers) {
    using shared::RoutingStrategy;
    switch (cfg.kind) {
        case RoutingStrategy::failover:
            return make_failover(providers);
        case RoutingStrategy::round_robin:
            return make_round_robin();
        case RoutingStrategy::weighted_round_robin:
            return make_weighted_round_robin(providers);
        case RoutingStrategy::shuffle:
            return make_shuffle();
        case RoutingStrategy::weighted_failover:
            return make_weighted_failover(providers);
        case RoutingStrategy::least_loaded:
            return make_least_loaded(providers);
        case RoutingStrategy::model_based:
            return make_model_based(cfg, providers);
        case RoutingStrategy::cost_based:
            return make_cost_based(providers);
        case RoutingStrategy::latency_based:
            return make_latency_based();
    }
    return make_failover(providers);
}

Router::Router(const shared::Config& cfg, const Providers& providers, RoutingState& state, const HealthView* health)
    : providers_(providers),
      state_(state),
      health_(health),
      strategy_(make_strategy(cfg.routing, providers)) {}

Router::~Router() = default;

RouteResult Router::route(const RouteQuery& q) const {
    const std::string_view model = q.model;
    const Endpoint endpoint = q.endpoint;
    const AuthGrant grant = q.grant;
    RouteResult r;
    for (int i = 0; i < static_cast<int>(providers_.size()); ++i) {
        if (i < 64 && !(q.allowed >> i & 1)) continue;
        if (health_ != nullptr && health_->is_disabled(i)) continue;
        if (endpoint != Endpoint::count_tokens || providers_[static_cast<std::size_t>(i)]->serves_count_tokens())
            r.candidates.push_back(i);
    }
    if (q.keep_provider) {
        sort_by_priority(r.candidates, providers_);  // stable: config order among equals
    } else {
        strategy_->order(r.candidates, RouteRequest{model, state_, q.input_tokens, q.max_output_tokens});
    }
    if (r.candidates.empty()) {
        r.refusal = RouteResult::Refusal::no_provider;
        return r;
    }
    if (grant == AuthGrant::passthrough) {
        // A token that proved nothing about the relay never spends a provider's key.
        std::erase_if(r.candidates, [&](int i) {
            return !providers_[static_cast<std::size_t>(i)]->passes_client_credentials();
        });
        if (r.candidates.empty()) {
            r.refusal = RouteResult::Refusal::passthrough_only;
            return r;
        }
    }
    if (q.keep_provider) r.origin = q.preferred >= 0 ? q.preferred : r.candidates.front();
    if (health_ != nullptr) {
        // An open circuit is skipped by every strategy; with all of them open, the one whose
        // window ends first is tried rather than failing outright.
        // One look at each circuit (a clock read each): the open ones are dropped in place.
        std::size_t kept = 0;
        int soonest = -1;
        for (const int i : r.candidates) {
            if (!health_->is_open(i)) {
                r.candidates[kept++] = i;  // never ahead of the element being read
            } else if (soonest < 0 || health_->open_until(i) < health_->open_until(soonest)) {
                soonest = i;
            }
        }
        if (kept == 0) {
            r.candidates = {soonest};
            r.all_open = true;
        } else {
            r.candidates.resize(kept);
        }
    }
    if (q.keep_provider && q.preferred >= 0) {
        // Affinity: the session's provider first, when it is still a healthy candidate.
        if (auto it = std::find(r.candidates.begin(), r.candidates.end(), q.preferred); it != r.candidates.end())
            std::rotate(r.candidates.begin(), it, it + 1);
    }
    return r;
}

}  // namespace ccr::worker::routing
