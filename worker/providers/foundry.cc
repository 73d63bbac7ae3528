#include "worker/providers/foundry.h"

#include <stdexcept>

#include <boost/beast/http/field.hpp>

#include "worker/providers/oauth/entra.h"
#include "worker/providers/oauth/http_transport.h"
#include "worker/providers/oauth/token_source.h"

namespace ccr::worker {

namespace net = boost::asio;
namespace http = boost::beast::http;

FoundryProvider::FoundryProvider(const shared::ProviderConfig& cfg,
                                 const shared::ProviderTypeInfo& type,
                                 ProviderDeps deps)
    : Provider(cfg, type, deps) {
    if (!cfg.keys.empty()) return;
    // Token endpoints are the cloud's public ones: verified against the system store, not the
    // provider's ca_file (which is for base_url, often a private endpoint).
    try {
        tokens_ = oauth::make_entra_token_source(
            oauth::load_entra_credentials(cfg), "foundry provider '" + cfg.name + "'",
            oauth::make_pool_transport(*deps.pool, {}, deps.connect_timeout), *deps.clock);
    } catch (const std::exception& e) {
        credentials_error_ = e.what();
    }
}

FoundryProvider::~FoundryProvider() = default;

void FoundryProvider::authenticate(http::fields& out, const ClientCredentials&, int key) const {
    if (cfg_.keys.empty()) return;
    // The endpoint reads x-api-key; the Python SDK sends api-key as well, for older deployments.
    const std::string& k = key_at(cfg_, key);
    out.set("x-api-key", k);
    out.set("api-key", k);
}

net::awaitable<std::optional<PrepareError>> FoundryProvider::prepare(UpstreamRequest& up) const {
    prepare_wire(up);
    if (cfg_.keys.empty()) {
        if (!tokens_) co_return PrepareError{false, credentials_error_};
        const oauth::TokenResult token = co_await tokens_->token();
        if (!token.ok()) co_return PrepareError{false, token.error};
        up.headers.set(http::field::authorization, "Bearer " + token.access_token);
    }
    co_return std::nullopt;
}

}  // namespace ccr::worker
