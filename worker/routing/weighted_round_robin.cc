// weighted_round_robin: nginx's smooth weighted round robin (keys[0].weight), service-wide. The
// smooth sequence over the candidates is a pure function of their weights, so every worker
// computes the same one and the shared turn counter picks its position: no shared weights to
// update under contention. The others follow in config order as the failover list.
#include <numeric>

#include "worker/providers/provider.h"
#include "worker/routing/strategy.h"

namespace ccr::worker::routing {

namespace {

// Position `turn` of the smooth WRR sequence over `weights` (one period is their sum): each step
// adds every weight to its current value, picks the largest (first on ties) and subtracts the
// total from it.
std::size_t smooth_pick(const std::vector<int>& weights, std::uint64_t turn) {
    const std::int64_t total = std::accumulate(weights.begin(), weights.end(), std::int64_t{0});
    std::vector<std::int64_t> current(weights.size(), 0);
    std::size_t best = 0;
    for (std::uint64_t step = 0; step <= turn % static_cast<std::uint64_t>(total); ++step) {
        best = 0;
        for (std::size_t i = 0; i < weights.size(); ++i) {
            current[i] += weights[i];
            if (current[i] > current[best]) best = i;
        }
        current[best] -= total;
    }
    return best;
}

class WeightedRoundRobin final : public Strategy {
public:
    explicit WeightedRoundRobin(const Providers& providers) : providers_(providers) {}
    void order(std::vector<int>& candidates, const RouteRequest& req) const override {
        if (candidates.size() < 2) return;
        std::vector<int> weights;
        weights.reserve(candidates.size());
        for (int i : candidates) weights.push_back(providers_[static_cast<std::size_t>(i)]->weight());
        const std::size_t pick = smooth_pick(weights, req.state.next_turn());
        const int chosen = candidates[pick];
        candidates.erase(candidates.begin() + static_cast<std::ptrdiff_t>(pick));
        candidates.insert(candidates.begin(), chosen);
    }

private:
    const Providers& providers_;
};

}  // namespace

std::unique_ptr<Strategy> make_weighted_round_robin(const Providers& providers) {
    return std::make_unique<WeightedRoundRobin>(providers);
}

}  // namespace ccr::worker::routing
