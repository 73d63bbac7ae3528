// shuffle: a deck, service-wide. Turn t belongs to round t / n, whose order is a permutation
// seeded by the round number, so every worker deals from the same deck and each provider comes
// first exactly once per round; the rest of that round's order is the failover list.
#include <algorithm>
#include <random>

#include "worker/routing/strategy.h"

namespace ccr::worker::routing {
namespace {

class Shuffle final : public Strategy {
public:
    void order(std::vector<int>& candidates, const RouteRequest& req) const override {
        const std::size_t n = candidates.size();
        if (n < 2) return;
        const std::uint64_t turn = req.state.next_turn();
        std::mt19937_64 rng(0x9e3779b97f4a7c15ULL ^ (turn / n));
        std::shuffle(candidates.begin(), candidates.end(), rng);
        rotate_to(candidates, static_cast<std::size_t>(turn % n));
    }
};

}  // namespace

std::unique_ptr<Strategy> make_shuffle() { return std::make_unique<Shuffle>(); }

}  // namespace ccr::worker::routing
