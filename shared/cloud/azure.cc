// Foundry's settings. Keys and Entra ID together is an error rather than a precedence rule: each
// would be a silent choice of which credential (and which rate limits) the relay uses.

#include "shared/cloud/azure.h"

#include <utility>

namespace ccr::shared::cloud {
namespace {

using Severity = Problem::Severity;

constexpr const char* kDefaultAuthorityHost = "https://login.microsoftonline.com";

std::string authority_host(const ProviderConfig& p, EnvLookup env) {
    std::string host = p.azure_authority_host;
    if (host.empty()) {
        const std::optional<std::string> v = env("AZURE_AUTHORITY_HOST");
        if (v) host = *v;
    }
    if (host.empty()) return kDefaultAuthorityHost;
    if (host.find("://") == std::string::npos) host = "https://" + host;
    while (host.size() > 8 && host.back() == '/') host.pop_back();
    return host;
}

void not_used(const ProviderConfig& p, AzureResolution& r) {
    if (!p.azure_api_version.empty()) {
        r.problems.push_back({Severity::warning, "azure_api_version",
                              "azure_api_version is not in effect: Foundry's Anthropic endpoint "
                              "takes no api-version"});
    }
    if (!p.azure_deployment_id.empty()) {
        r.problems.push_back({Severity::warning, "azure_deployment_id",
                              "azure_deployment_id is not in effect: on Foundry the deployment "
                              "is the model name; map client model names to it with "
                              "model_mapping"});
    }
    if (!p.azure_resource_name.empty() && !p.base_url.empty()) {
        r.problems.push_back({Severity::warning, "azure_resource_name",
                              "azure_resource_name is not in effect: base_url is set and used "
                              "instead of https://<resource>.services.ai.azure.com/anthropic"});
    }
}

}  // namespace

AzureResolution resolve_azure(const ProviderConfig& p, EnvLookup env) {
    AzureResolution r;
    not_used(p, r);
    if (p.azure_resource_name.empty() && p.base_url.empty()) {
        r.problems.push_back({Severity::error, "azure_resource_name",
                              "azure_resource_name (or base_url) is required: requests go to "
                              "https://<azure_resource_name>.services.ai.azure.com/anthropic"});
    }
    const std::pair<const char*, const std::string*> trio[] = {
        {"azure_tenant_id", &p.azure_tenant_id},
        {"azure_client_id", &p.azure_client_id},
        {"azure_client_secret", &p.azure_client_secret}};
    std::vector<std::string> given;
    std::vector<std::string> missing;
    for (const auto& [key, value] : trio) (value->empty() ? missing : given).emplace_back(key);
    const bool keys = !p.keys.empty();
    if (!given.empty() && !missing.empty()) {
        std::string list;
        for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
        r.problems.push_back({Severity::error, given.front(),
                              "Entra ID client credentials need azure_tenant_id, azure_client_id "
                              "and azure_client_secret together; missing: " +
                                  list});
    } else if (missing.empty() && keys) {
        r.problems.push_back({Severity::error, "keys",
                              "give keys or Entra ID client credentials (azure_tenant_id, "
                              "azure_client_id, azure_client_secret), not both"});
    } else if (missing.empty()) {
        r.auth = AzureResolution::Auth::entra_id;
        r.tenant_id = p.azure_tenant_id;
        r.client_id = p.azure_client_id;
        r.client_secret = p.azure_client_secret;
        r.authority_host = authority_host(p, env);
    } else if (keys) {
        r.auth = AzureResolution::Auth::keys;
    } else {
        r.problems.push_back({Severity::error, "",
                              "no credentials: add keys (sent as x-api-key) or Entra ID client "
                              "credentials (azure_tenant_id, azure_client_id, "
                              "azure_client_secret)"});
    }
    if (r.auth != AzureResolution::Auth::entra_id && !p.azure_authority_host.empty()) {
        r.problems.push_back({Severity::warning, "azure_authority_host",
                              "azure_authority_host is not in effect without Entra ID client "
                              "credentials"});
    }
    return r;
}

}  // namespace ccr::shared::cloud
