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

AuthResult authenticate(const shared::ServerConfig& server, const ClientCredentials& in) {
    AuthResult r;
    const std::string& key = server.effective_api_key();
    const std::string& secret = server.auth.bearer_secret;
    const bool bearer_enabled = server.bearer_enabled();
    const bool required = bearer_enabled || !key.empty();

    // Facts the upstream-credential step needs, whatever the outcome.
    std::string_view token = bearer_token(in.authorization);
    if (!token.empty()) {
        r.bearer_is_proxy_secret = (!secret.empty() && constant_time_equal(token, secret)) ||
                                   (!key.empty() && constant_time_equal(token, key));
    }
    if (!in.api_key.empty()) {
        r.api_key_is_proxy_secret = (!key.empty() && constant_time_equal(in.api_key, key)) ||
                                    (!secret.empty() && constant_time_equal(in.api_key, secret));
    }

    if (bearer_enabled && !token.empty()) {
        if (secret.empty() || constant_time_equal(token, secret)) {
            r.ok = true;
            return r;
        }
        r.message = "invalid bearer token";
        return r;
    }
    if (!in.api_key.empty() && !key.empty()) {
        if (constant_time_equal(in.api_key, key)) {
            r.ok = true;
            return r;
        }
        r.message = "invalid x-api-key";
        return r;
    }
    if (!required) {
        r.ok = true;
        return r;
    }
    if (!key.empty() && in.api_key.empty() && !token.empty() && !bearer_enabled) {
        // Newer SDKs send their key as a Bearer token; say why it is not taken.
        r.message = "missing x-api-key header (Authorization: Bearer is not accepted unless "
                    "server.auth.allow_bearer is set)";
    } else if (!key.empty() && in.api_key.empty() && token.empty()) {
        r.message = bearer_enabled ? "missing x-api-key or authorization header"
                                   : "missing x-api-key header";
    } else if (key.empty()) {
        r.message = in.authorization.empty() ? "missing authorization header"
                                             : "invalid authorization scheme";
    } else {
        r.message = "missing x-api-key header";
    }
    return r;
}

}  // namespace ccr::worker
