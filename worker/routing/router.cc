#include "worker/routing/router.h"

#include "worker/providers/provider.h"

namespace ccr::worker::routing {

std::optional<StrategyKind> strategy_kind(std::string_view name) {
    static constexpr std::pair<std::string_view, StrategyKind> kNames[] = {
        {"failover", StrategyKind::failover},
        {"round_robin", StrategyKind::round_robin},
        {"weighted_round_robin", StrategyKind::weighted_round_robin},
        {"shuffle", StrategyKind::shuffle},
        {"weighted_failover", StrategyKind::weighted_failover},
        {"least_loaded", StrategyKind::least_loaded},
        {"model_based", StrategyKind::model_based},
        {"latency_based", StrategyKind::latency_based},
    };
    for (const auto& [n, kind] : kNames) {
        if (n == name) return kind;
    }
    return std::nullopt;
}

std::unique_ptr<Strategy> make_strategy(StrategyKind kind, const shared::RoutingConfig& cfg, const Providers& providers) {
    switch (kind) {
        case StrategyKind::failover:
            return make_failover(providers);
        case StrategyKind::round_robin:
            return make_round_robin();
        case StrategyKind::weighted_round_robin:
            return make_weighted_round_robin(providers);
        case StrategyKind::shuffle:
            return make_shuffle();
        case StrategyKind::weighted_failover:
            return make_weighted_failover(providers);
        case StrategyKind::least_loaded:
            return make_least_loaded(providers);
        case StrategyKind::model_based:
            return make_model_based(cfg, providers);
        case StrategyKind::latency_based:
            return make_latency_based();
    }
    return make_failover(providers);
}

Router::Router(const shared::Config& cfg, const Providers& providers, RoutingState& state)
    : providers_(providers),
      state_(state),
      strategy_(make_strategy(strategy_kind(cfg.routing.strategy).value_or(StrategyKind::failover), cfg.routing,
                              providers)) {}

Router::~Router() = default;

RouteResult Router::route(std::string_view model, Endpoint endpoint, AuthGrant grant) const {
    RouteResult r;
    for (int i = 0; i < static_cast<int>(providers_.size()); ++i) {
        if (endpoint != Endpoint::count_tokens || providers_[static_cast<std::size_t>(i)]->serves_count_tokens())
            r.candidates.push_back(i);
    }
    strategy_->order(r.candidates, RouteRequest{model, state_});
    if (r.candidates.empty()) {
        r.refusal = RouteResult::Refusal::no_provider;
        return r;
    }
    if (grant == AuthGrant::passthrough) {
        // A token that proved nothing about the relay never spends a provider's key.
        std::erase_if(r.candidates, [&](int i) {
            return !providers_[static_cast<std::size_t>(i)]->passes_client_credentials();
        });
        if (r.candidates.empty()) r.refusal = RouteResult::Refusal::passthrough_only;
    }
    return r;
}

}  // namespace ccr::worker::routing
