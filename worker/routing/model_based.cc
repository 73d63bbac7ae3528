// model_based: the provider named by the longest model-name prefix in routing.model_mapping,
// else routing.default_provider; with neither, every provider in config order.
#include <string>

#include "worker/providers/provider.h"
#include "worker/routing/strategy.h"

namespace ccr::worker::routing {
namespace {

class ModelBased final : public Strategy {
public:
    ModelBased(const shared::RoutingConfig& cfg, const Providers& providers)
        : cfg_(cfg), providers_(providers) {}

    void order(std::vector<int>& candidates, const RouteRequest& req) const override {
        std::size_t best_len = 0;
        const std::string* best = nullptr;
        for (const auto& [prefix, name] : cfg_.model_mapping) {
            if (req.model.substr(0, prefix.size()) == prefix && prefix.size() >= best_len) {
                best_len = prefix.size();
                best = &name;
            }
        }
        if (best == nullptr && !cfg_.default_provider.empty()) best = &cfg_.default_provider;
        if (best == nullptr) return;
        // The named provider only (none when it cannot serve this endpoint).
        std::erase_if(candidates, [&](int i) { return providers_[static_cast<std::size_t>(i)]->name() != *best; });
    }

private:
    const shared::RoutingConfig& cfg_;
    const Providers& providers_;
};

}  // namespace

std::unique_ptr<Strategy> make_model_based(const shared::RoutingConfig& cfg, const Providers& providers) {
    return std::make_unique<ModelBased>(cfg, providers);
}

}  // namespace ccr::worker::routing
