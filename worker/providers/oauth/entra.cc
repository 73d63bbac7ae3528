#include "worker/providers/oauth/entra.h"

#include <stdexcept>
#include <vector>

namespace ccr::worker::oauth {

EntraCredentials load_entra_credentials(const shared::ProviderConfig& cfg, shared::EnvLookup env) {
    std::vector<std::string> missing;
    if (cfg.azure_tenant_id.empty()) missing.emplace_back("azure_tenant_id");
    if (cfg.azure_client_id.empty()) missing.emplace_back("azure_client_id");
    if (cfg.azure_client_secret.empty()) missing.emplace_back("azure_client_secret");
    if (!missing.empty()) {
        std::string list;
        for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
        throw std::runtime_error("provider " + cfg.name + ": Entra ID client credentials lack " +
                                 list);
    }
    std::string host = cfg.azure_authority_host;
    if (host.empty()) {
        if (std::optional<std::string> v = env("AZURE_AUTHORITY_HOST")) host = *v;
    }
    if (host.empty()) host = kEntraAuthorityHost;
    while (!host.empty() && host.back() == '/') host.pop_back();
    if (host.find("://") == std::string::npos) host = "https://" + host;
    if (host.substr(0, 8) != "https://" && host.substr(0, 7) != "http://")
        throw std::runtime_error("provider " + cfg.name + ": Entra authority host " + host +
                                 " is not an http(s) URL");
    EntraCredentials c;
    c.token_url = host + "/";
    append_form_encoded(c.token_url, cfg.azure_tenant_id);  // a GUID or a domain: nothing to encode
    c.token_url += "/oauth2/v2.0/token";
    c.client_id = cfg.azure_client_id;
    c.client_secret = cfg.azure_client_secret;
    return c;
}

TokenRequest entra_token_request(const EntraCredentials& c) {
    TokenRequest req;
    req.url = c.token_url;
    req.form = form_encode({{"grant_type", "client_credentials"},
                            {"client_id", c.client_id},
                            {"client_secret", c.client_secret},
                            {"scope", kFoundryScope}});
    return req;
}

std::unique_ptr<TokenSource> make_entra_token_source(EntraCredentials creds,
                                                     std::string what,
                                                     Transport transport,
                                                     const shared::Clock& clock) {
    RequestBuilder build = [creds = std::move(creds)](std::int64_t, std::string&) {
        return std::optional<TokenRequest>(entra_token_request(creds));
    };
    return std::make_unique<TokenSource>(std::move(what), std::move(build), std::move(transport),
                                         clock);
}

}  // namespace ccr::worker::oauth
