// failover: providers in config order; the relay moves to the next one when an attempt fails
// before the answer starts.
#include "worker/routing/strategy.h"

namespace ccr::worker::routing {
namespace {

class Failover final : public Strategy {
public:
    void order(std::vector<int>&, const RouteRequest&) const override {}
};

}  // namespace

std::unique_ptr<Strategy> make_failover() { return std::make_unique<Failover>(); }

}  // namespace ccr::worker::routing
