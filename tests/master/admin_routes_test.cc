#include "master/admin_routes.h"

#include <gtest/gtest.h>

namespace ccr::master {
namespace {

using boost::beast::http::verb;

TEST(AdminRoutes, ReadEndpointsAnswerGetAndHeadAndIgnoreTheQuery) {
    EXPECT_EQ(route_admin(verb::get, "/metrics").endpoint, AdminEndpoint::metrics);
    EXPECT_EQ(route_admin(verb::head, "/metrics").endpoint, AdminEndpoint::metrics);
    EXPECT_EQ(route_admin(verb::get, "/metrics?name[]=x").endpoint, AdminEndpoint::metrics);
    EXPECT_EQ(route_admin(verb::get, "/admin/status").endpoint, AdminEndpoint::status);
    EXPECT_EQ(route_admin(verb::get, "/admin/providers").endpoint, AdminEndpoint::providers);
    EXPECT_EQ(route_admin(verb::get, "/admin/clients").endpoint, AdminEndpoint::clients);
}

TEST(AdminRoutes, WrongMethodIs405WithTheAllowedOnes) {
    const AdminRoute post_metrics = route_admin(verb::post, "/metrics");
    EXPECT_EQ(post_metrics.endpoint, AdminEndpoint::method_not_allowed);
    EXPECT_EQ(post_metrics.allow, "GET, HEAD");
    const AdminRoute get_reload = route_admin(verb::get, "/admin/reload");
    EXPECT_EQ(get_reload.endpoint, AdminEndpoint::method_not_allowed);
    EXPECT_EQ(get_reload.allow, "POST");
    const AdminRoute get_disable = route_admin(verb::get, "/admin/providers/a/disable");
    EXPECT_EQ(get_disable.endpoint, AdminEndpoint::method_not_allowed);
    EXPECT_EQ(get_disable.allow, "POST");
    EXPECT_TRUE(get_disable.provider.empty());
}

TEST(AdminRoutes, ProviderActionsCarryThePercentDecodedName) {
    AdminRoute r = route_admin(verb::post, "/admin/providers/deep%20seek/disable");
    EXPECT_EQ(r.endpoint, AdminEndpoint::provider_disable);
    EXPECT_EQ(r.provider, "deep seek");
    r = route_admin(verb::post, "/admin/providers/a%2Fb/enable");
    EXPECT_EQ(r.endpoint, AdminEndpoint::provider_enable);
    EXPECT_EQ(r.provider, "a/b");
    EXPECT_EQ(route_admin(verb::post, "/admin/reload").endpoint, AdminEndpoint::reload);
}

TEST(AdminRoutes, AnythingElseIsNotFound) {
    for (const char* target : {"/", "/admin", "/admin/", "/admin/providers/", "/admin/providers/a",
                               "/admin/providers/a/restart", "/admin/providers//disable",
                               "/admin/providers/a/disable/x", "/admin/providers/%zz/disable",
                               "/admin/providers/a%2/disable", "/metrics/", "/admin/statusx"}) {
        EXPECT_EQ(route_admin(verb::post, target).endpoint, AdminEndpoint::not_found) << target;
        EXPECT_EQ(route_admin(verb::get, target).endpoint, AdminEndpoint::not_found) << target;
    }
}

TEST(AdminBearer, AnEmptyTokenLetsEveryRequestIn) {
    EXPECT_TRUE(bearer_matches("", ""));
    EXPECT_TRUE(bearer_matches("Basic xyz", ""));
}

TEST(AdminBearer, OnlyTheExactTokenWithTheBearerSchemeMatches) {
    EXPECT_TRUE(bearer_matches("Bearer s3cret", "s3cret"));
    EXPECT_TRUE(bearer_matches("bearer s3cret", "s3cret"));  // the scheme is case-insensitive
    EXPECT_FALSE(bearer_matches("", "s3cret"));
    EXPECT_FALSE(bearer_matches("s3cret", "s3cret"));
    EXPECT_FALSE(bearer_matches("Bearer s3cres", "s3cret"));
    EXPECT_FALSE(bearer_matches("Bearer s3cre", "s3cret"));
    EXPECT_FALSE(bearer_matches("Bearer s3crett", "s3cret"));
    EXPECT_FALSE(bearer_matches("Bearer S3CRET", "s3cret"));
    EXPECT_FALSE(bearer_matches("Basic  s3cret", "s3cret"));
}

}  // namespace
}  // namespace ccr::master
