#pragma once
// The base URL a provider's requests go to. base_url, when set, overrides the computed one for
// every type (private endpoints, VPC endpoints, gateways). The adapters append their paths:
// Bedrock /model/{id}/invoke..., Vertex /v1/projects/{project}/locations/{region}/...,
// Foundry /v1/messages.

#include <string>

#include "shared/config/config.h"

namespace ccr::shared::cloud {

/// base_url, else:
///   bedrock          https://bedrock-runtime.{region}.amazonaws.com (region as resolve_aws_region)
///   vertex           gcp_region "global" https://aiplatform.googleapis.com,
///                    "us" https://aiplatform.us.rep.googleapis.com,
///                    "eu" https://aiplatform.eu.rep.googleapis.com,
///                    else https://{region}-aiplatform.googleapis.com
///   azure, foundry   https://{azure_resource_name}.services.ai.azure.com/anthropic
///   other types      the type table's default_base_url
/// Empty when what it needs (region, resource name, a known type) is missing.
std::string effective_base_url(const ProviderConfig& p, EnvLookup env = &process_env);

/// Whether `type` is one of the cloud types whose URL is computed (bedrock, vertex, azure,
/// foundry).
bool is_cloud_type(const std::string& type);
/// azure and its alias foundry.
bool is_foundry_type(const std::string& type);

}  // namespace ccr::shared::cloud
