// Endpoint shapes from anthropic-wire.md §5-§7 (the SDKs' Bedrock, Vertex and Foundry clients).

#include "shared/cloud/endpoints.h"

#include "shared/cloud/aws.h"

namespace ccr::shared::cloud {

bool is_foundry_type(const std::string& type) { return type == "azure" || type == "foundry"; }

bool is_cloud_type(const std::string& type) {
    return type == "bedrock" || type == "vertex" || is_foundry_type(type);
}

std::string effective_base_url(const ProviderConfig& p, EnvLookup env) {
    if (!p.base_url.empty()) return p.base_url;
    if (p.type == "bedrock") {
        const std::string region = resolve_aws_region(p, env);
        return region.empty() ? std::string()
                              : "https://bedrock-runtime." + region + ".amazonaws.com";
    }
    if (p.type == "vertex") {
        const std::string& region = p.gcp_region;
        if (region.empty()) return {};
        if (region == "global") return "https://aiplatform.googleapis.com";
        if (region == "us" || region == "eu") {
            return "https://aiplatform." + region + ".rep.googleapis.com";
        }
        return "https://" + region + "-aiplatform.googleapis.com";
    }
    if (is_foundry_type(p.type)) {
        return p.azure_resource_name.empty()
                   ? std::string()
                   : "https://" + p.azure_resource_name + ".services.ai.azure.com/anthropic";
    }
    const ProviderTypeInfo* info = find_provider_type(p.type);
    return info == nullptr ? std::string() : std::string(info->default_base_url);
}

}  // namespace ccr::shared::cloud
