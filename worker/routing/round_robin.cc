// round_robin: each request starts at the next provider in turn, service-wide (one shared turn
// counter); the others follow in config order as its failover list.
#include "worker/routing/strategy.h"

namespace ccr::worker::routing {
namespace {

class RoundRobin final : public Strategy {
public:
    void order(std::vector<int>& candidates, const RouteRequest& req) const override {
        if (candidates.size() < 2) return;
        rotate_to(candidates, static_cast<std::size_t>(req.state.next_turn() % candidates.size()));
    }
};

}  // namespace

std::unique_ptr<Strategy> make_round_robin() { return std::make_unique<RoundRobin>(); }

}  // namespace ccr::worker::routing
