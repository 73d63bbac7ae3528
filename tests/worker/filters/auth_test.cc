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

}  // namespace
}  // namespace ccr::worker
