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
    };
    for (const auto& [n, kind] : kNames) {
        if (n == name) return kind;
    }
    return std::nullopt;
}

Router::Router(const shared::Config& cfg, const Providers& providers) : providers_(providers) {
    switch (strategy_kind(cfg.routing.strategy).value_or(StrategyKind::failover)) {
        case StrategyKind::model_based:
            strategy_ = make_model_based(cfg.routing, providers);
            break;
        default:
            // The other strategies of the Go schema are not in effect yet (config validate says
            // so): config order, as failover.
            strategy_ = make_failover();
            break;
    }
}

Router::~Router() = default;

RouteResult Router::route(std::string_view model, Endpoint endpoint, AuthGrant grant) const {
    RouteResult r;
    for (int i = 0; i < static_cast<int>(providers_.size()); ++i) {
        if (endpoint != Endpoint::count_tokens || providers_[static_cast<std::size_t>(i)]->serves_count_tokens())
            r.candidates.push_back(i);
    }
    strategy_->order(r.candidates, RouteRequest{model});
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
