// least_loaded: the provider with the fewest requests in flight across the whole service (every
// worker's count, from the shared segment) first; ties by priority, then config order.
#include <algorithm>

#include "worker/providers/provider.h"
#include "worker/routing/strategy.h"

namespace ccr::worker::routing {
namespace {

class LeastLoaded final : public Strategy {
public:
    explicit LeastLoaded(const Providers& providers) : providers_(providers) {}
    void order(std::vector<int>& candidates, const RouteRequest& req) const override {
        sort_by_priority(candidates, providers_);
        std::vector<std::pair<std::int64_t, int>> load;
        load.reserve(candidates.size());
        for (int i : candidates) load.emplace_back(req.state.in_flight(i), i);
        std::stable_sort(load.begin(), load.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (std::size_t k = 0; k < load.size(); ++k) candidates[k] = load[k].second;
    }

private:
    const Providers& providers_;
};

}  // namespace

std::unique_ptr<Strategy> make_least_loaded(const Providers& providers) { return std::make_unique<LeastLoaded>(providers); }

}  // namespace ccr::worker::routing
