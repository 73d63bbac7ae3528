#pragma once
// Microsoft Foundry (`type: azure`, alias `foundry`): the Anthropic wire under
// https://{resource}.services.ai.azure.com/anthropic, with the resource's key as `x-api-key` and
// `api-key`, or an Entra ID token (client credentials) as a bearer, cached per worker.

#include <memory>
#include <string>

#include "worker/providers/provider.h"

namespace ccr::worker {

namespace oauth {
class TokenSource;
}

class FoundryProvider final : public Provider {
public:
    FoundryProvider(const shared::ProviderConfig& cfg, const shared::ProviderTypeInfo& type, ProviderDeps deps);
    ~FoundryProvider() override;

    boost::asio::awaitable<std::optional<PrepareError>> prepare(UpstreamRequest& up) const override;
    bool prepare_now(UpstreamRequest&) const override { return false; }
    void authenticate(boost::beast::http::fields& out, const ClientCredentials& client, int key) const override;
    bool has_models_route() const override { return false; }

private:
    std::unique_ptr<oauth::TokenSource> tokens_;  // Entra ID; null with keys
    std::string credentials_error_;
};

}  // namespace ccr::worker
