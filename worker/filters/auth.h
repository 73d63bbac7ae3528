#pragma once
// Client authentication, step 2 of the request path. The flow of the original design, branch for
// branch: Bearer enabled and a Bearer token present -> secret configured ? token must match : any
// token; else x-api-key must match the configured key; else 401 only when auth is required.

#include <string>
#include <string_view>

#include "shared/config/config.h"

namespace ccr::worker {

/// The client's credentials as sent, and what authentication learned about them. Read once per
/// request by the session; the upstream-credential step (Provider::authenticate) uses the same.
struct ClientCredentials {
    std::string_view authorization;  // raw Authorization header ("" when absent)
    std::string_view api_key;        // raw x-api-key header ("" when absent)
    bool authorization_is_proxy_secret = false;  // set from AuthResult: never forwarded
    bool api_key_is_proxy_secret = false;
};

struct AuthResult {
    bool ok = false;
    std::string_view message;  // why it failed (for the 401 body)
    /// The client's credential was the proxy's own secret (never forwarded upstream).
    bool bearer_is_proxy_secret = false;
    bool api_key_is_proxy_secret = false;
};

/// Decides whether the request may pass. Secrets are compared in constant time.
AuthResult authenticate(const shared::ServerConfig& server, const ClientCredentials& in);

/// "Bearer <token>" -> token (case-insensitive scheme, surrounding spaces trimmed); "" otherwise.
std::string_view bearer_token(std::string_view authorization);

/// Constant-time equality (time depends only on the lengths).
bool constant_time_equal(std::string_view a, std::string_view b);

/// Placeholder token written by `config cc init`; it is never a real credential.
inline constexpr std::string_view kDummyToken = "managed-by-cc-relay";

}  // namespace ccr::worker
