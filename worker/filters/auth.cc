#include "worker/filters/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace ccr::worker {
namespace {

using Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

Digest sha256(std::string_view s) {
    Digest d;
    SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
    return d;
}

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

ClientKeys::ClientKeys(const std::vector<shared::ClientConfig>& clients) {
    digests_.reserve(clients.size());
    for (const shared::ClientConfig& c : clients) digests_.push_back(sha256(c.key));
}

int ClientKeys::find(std::string_view credential) const {
    if (digests_.empty() || credential.empty()) return -1;
    const Digest d = sha256(credential);
    int found = -1;
    // No early exit: the time is the same whichever client matches, and when none does.
    for (std::size_t i = 0; i < digests_.size(); ++i) {
        if (CRYPTO_memcmp(d.data(), digests_[i].data(), d.size()) == 0) found = static_cast<int>(i);
    }
    return found;
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

AuthResult authenticate(const shared::ServerConfig& server,
                        const ClientCredentials& in,
                        const ClientKeys& clients) {
    AuthResult r;
    const std::string& key = server.effective_api_key();
    const std::string& secret = server.auth.bearer_secret;
    const bool bearer_enabled = server.bearer_enabled();

    // Facts the upstream-credential step needs, whatever the outcome.
    const std::string_view token = bearer_token(in.authorization);
    const bool token_is_key = !token.empty() && !key.empty() && constant_time_equal(token, key);
    const bool api_key_is_key = !in.api_key.empty() && !key.empty() && constant_time_equal(in.api_key, key);
    const int token_client = token_is_key ? -1 : clients.find(token);
    const int api_key_client = api_key_is_key ? -1 : clients.find(in.api_key);
    if (!token.empty()) {
        r.bearer_is_proxy_secret = token_is_key || token_client >= 0 ||
                                   (!secret.empty() && constant_time_equal(token, secret));
    }
    if (!in.api_key.empty()) {
        r.api_key_is_proxy_secret = api_key_is_key || api_key_client >= 0 ||
                                    (!secret.empty() && constant_time_equal(in.api_key, secret));
    }
    auto pass = [&](AuthGrant grant, int client = -1) {
        r.ok = true;
        r.grant = grant;
        r.client = client;
        return r;
    };

    // The relay's key and the client keys are accepted as bearer tokens too (Anthropic's API
    // does the same with its keys).
    if (token_is_key) return pass(AuthGrant::relay_key);
    if (token_client >= 0) return pass(AuthGrant::client, token_client);
    if (bearer_enabled && !token.empty()) {
        if (!secret.empty()) {
            if (constant_time_equal(token, secret)) return pass(AuthGrant::relay_key);
            r.message = "invalid bearer token";
            return r;
        }
        // Any token: the client's own credential (a subscription login), unless it also proved
        // the relay's key or a client key (SDKs with both variables set send both headers).
        if (api_key_is_key) return pass(AuthGrant::relay_key);
        if (api_key_client >= 0) return pass(AuthGrant::client, api_key_client);
        return pass(AuthGrant::passthrough);
    }
    if (api_key_client >= 0) return pass(AuthGrant::client, api_key_client);
    if (!in.api_key.empty() && (!key.empty() || !clients.empty())) {
        if (api_key_is_key) return pass(AuthGrant::relay_key);
        r.message = "invalid x-api-key";
        return r;
    }
    if (!auth_required(server) && clients.empty()) return pass(AuthGrant::open);
    if (!token.empty()) {
        // Bearer off and the token is not the key.
        r.message = clients.empty()
                        ? "invalid bearer token (the relay takes its key as x-api-key or Authorization: "
                          "Bearer; other bearer tokens need server.auth.allow_bearer)"
                        : "invalid bearer token (the relay takes its key or a client key as x-api-key or "
                          "Authorization: Bearer; other bearer tokens need server.auth.allow_bearer)";
    } else if (!key.empty()) {
        r.message = bearer_enabled ? "missing x-api-key or authorization header"
                                   : "missing x-api-key or authorization header with the relay's key";
    } else if (!clients.empty()) {
        r.message = bearer_enabled ? "missing x-api-key or authorization header"
                                   : "missing x-api-key or authorization header with a client key";
    } else {
        r.message = in.authorization.empty() ? "missing authorization header"
                                             : "invalid authorization scheme";
    }
    return r;
}

}  // namespace ccr::worker
