// The cloud providers' rules (bedrock, vertex, azure/foundry), apart from validate.cc because
// they are about the environment as much as the file: where credentials and regions are found
// is decided by shared/cloud/, the same code the worker's adapters run, and each Problem it
// returns is reported here at the key it concerns. Values of secret keys never enter a message.

#include <string>
#include <utility>
#include <vector>

#include "shared/cloud/aws.h"
#include "shared/cloud/azure.h"
#include "shared/cloud/endpoints.h"
#include "shared/cloud/gcp.h"
#include "shared/config/internal.h"

namespace ccr::shared::config_detail {
namespace {

using cloud::Problem;

struct KeyFamily {
    const char* prefix;  // "aws_"
    const char* types;   // for the message
    bool (*owns)(const std::string& type);
    std::vector<std::pair<const char*, const std::string ProviderConfig::*>> keys;
};

const std::vector<KeyFamily>& families() {
    static const std::vector<KeyFamily> f = {
        {"aws_",
         "type bedrock",
         [](const std::string& t) { return t == "bedrock"; },
         {{"aws_region", &ProviderConfig::aws_region},
          {"aws_access_key_id", &ProviderConfig::aws_access_key_id},
          {"aws_secret_access_key", &ProviderConfig::aws_secret_access_key},
          {"aws_session_token", &ProviderConfig::aws_session_token},
          {"aws_profile", &ProviderConfig::aws_profile},
          {"aws_bearer_token", &ProviderConfig::aws_bearer_token}}},
        {"gcp_",
         "type vertex",
         [](const std::string& t) { return t == "vertex"; },
         {{"gcp_project_id", &ProviderConfig::gcp_project_id},
          {"gcp_region", &ProviderConfig::gcp_region},
          {"gcp_credentials_file", &ProviderConfig::gcp_credentials_file}}},
        {"azure_",
         "types azure and foundry",
         &cloud::is_foundry_type,
         {{"azure_resource_name", &ProviderConfig::azure_resource_name},
          {"azure_api_version", &ProviderConfig::azure_api_version},
          {"azure_deployment_id", &ProviderConfig::azure_deployment_id},
          {"azure_tenant_id", &ProviderConfig::azure_tenant_id},
          {"azure_client_id", &ProviderConfig::azure_client_id},
          {"azure_client_secret", &ProviderConfig::azure_client_secret},
          {"azure_authority_host", &ProviderConfig::azure_authority_host}}},
    };
    return f;
}

// Region and resource names become part of a host name.
bool is_host_label(const std::string& s) {
    if (s.empty() || s.front() == '-' || s.back() == '-') return false;
    for (const char c : s) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok) return false;
    }
    return true;
}

class CloudCheck {
  public:
    CloudCheck(const ProviderConfig& p,
               std::string path,
               const SourceMap& where,
               Report& report,
               EnvLookup env)
        : p_(p), path_(std::move(path)), where_(where), report_(report), env_(env) {}

    void run() {
        other_types_keys();
        if (p_.type == "bedrock") {
            keys_not_used(
                "a Bedrock API key goes in aws_bearer_token, SigV4 keys in "
                "aws_access_key_id and aws_secret_access_key");
            if (p_.enabled) bedrock();
        } else if (p_.type == "vertex") {
            keys_not_used(
                "Vertex AI takes Google OAuth tokens from gcp_credentials_file, "
                "GOOGLE_APPLICATION_CREDENTIALS or the metadata server");
            if (p_.enabled) vertex();
        } else if (cloud::is_foundry_type(p_.type) && p_.enabled) {
            report_all(cloud::resolve_azure(p_, env_).problems);
            host_label("azure_resource_name", p_.azure_resource_name);
        }
    }

  private:
    std::string label() const {
        return "provider " + (p_.name.empty() ? path_ : "\"" + p_.name + "\"") + " (" + p_.type +
               ")";
    }

    Position at(const std::string& key) const {
        return where_.find(key.empty() ? path_ : path_ + "." + key);
    }

    void report_all(const std::vector<Problem>& problems) {
        for (const Problem& pr : problems) {
            if (!pr.key.empty() && where_.is_invalid(path_ + "." + pr.key)) continue;
            std::string message = label() + ": " + pr.message;
            if (pr.severity == Problem::Severity::error) {
                report_.error(at(pr.key), std::move(message));
            } else {
                report_.warning(at(pr.key), std::move(message));
            }
        }
    }

    void other_types_keys() {
        for (const KeyFamily& family : families()) {
            if (family.owns(p_.type)) continue;
            for (const auto& [key, member] : family.keys) {
                if ((p_.*member).empty()) continue;
                report_.warning(at(key), path_ + "." + key +
                                             " has no effect on a provider of "
                                             "type \"" +
                                             p_.type + "\" (" + family.prefix +
                                             "* settings are for " + family.types + ")");
            }
        }
    }

    void keys_not_used(const std::string& instead) {
        if (p_.keys.empty()) return;
        report_.warning(at("keys"), label() + ": keys are not in effect on a " + p_.type +
                                        " provider: " + instead);
    }

    void host_label(const std::string& key, const std::string& value) {
        if (value.empty() || is_host_label(value)) return;
        report_.error(at(key), label() + ": " + key +
                                   " must be a name of letters, digits and "
                                   "\"-\" (it becomes part of a host name; got \"" +
                                   value + "\")");
    }

    void bedrock() {
        const cloud::AwsResolution r = cloud::resolve_aws(p_, env_);
        report_all(r.problems);
        if (!r.region.empty() && !is_host_label(r.region)) {
            report_.error(at(r.region_source == "config" ? "aws_region" : ""),
                          label() + ": the AWS region must be a name like \"us-east-1\" (got \"" +
                              r.region + "\" from " + r.region_source + ")");
        }
    }

    void vertex() {
        report_all(cloud::resolve_gcp(p_, env_).problems);
        host_label("gcp_region", p_.gcp_region);
    }

    const ProviderConfig& p_;
    const std::string path_;
    const SourceMap& where_;
    Report& report_;
    EnvLookup env_;
};

}  // namespace

void validate_cloud_provider(const ProviderConfig& p,
                             const std::string& path,
                             const SourceMap& where,
                             Report& report,
                             EnvLookup env) {
    CloudCheck(p, path, where, report, env).run();
}

}  // namespace ccr::shared::config_detail
