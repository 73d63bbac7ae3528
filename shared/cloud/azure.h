#pragma once
// Microsoft Foundry (types azure and foundry): the resource and how requests authenticate:
// keys[] sent as x-api-key, or Entra ID client credentials (azure_tenant_id, azure_client_id,
// azure_client_secret) exchanged at azure_authority_host, else AZURE_AUTHORITY_HOST, else
// https://login.microsoftonline.com, for a token of scope https://ai.azure.com/.default.

#include <string>
#include <vector>

#include "shared/cloud/problem.h"
#include "shared/config/config.h"

namespace ccr::shared::cloud {

struct AzureResolution {
    enum class Auth { none, keys, entra_id };
    Auth auth = Auth::none;
    std::string tenant_id, client_id, client_secret;  // set with Auth::entra_id
    std::string authority_host;                       // "https://login.microsoftonline.com"
    /// Errors (no resource and no base_url, no credentials, a partial Entra ID trio, keys and
    /// Entra ID together) and warnings (settings Foundry does not use). Never a secret.
    std::vector<Problem> problems;
};

/// The Entra ID scope Foundry tokens are requested for.
inline constexpr const char* kFoundryTokenScope = "https://ai.azure.com/.default";

AzureResolution resolve_azure(const ProviderConfig& p, EnvLookup env = &process_env);

}  // namespace ccr::shared::cloud
