#pragma once
/// Step 4 of the request path: a routing strategy orders the providers that may serve a request,
/// best first. One strategy a file; the router picks one per config generation from
/// `routing.strategy`, parsed once into shared::RoutingStrategy (no string compared per request).

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "shared/config/config.h"
#include "worker/routing/state.h"

namespace ccr::worker {
class Provider;
}

namespace ccr::worker::routing {

/// What a strategy sees of the request.
struct RouteRequest {
    std::string_view model;
    RoutingState& state;                 // service-wide facts (turns, load, latency)
    std::uint64_t input_tokens = 0;      // estimated from the body's size
    std::uint64_t max_output_tokens = 0; // the body's max_tokens
};

class Strategy {
public:
    virtual ~Strategy() = default;
    /// Orders `candidates` (indices into the worker's providers, config order on entry, already
    /// limited to those that serve the endpoint) best first; a strategy may also narrow them.
    virtual void order(std::vector<int>& candidates, const RouteRequest& req) const = 0;
};

using Providers = std::vector<std::unique_ptr<Provider>>;

/// The strategy `routing.strategy` names (parsed once, at load), over `providers` (which
/// outlive it).
std::unique_ptr<Strategy> make_strategy(const shared::RoutingConfig& cfg, const Providers& providers);

// One factory a file.
std::unique_ptr<Strategy> make_failover(const Providers& providers);
std::unique_ptr<Strategy> make_model_based(const shared::RoutingConfig& cfg, const Providers& providers);
std::unique_ptr<Strategy> make_round_robin();
std::unique_ptr<Strategy> make_weighted_round_robin(const Providers& providers);
std::unique_ptr<Strategy> make_shuffle();
std::unique_ptr<Strategy> make_weighted_failover(const Providers& providers);
std::unique_ptr<Strategy> make_least_loaded(const Providers& providers);
std::unique_ptr<Strategy> make_latency_based();
std::unique_ptr<Strategy> make_cost_based(const Providers& providers);

// Shared by several strategies.
/// Stable sort by provider priority, highest first (config order among equals).
void sort_by_priority(std::vector<int>& candidates, const Providers& providers);
/// Moves the element at `first` to the front, keeping the others' order behind it rotated
/// (candidates[first], candidates[first+1], ..., candidates[first-1]).
void rotate_to(std::vector<int>& candidates, std::size_t first);

}  // namespace ccr::worker::routing
