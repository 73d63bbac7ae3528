// failover: the highest-priority provider first (keys[0].priority), config order among equals;
// the relay moves down the list when an attempt fails before the answer starts.
#include <algorithm>

#include "worker/insertion_sort.h"
#include "worker/providers/provider.h"
#include "worker/routing/strategy.h"

namespace ccr::worker::routing {

void sort_by_priority(std::vector<int>& candidates, const Providers& providers) {
    insertion_sort(candidates.begin(), candidates.end(), [&](int a, int b) {
        return providers[static_cast<std::size_t>(a)]->priority() > providers[static_cast<std::size_t>(b)]->priority();
    });
}

void rotate_to(std::vector<int>& candidates, std::size_t first) {
    if (first < candidates.size()) std::rotate(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(first), candidates.end());
}

namespace {

class Failover final : public Strategy {
public:
    explicit Failover(const Providers& providers) : providers_(providers) {}
    void order(std::vector<int>& candidates, const RouteRequest&) const override {
        sort_by_priority(candidates, providers_);
    }

private:
    const Providers& providers_;
};

}  // namespace

std::unique_ptr<Strategy> make_failover(const Providers& providers) { return std::make_unique<Failover>(providers); }

}  // namespace ccr::worker::routing
