#pragma once
// Upstream authentication, Microsoft Foundry with Entra ID: the client-credentials grant for the
// scope https://ai.azure.com/.default.

#include <memory>
#include <string>
#include <string_view>

#include "shared/config/config.h"
#include "worker/providers/oauth/token_source.h"

namespace ccr::worker::oauth {

inline constexpr std::string_view kEntraAuthorityHost = "login.microsoftonline.com";
inline constexpr std::string_view kFoundryScope = "https://ai.azure.com/.default";

struct EntraCredentials {
    std::string token_url;  // https://{authority}/{tenant}/oauth2/v2.0/token
    std::string client_id;
    std::string client_secret;
};

/// From azure_tenant_id, azure_client_id, azure_client_secret and the authority host
/// (azure_authority_host, else AZURE_AUTHORITY_HOST, else login.microsoftonline.com; with or
/// without a scheme, https:// assumed; http:// is kept, for a loopback fake). Startup only:
/// throws std::runtime_error naming every missing field.
EntraCredentials load_entra_credentials(const shared::ProviderConfig& cfg,
                                        shared::EnvLookup env = &shared::process_env);

/// POST token_url, `grant_type=client_credentials&client_id=…&client_secret=…&scope=…`.
TokenRequest entra_token_request(const EntraCredentials& creds);

/// A TokenSource over `creds` (kept inside it).
std::unique_ptr<TokenSource> make_entra_token_source(EntraCredentials creds,
                                                     std::string what,
                                                     Transport transport,
                                                     const shared::Clock& clock);

}  // namespace ccr::worker::oauth
