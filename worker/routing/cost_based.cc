// cost_based: the cheapest provider for the requested model first, from each provider's
// `pricing` (USD per million tokens) applied to the request's estimated input tokens and its
// max_tokens; ties, and providers without a price for the model (after the priced ones), by
// priority then config order.
#include <algorithm>
#include <limits>

#include "worker/providers/provider.h"
#include "worker/routing/strategy.h"

namespace ccr::worker::routing {
namespace {

class CostBased final : public Strategy {
public:
    explicit CostBased(const Providers& providers) : providers_(providers) {}

    void order(std::vector<int>& candidates, const RouteRequest& req) const override {
        sort_by_priority(candidates, providers_);
        std::vector<std::pair<double, int>> by_cost;
        by_cost.reserve(candidates.size());
        for (int i : candidates) by_cost.emplace_back(estimated_cost(i, req), i);
        std::stable_sort(by_cost.begin(), by_cost.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (std::size_t k = 0; k < by_cost.size(); ++k) candidates[k] = by_cost[k].second;
    }

private:
    double estimated_cost(int i, const RouteRequest& req) const {
        const Provider& p = *providers_[static_cast<std::size_t>(i)];
        // The price of the model this provider will be asked for (after its model_mapping).
        const std::string_view mapped = p.mapped_model(req.model);
        const shared::ModelPrice* price = p.config().price_for(mapped.empty() ? req.model : mapped);
        if (price == nullptr) return std::numeric_limits<double>::infinity();
        // A request with no token estimate still ranks by price: count one token each way.
        const double in = static_cast<double>(std::max<std::uint64_t>(req.input_tokens, 1));
        const double out = static_cast<double>(std::max<std::uint64_t>(req.max_output_tokens, 1));
        return in * price->input_per_mtok + out * price->output_per_mtok;
    }

    const Providers& providers_;
};

}  // namespace

std::unique_ptr<Strategy> make_cost_based(const Providers& providers) { return std::make_unique<CostBased>(providers); }

}  // namespace ccr::worker::routing
