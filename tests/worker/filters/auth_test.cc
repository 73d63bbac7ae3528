#include "worker/filters/auth.h"

#include <gtest/gtest.h>

namespace ccr::worker {
namespace {

shared::ServerConfig server(std::string api_key, bool bearer, std::string secret) {
    shared::ServerConfig s;
    s.auth.api_key = std::move(api_key);
    s.auth.allow_bearer = bearer;
    s.auth.bearer_secret = std::move(secret);
    return s;
}

TEST(Auth, NoAuthConfiguredLetsEverythingThrough) {
    EXPECT_TRUE(authenticate(server("", false, ""), {}).ok);
    EXPECT_TRUE(authenticate(server("", false, ""), {"Bearer whatever", "some-key"}).ok);
}

TEST(Auth, BearerWithSecretMustMatch) {
    auto s = server("", true, "s3cret");
    EXPECT_TRUE(authenticate(s, {"Bearer s3cret", ""}).ok);
    auto bad = authenticate(s, {"Bearer nope", ""});
    EXPECT_FALSE(bad.ok);
    EXPECT_EQ(bad.message, "invalid bearer token");
}

TEST(Auth, BearerWithoutSecretAcceptsAnyToken) {
    auto s = server("", true, "");
    EXPECT_TRUE(authenticate(s, {"Bearer anything-at-all", ""}).ok);
    EXPECT_TRUE(authenticate(s, {"bearer lower-case-scheme", ""}).ok);
}

TEST(Auth, AllowSubscriptionIsAnAliasOfAllowBearer) {
    shared::ServerConfig s;
    s.auth.allow_subscription = true;
    EXPECT_TRUE(authenticate(s, {"Bearer sk-ant-oat01-x", ""}).ok);
    EXPECT_FALSE(authenticate(s, {}).ok);
}

TEST(Auth, BearerDisabledFallsThroughToApiKey) {
    auto s = server("key1", false, "");
    EXPECT_FALSE(authenticate(s, {"Bearer other", ""}).ok);
    EXPECT_TRUE(authenticate(s, {"Bearer other", "key1"}).ok);
}

TEST(Auth, TheRelayKeyIsAcceptedAsABearerTokenAsAnthropicDoes) {
    // SDK 1.x and Claude Code's ANTHROPIC_AUTH_TOKEN send the key as a bearer token.
    for (bool bearer : {false, true}) {
        for (const char* secret : {"", "sec"}) {
            auto r = authenticate(server("key1", bearer, secret), {"Bearer key1", ""});
            EXPECT_TRUE(r.ok) << bearer << secret;
            EXPECT_EQ(r.grant, AuthGrant::relay_key);
            EXPECT_TRUE(r.bearer_is_proxy_secret);
        }
    }
}

TEST(Auth, AnotherBearerTokenWhileBearerIsOffIsRefusedWithAHint) {
    auto r = authenticate(server("key1", false, ""), {"Bearer not-the-key", ""});
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.message.find("allow_bearer"), std::string_view::npos);
}

TEST(Auth, AnyBearerWithoutASecretIsOnlyAPassThroughGrant) {
    auto r = authenticate(server("key1", true, ""), {"Bearer totally-random", ""});
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.grant, AuthGrant::passthrough);
    EXPECT_FALSE(r.bearer_is_proxy_secret);
    EXPECT_EQ(authenticate(server("", true, ""), {"Bearer sk-ant-oat01-x", ""}).grant,
              AuthGrant::passthrough);
}

TEST(Auth, APassThroughBearerWithTheRelayKeyBesideItIsARelayKeyGrant) {
    auto r = authenticate(server("key1", true, ""), {"Bearer sk-ant-oat01-x", "key1"});
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.grant, AuthGrant::relay_key);
    EXPECT_TRUE(r.api_key_is_proxy_secret);
    EXPECT_FALSE(r.bearer_is_proxy_secret);
}

TEST(Auth, GrantsNameWhatTheClientProved) {
    EXPECT_EQ(authenticate(server("", false, ""), {}).grant, AuthGrant::open);
    EXPECT_EQ(authenticate(server("key1", false, ""), {"", "key1"}).grant, AuthGrant::relay_key);
    EXPECT_EQ(authenticate(server("", true, "sec"), {"Bearer sec", ""}).grant, AuthGrant::relay_key);
}

TEST(Auth, AuthIsRequiredWhenAKeyOrBearerIsConfigured) {
    EXPECT_FALSE(auth_required(server("", false, "")));
    EXPECT_TRUE(auth_required(server("k", false, "")));
    EXPECT_TRUE(auth_required(server("", true, "")));
}

TEST(Auth, ApiKeyMustMatch) {
    auto s = server("key1", false, "");
    EXPECT_TRUE(authenticate(s, {"", "key1"}).ok);
    auto bad = authenticate(s, {"", "key2"});
    EXPECT_FALSE(bad.ok);
    EXPECT_EQ(bad.message, "invalid x-api-key");
}

TEST(Auth, MissingCredentialsAre401OnlyWhenAuthIsRequired) {
    EXPECT_FALSE(authenticate(server("key1", false, ""), {}).ok);
    EXPECT_FALSE(authenticate(server("", true, ""), {}).ok);
    EXPECT_TRUE(authenticate(server("", false, ""), {}).ok);
}

