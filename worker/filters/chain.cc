#include "worker/filters/chain.h"

#include <spdlog/spdlog.h>

#include "worker/filters/auth.h"
#include "worker/filters/request_id.h"
#include "worker/request.h"
#include "worker/runtime.h"

namespace ccr::worker::filters {

namespace http = boost::beast::http;

namespace {

// When auth is configured, everything but the liveness probes requires it (so /v1/models and
// /v1/providers do not describe the relay to strangers).
Verdict auth(const Runtime& rt, const ClientRequest& req, Route route, RequestContext& ctx) {
    if (is_probe(route, req.method())) return std::nullopt;
    ClientCredentials& creds = ctx.credentials;
    creds.authorization = req.value(http::field::authorization);
    creds.api_key = req.value("x-api-key");
    const AuthResult result = authenticate(rt.config->server, creds, rt.client_keys);
    if (!result.ok) {
        spdlog::warn("rid={} client={} authentication failed: {}", ctx.request_id, ctx.client,
                     result.message);
        return Rejection{shared::Errc::unauthorized, std::string(result.message)};
    }
    creds.authorization_is_proxy_secret = result.bearer_is_proxy_secret;
    creds.api_key_is_proxy_secret = result.api_key_is_proxy_secret;
    creds.grant = result.grant;
    creds.client = result.client;
    if (result.client >= 0) ctx.rec.client_name = rt.config->clients[static_cast<std::size_t>(result.client)].name;
    return std::nullopt;
}

}  // namespace

Verdict on_head(const Runtime& rt, const ClientRequest& req, Route route, RequestContext& ctx) {
    ctx.request_id = request_id_for(req.value("x-request-id"));
    return auth(rt, req, route, ctx);
}

Verdict on_body(Runtime& rt, RequestContext& ctx, BodyHolds& holds) {
    if (auto no = admit(rt, holds.admission)) return no;
    return limit_client(rt, ctx, holds.client);
}

}  // namespace ccr::worker::filters
