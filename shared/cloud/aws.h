#pragma once
// Bedrock's credentials and region, resolved the way the AWS SDKs and Claude Code do (without
// the SSO, assume-role, credential_process and instance-metadata providers):
//   bearer token: aws_bearer_token, else AWS_BEARER_TOKEN_BEDROCK; when set it is sent as
//                 `Authorization: Bearer` and SigV4 is not used;
//   SigV4 keys:   aws_access_key_id + aws_secret_access_key (+ aws_session_token), else
//                 AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), else the
//                 shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else
//                 $HOME/.aws/credentials), profile aws_profile, else AWS_PROFILE, else "default";
//   region:       aws_region, else AWS_REGION, else AWS_DEFAULT_REGION.

#include <optional>
#include <string>
#include <vector>

#include "shared/cloud/problem.h"
#include "shared/config/config.h"

namespace ccr::shared::cloud {

/// SigV4 signing keys and where they were found.
struct AwsCredentialSet {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  // empty: long-term keys
    /// "config", "environment" or "<file> [profile <name>]".
    std::string source;
    friend bool operator==(const AwsCredentialSet&, const AwsCredentialSet&) = default;
};

struct AwsResolution {
    /// The SigV4 keys; nullopt when a bearer token is used or when none were found.
    std::optional<AwsCredentialSet> sigv4;
    std::string bearer_token;   // Bedrock API key; empty: SigV4
    std::string bearer_source;  // "config" or "environment"
    std::string region;         // empty: none found (an error in problems)
    std::string region_source;  // "config", "AWS_REGION" or "AWS_DEFAULT_REGION"
    /// Errors (no region, no credentials, a key without its secret) and warnings (settings
    /// another source overrides). Messages never contain a secret.
    std::vector<Problem> problems;

    bool uses_bearer() const { return !bearer_token.empty(); }
};

/// The shared credentials file looked at: AWS_SHARED_CREDENTIALS_FILE, else
/// $HOME/.aws/credentials; empty when neither is set.
std::string aws_credentials_file(EnvLookup env = &process_env);

/// Region only (no file is read): aws_region, else AWS_REGION, else AWS_DEFAULT_REGION.
/// `source` receives where it came from; the region is empty when none is set.
std::string resolve_aws_region(const ProviderConfig& p,
                               EnvLookup env = &process_env,
                               std::string* source = nullptr);

/// Everything: bearer token or SigV4 keys, and the region. Reads the shared credentials file
/// only when neither the config nor the environment has keys.
AwsResolution resolve_aws(const ProviderConfig& p, EnvLookup env = &process_env);

}  // namespace ccr::shared::cloud
