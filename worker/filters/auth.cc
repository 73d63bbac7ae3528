#include "worker/filters/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace ccr::worker {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
    // Hash both sides first so the comparison time does not depend on where they differ nor on
    // the secret's length.
    unsigned char ha[SHA256_DIGEST_LENGTH];
    unsigned char hb[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), ha);
    SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), hb);
    return CRYPTO_memcmp(ha, hb, sizeof ha) == 0;
}

std::string_view bearer_token(std::string_view authorization) {
    authorization = trim(authorization);
    constexpr std::string_view kScheme = "bearer";
    if (authorization.size() < kScheme.size() + 1) return {};
    for (size_t i = 0; i < kScheme.size(); ++i) {
        char c = authorization[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != kScheme[i]) return {};
    }
    if (authorization[kScheme.size()] != ' ' && authorization[kScheme.size()] != '\t') return {};
    return trim(authorization.substr(kScheme.size() + 1));
}

bool auth_required(const shared::ServerConfig& server) {
    return server.bearer_enabled() || !server.effective_api_key().empty();
}

AuthResult authenticate(const shared::ServerConfig& server, const ClientCredentials& in) {
    AuthResult r;
    const std::string& key = server.effective_api_key();
    const std::string& secret = server.auth.bearer_secret;
    const bool bearer_enabled = server.bearer_enabled();

    // Facts the upstream-credential step needs, whatever the outcome.
    const std::string_view token = bearer_token(in.authorization);
    const bool token_is_key = !token.empty() && !key.empty() && constant_time_equal(token, key);
    const bool api_key_is_key = !in.api_key.empty() && !key.empty() && constant_time_equal(in.api_key, key);
    if (!token.empty()) {
        r.bearer_is_proxy_secret =
            token_is_key || (!secret.empty() && constant_time_equal(token, secret));
    }
    if (!in.api_key.empty()) {
        r.api_key_is_proxy_secret =
            api_key_is_key || (!secret.empty() && constant_time_equal(in.api_key, secret));
    }
    auto pass = [&](AuthGrant grant) {
        r.ok = true;
        r.grant = grant;
        return r;
    };

    // The relay's key is accepted as a bearer token too (Anthropic's API does the same).
    if (token_is_key) return pass(AuthGrant::relay_key);
    if (bearer_enabled && !token.empty()) {
        if (!secret.empty()) {
            if (constant_time_equal(token, secret)) return pass(AuthGrant::relay_key);
            r.message = "invalid bearer token";
            return r;
        }
        // Any token: the client's own credential (a subscription login), unless it also proved
        // the relay's key (SDKs with both variables set send both headers).
        return pass(api_key_is_key ? AuthGrant::relay_key : AuthGrant::passthrough);
    }
    if (!in.api_key.empty() && !key.empty()) {
        if (api_key_is_key) return pass(AuthGrant::relay_key);
        r.message = "invalid x-api-key";
        return r;
    }
    if (!auth_required(server)) return pass(AuthGrant::open);
    if (!token.empty()) {
        // Bearer off and the token is not the key.
        r.message = "invalid bearer token (the relay takes its key as x-api-key or Authorization: "
                    "Bearer; other bearer tokens need server.auth.allow_bearer)";
    } else if (!key.empty()) {
        r.message = bearer_enabled ? "missing x-api-key or authorization header"
                                   : "missing x-api-key or authorization header with the relay's key";
    } else {
        r.message = in.authorization.empty() ? "missing authorization header"
                                             : "invalid authorization scheme";
    }
    return r;
}

}  // namespace ccr::worker
