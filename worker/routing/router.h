#pragma once
/// Step 4 of the request path: the candidates for a request, best first. The router keeps what
/// may serve it (the endpoint, what the client's credential allows) and lets the configured
/// strategy order the rest.

#include <memory>
#include <string_view>
#include <vector>

#include "shared/config/config.h"
#include "worker/filters/auth.h"
#include "worker/routes.h"
#include "worker/routing/strategy.h"

namespace ccr::worker::routing {

struct RouteResult {
    enum class Refusal {
        none,
        no_provider,       // nothing serves this model / endpoint
        passthrough_only,  // only providers that would add their own key: not for this credential
    };
    std::vector<int> candidates;  // indices into the worker's providers, best first
    Refusal refusal = Refusal::none;
    /// Every candidate's circuit was open: `candidates` is the one whose window ends first,
    /// tried anyway rather than failing outright.
    bool all_open = false;
    /// With RouteQuery::keep_provider: the provider that made the request's thinking signatures
    /// (`preferred`, else the first of the failover order before health). Any other must get the
    /// request without them.
    int origin = -1;
};

/// What the router asks health about a provider (the breakers; a fake in tests).
class HealthView {
public:
    virtual ~HealthView() = default;
    virtual bool is_open(int provider) const = 0;
    /// An operator took it out of rotation (admin API): no request is routed to it.
    virtual bool is_disabled(int) const { return false; }
    /// When an open circuit's window ends (monotonic ms).
    virtual std::int64_t open_until(int provider) const = 0;
};

/// The request as the router sees it.
struct RouteQuery {
    std::string_view model;
    Endpoint endpoint = Endpoint::messages;
    AuthGrant grant = AuthGrant::open;
    std::uint64_t input_tokens = 0;       // estimated
    std::uint64_t max_output_tokens = 0;  // the body's max_tokens
    /// Providers this client may use (bit i: provider i; clients' allowed_providers).
    std::uint64_t allowed = ~std::uint64_t{0};
    /// The request carries thinking signatures: order by failover order (priority, then config
    /// order) rather than the strategy, so that consecutive turns land on the same provider.
    bool keep_provider = false;
    /// The provider that answered this session before (session affinity); -1: none. Moved first
    /// when it is a healthy candidate.
    int preferred = -1;
};

class Router {
public:
    /// `providers`, `state` and `health` must outlive the router (all belong to the worker's
    /// Runtime). `health` may be null: every circuit closed.
    Router(const shared::Config& cfg, const Providers& providers, RoutingState& state,
           const HealthView* health = nullptr);
    ~Router();

    RouteResult route(const RouteQuery& query) const;

private:
    const Providers& providers_;
    RoutingState& state_;
    const HealthView* health_;
    std::unique_ptr<Strategy> strategy_;
};

}  // namespace ccr::worker::routing
