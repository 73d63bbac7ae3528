// latency_based: the provider with the lowest recent time to first byte first (an average kept
// service-wide in the segment). A provider not measured yet goes first, so each gets measured;
// and one request in kExploreEvery starts with the next provider in turn instead, so one that was
// slow (or broken, and has recovered) is measured again rather than avoided for ever.
#include <algorithm>

#include "worker/routing/strategy.h"

namespace ccr::worker::routing {
namespace {

constexpr std::uint64_t kExploreEvery = 20;

class LatencyBased final : public Strategy {
public:
    void order(std::vector<int>& candidates, const RouteRequest& req) const override {
        if (candidates.size() < 2) return;
        const std::uint64_t turn = req.state.next_turn();
        std::vector<std::pair<std::uint64_t, int>> by_ttfb;
        by_ttfb.reserve(candidates.size());
        for (int i : candidates) by_ttfb.emplace_back(req.state.recent_ttfb_us(i), i);
        // Unmeasured (0) sorts first: measure it.
        std::stable_sort(by_ttfb.begin(), by_ttfb.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (std::size_t k = 0; k < by_ttfb.size(); ++k) candidates[k] = by_ttfb[k].second;
        if (turn % kExploreEvery == kExploreEvery - 1) {
            // Explore: one of the slower ones in turn goes first; the fastest stays next.
            const std::size_t slower = 1 + static_cast<std::size_t>((turn / kExploreEvery) % (candidates.size() - 1));
            std::rotate(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(slower),
                        candidates.begin() + static_cast<std::ptrdiff_t>(slower) + 1);
        }
    }
};

}  // namespace

std::unique_ptr<Strategy> make_latency_based() { return std::make_unique<LatencyBased>(); }

}  // namespace ccr::worker::routing
