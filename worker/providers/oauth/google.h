#pragma once
// Upstream authentication, Google Vertex AI: where the credentials come from (a key file, ADC,
// the metadata server), the token request each kind makes, and Google's error envelope turned
// into Anthropic's.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "shared/config/config.h"
#include "worker/providers/oauth/jwt.h"
#include "worker/providers/oauth/token_source.h"

namespace ccr::worker::oauth {

inline constexpr std::string_view kGoogleTokenUrl = "https://oauth2.googleapis.com/token";
inline constexpr std::string_view kCloudPlatformScope =
    "https://www.googleapis.com/auth/cloud-platform";
inline constexpr std::string_view kMetadataHost = "metadata.google.internal";
inline constexpr std::int64_t kJwtLifetimeS = 3600;

struct GoogleCredentials {
    enum class Kind { service_account, authorized_user, metadata_server };
    Kind kind = Kind::metadata_server;
    std::string source;            // the file, or "the metadata server at <host>": for messages
    std::string project_id;        // service_account: its project_id
    std::string quota_project_id;  // authorized_user (and service_account) when the file has one
    std::string token_uri;         // service_account, authorized_user
    // service_account
    std::string client_email, private_key_id;
    PrivateKey private_key;
    // authorized_user
    std::string client_id, client_secret, refresh_token;
    // metadata_server
    std::string metadata_host;
};

/// Parses a credentials JSON file's text; `source` names it in errors. Throws std::runtime_error
/// naming every missing field (and never a secret) for anything but a usable service_account or
/// authorized_user file.
GoogleCredentials parse_google_credentials(std::string_view json, const std::string& source);

/// The credentials a Vertex provider uses, in google-auth's order: `gcp_credentials_file`, else
/// GOOGLE_APPLICATION_CREDENTIALS, else gcloud's ADC file ($CLOUDSDK_CONFIG or
/// $HOME/.config/gcloud, application_default_credentials.json) when it exists, else the metadata
/// server ($GCE_METADATA_HOST, else $GCE_METADATA_ROOT, else metadata.google.internal). Startup
/// only: reads the file, throws std::runtime_error when it cannot be read or used.
GoogleCredentials load_google_credentials(const shared::ProviderConfig& cfg,
                                          shared::EnvLookup env = &shared::process_env);

/// The token request for `creds` at `unix_seconds`: the JWT-bearer grant (service_account), the
/// refresh_token grant (authorized_user) or the metadata server's GET.
std::optional<TokenRequest> google_token_request(const GoogleCredentials& creds,
                                                 std::int64_t unix_seconds,
                                                 std::string& error);

/// A TokenSource over `creds` (kept inside it).
std::unique_ptr<TokenSource> make_google_token_source(GoogleCredentials creds,
                                                      std::string what,
                                                      Transport transport,
                                                      const shared::Clock& clock);

/// An error in Anthropic's terms.
struct AnthropicError {
    unsigned status = 0;
    std::string type;  // Anthropic error.type
    std::string message;
};

/// Google's error envelope, `{"error":{"code":429,"message":"…","status":"RESOURCE_EXHAUSTED"}}`,
/// possibly as the one element of an array, as an Anthropic error: by `status`
/// (RESOURCE_EXHAUSTED 429 rate_limit_error, UNAUTHENTICATED 401 authentication_error,
/// PERMISSION_DENIED 403 permission_error, NOT_FOUND 404 not_found_error, INVALID_ARGUMENT and
/// FAILED_PRECONDITION 400 invalid_request_error, UNAVAILABLE 529 overloaded_error,
/// DEADLINE_EXCEEDED 504 api_error), else by `code`. When `message` holds an Anthropic error as
/// JSON text, that inner error is used. nullopt for a body that is already Anthropic's
/// (`"type":"error"`), is not JSON, or is not Google's envelope.
std::optional<AnthropicError> convert_google_error(std::string_view body);

/// `{"type":"error","error":{"type":…,"message":…}}`, with "request_id" when one is given.
std::string anthropic_error_body(const AnthropicError& e, std::string_view request_id = {});

}  // namespace ccr::worker::oauth