TEST(Auth, NonBearerAuthorizationWithBearerEnabledFallsToApiKey) {
    auto s = server("key1", true, "sec");
    EXPECT_TRUE(authenticate(s, {"Basic abc", "key1"}).ok);
    EXPECT_FALSE(authenticate(s, {"Basic abc", ""}).ok);
}

TEST(Auth, LegacyServerApiKeyIsUsedWhenAuthApiKeyIsEmpty) {
    shared::ServerConfig s;
    s.api_key = "legacy";
    EXPECT_TRUE(authenticate(s, {"", "legacy"}).ok);
    EXPECT_FALSE(authenticate(s, {"", "other"}).ok);
}

TEST(Auth, ProxySecretsAreFlaggedSoTheyAreNeverForwarded) {
    auto s = server("key1", true, "sec");
    auto r = authenticate(s, {"Bearer sec", "key1"});
    EXPECT_TRUE(r.ok);
    EXPECT_TRUE(r.bearer_is_proxy_secret);
    EXPECT_TRUE(r.api_key_is_proxy_secret);
    auto sub = authenticate(server("", true, ""), {"Bearer sk-ant-oat01-user", ""});
    EXPECT_FALSE(sub.bearer_is_proxy_secret);
}

TEST(Auth, BearerTokenParsingIsStrictAboutTheScheme) {
    EXPECT_EQ(bearer_token("Bearer abc"), "abc");
    EXPECT_EQ(bearer_token("  BEARER   abc  "), "abc");
    EXPECT_EQ(bearer_token("Bearerabc"), "");
    EXPECT_EQ(bearer_token("Basic abc"), "");
    EXPECT_EQ(bearer_token("Bearer "), "");
}

TEST(Auth, ConstantTimeEqualComparesContent) {
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

// ---- client keys (`clients:`) ----

ClientKeys client_keys() {
    std::vector<shared::ClientConfig> clients(2);
    clients[0].name = "alice";
    clients[0].key = "sk-alice";
    clients[1].name = "bob";
    clients[1].key = "sk-bob";
    return ClientKeys(clients);
}

TEST(Auth, AClientKeyIsAcceptedInEitherHeaderAndNamesItsClient) {
    const ClientKeys keys = client_keys();
    for (const auto& s : {server("", false, ""), server("key1", false, ""), server("key1", true, "sec"),
                          server("", true, "")}) {
        const AuthResult by_header = authenticate(s, {"", "sk-bob"}, keys);
        EXPECT_TRUE(by_header.ok);
        EXPECT_EQ(by_header.grant, AuthGrant::client);
        EXPECT_EQ(by_header.client, 1);
        const AuthResult by_bearer = authenticate(s, {"Bearer sk-alice", ""}, keys);
        EXPECT_TRUE(by_bearer.ok);
        EXPECT_EQ(by_bearer.grant, AuthGrant::client);
        EXPECT_EQ(by_bearer.client, 0);
    }
}

TEST(Auth, AClientKeyIsFlaggedSoItIsNeverForwarded) {
    const ClientKeys keys = client_keys();
    const AuthResult r = authenticate(server("", false, ""), {"Bearer sk-alice", "sk-alice"}, keys);
    EXPECT_TRUE(r.bearer_is_proxy_secret);
    EXPECT_TRUE(r.api_key_is_proxy_secret);
    // A subscription token beside a client key: the token is the user's own, the key is ours.
    const AuthResult both = authenticate(server("", true, ""), {"Bearer sk-ant-oat01-user", "sk-bob"}, keys);
    EXPECT_TRUE(both.ok);
    EXPECT_EQ(both.grant, AuthGrant::client);
    EXPECT_EQ(both.client, 1);
    EXPECT_FALSE(both.bearer_is_proxy_secret);
    EXPECT_TRUE(both.api_key_is_proxy_secret);
}

TEST(Auth, WithClientKeysAuthIsRequiredAndOtherKeysAreRefused) {
    const ClientKeys keys = client_keys();
    const auto open = server("", false, "");
    const AuthResult none = authenticate(open, {}, keys);
    EXPECT_FALSE(none.ok);
    EXPECT_EQ(none.message, "missing x-api-key or authorization header with a client key");
    const AuthResult wrong = authenticate(open, {"", "sk-carol"}, keys);
    EXPECT_FALSE(wrong.ok);
    EXPECT_EQ(wrong.message, "invalid x-api-key");
    EXPECT_FALSE(authenticate(open, {"Bearer sk-carol", ""}, keys).ok);
    EXPECT_FALSE(authenticate(open, {"Bearer sk-alice-and-more", ""}, keys).ok);
}

TEST(Auth, TheRelayKeyStillPassesBesideClientKeysAndIsNoClient) {
    const ClientKeys keys = client_keys();
    const AuthResult r = authenticate(server("key1", false, ""), {"", "key1"}, keys);
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.grant, AuthGrant::relay_key);
    EXPECT_EQ(r.client, -1);
    EXPECT_EQ(authenticate(server("", true, "sec"), {"Bearer sec", ""}, keys).grant, AuthGrant::relay_key);
}

TEST(Auth, ClientKeysFindNothingForAnEmptyCredentialOrNoClients) {
    EXPECT_EQ(client_keys().find(""), -1);
    EXPECT_EQ(client_keys().find("sk-bob"), 1);
    EXPECT_EQ(ClientKeys().find("sk-bob"), -1);
    EXPECT_TRUE(ClientKeys().empty());
}

}  // namespace
}  // namespace ccr::worker
