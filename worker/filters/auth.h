#pragma once
// Client authentication, step 2 of the request path. The flow of the original design, branch for
// branch, with two amendments:
//  - the relay's own key (server.auth.api_key) is accepted in either header, `x-api-key` or
//    `Authorization: Bearer`, as Anthropic's API accepts its keys (SDK 1.x sends a bearer);
//  - a bearer token accepted only because `allow_bearer` is on without a `bearer_secret` is a
//    subscription pass-through: it proves nothing about the relay, so such a request may only
//    reach providers that forward the client's own credentials (an anthropic provider without
//    keys), never one that adds a provider key.
// Client keys (`clients:`) are a third kind of credential: like the relay's key they are accepted
// in either header and never forwarded upstream, and they name the client the request is counted
// and limited under.
// Flow: a bearer token equal to the key -> relay key; equal to a client's key -> that client. Else
// bearer enabled and a bearer token present -> secret configured ? token must match :
// pass-through. Else x-api-key must match the key or a client's key. Else 401 only when auth is
// required.

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "shared/config/config.h"

namespace ccr::worker {

/// What the client proved.
enum class AuthGrant {
    open,         // no auth configured: everything passes
    relay_key,    // the relay's key or bearer secret
    passthrough,  // any bearer token (allow_bearer, no secret): the client's own credentials only
    client,       // the key of one of `clients:` (ClientCredentials::client says which)
};

/// The keys of `clients:`, held as SHA-256 digests computed once per config generation, so a
/// request hashes its credential once however many clients there are.
class ClientKeys {
public:
    ClientKeys() = default;
    explicit ClientKeys(const std::vector<shared::ClientConfig>& clients);
    /// The index (into Config::clients) of the client whose key is `credential`; -1 when none
    /// is. Every key is compared, so the time does not depend on which one matches.
    int find(std::string_view credential) const;
    bool empty() const { return digests_.empty(); }

private:
    std::vector<std::array<unsigned char, 32>> digests_;
};

/// The client's credentials as sent, and what authentication learned about them. Read once per
/// request by the session; the upstream-credential step (Provider::authenticate) uses the same.
struct ClientCredentials {
    std::string_view authorization;  // raw Authorization header ("" when absent)
    std::string_view api_key;        // raw x-api-key header ("" when absent)
    bool authorization_is_proxy_secret = false;  // set from AuthResult: never forwarded
    bool api_key_is_proxy_secret = false;
    AuthGrant grant = AuthGrant::open;
    int client = -1;  // grant == client: the index of the client in Config::clients
};

struct AuthResult {
    bool ok = false;
    AuthGrant grant = AuthGrant::open;
    int client = -1;           // grant == client: which one (index into Config::clients)
    std::string_view message;  // why it failed (for the 401 body)
    /// The client's credential was the proxy's own secret (never forwarded upstream).
    bool bearer_is_proxy_secret = false;
    bool api_key_is_proxy_secret = false;
};

/// Decides whether the request may pass. Secrets are compared in constant time. With client
/// keys, auth is required (Config::auth_required).
AuthResult authenticate(const shared::ServerConfig& server,
                        const ClientCredentials& in,
                        const ClientKeys& clients = ClientKeys{});

/// Whether server.auth configures client authentication (then every route but /health and the
/// HEAD probes requires it). Client keys require it as well (Config::auth_required);
/// authenticate() takes both into account.
bool auth_required(const shared::ServerConfig& server);

/// "Bearer <token>" -> token (case-insensitive scheme, surrounding spaces trimmed); "" otherwise.
std::string_view bearer_token(std::string_view authorization);

/// Constant-time equality (time depends only on the lengths).
bool constant_time_equal(std::string_view a, std::string_view b);

/// Placeholder token written by `config cc init`; it is never a real credential.
inline constexpr std::string_view kDummyToken = "managed-by-cc-relay";

/// The 401 message for a pass-through credential that no candidate provider would forward.
inline constexpr std::string_view kPassthroughRefused =
    "this bearer token is not the relay's key (server.auth.allow_bearer without a bearer_secret "
    "accepts other tokens only as the client's own credentials, for anthropic providers without "
    "keys, and none serves this request); send the relay's key as x-api-key or bearer";

}  // namespace ccr::worker
