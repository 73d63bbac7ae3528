// weighted_failover: priority groups, highest first (as failover); inside a group, an order drawn
// at random in proportion to keys[0].weight, so equal-priority providers share the load by weight
// and still back each other up.
#include <random>

#include "worker/providers/provider.h"
#include "worker/routing/strategy.h"

namespace ccr::worker::routing {
namespace {

class WeightedFailover final : public Strategy {
public:
    explicit WeightedFailover(const Providers& providers) : providers_(providers), rng_(std::random_device{}()) {}

    void order(std::vector<int>& candidates, const RouteRequest&) const override {
        sort_by_priority(candidates, providers_);
        for (std::size_t begin = 0; begin < candidates.size();) {
            const int prio = provider(candidates[begin]).priority();
            std::size_t end = begin;
            while (end < candidates.size() && provider(candidates[end]).priority() == prio) ++end;
            weighted_order(candidates, begin, end);
            begin = end;
        }
    }

private:
    const Provider& provider(int i) const { return *providers_[static_cast<std::size_t>(i)]; }

    // Draws [begin, end) without replacement, each pick in proportion to its weight.
    void weighted_order(std::vector<int>& c, std::size_t begin, std::size_t end) const {
        for (std::size_t pos = begin; pos + 1 < end; ++pos) {
            std::int64_t total = 0;
            for (std::size_t i = pos; i < end; ++i) total += provider(c[i]).weight();
            std::int64_t r = std::uniform_int_distribution<std::int64_t>(0, total - 1)(rng_);
            std::size_t pick = pos;
            for (std::size_t i = pos; i < end; ++i) {
                r -= provider(c[i]).weight();
                if (r < 0) {
                    pick = i;
                    break;
                }
            }
            std::swap(c[pos], c[pick]);
        }
    }

    const Providers& providers_;
    mutable std::mt19937_64 rng_;  // single-threaded worker
};

}  // namespace

std::unique_ptr<Strategy> make_weighted_failover(const Providers& providers) {
    return std::make_unique<WeightedFailover>(providers);
}

}  // namespace ccr::worker::routing
