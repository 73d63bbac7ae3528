#include "worker/providers/vertex.h"

#include <stdexcept>

#include <boost/beast/http/field.hpp>

#include "shared/util/json.h"
#include "worker/providers/oauth/google.h"
#include "worker/providers/oauth/http_transport.h"
#include "worker/providers/oauth/token_source.h"

namespace ccr::worker {

namespace net = boost::asio;
namespace http = boost::beast::http;

namespace {
constexpr std::string_view kVertexVersion = "vertex-2023-10-16";
}

VertexProvider::VertexProvider(const shared::ProviderConfig& cfg,
                               const shared::ProviderTypeInfo& type,
                               ProviderDeps deps)
    : Provider(cfg, type, deps) {
    // Token endpoints are the cloud's public ones: verified against the system store, not the
    // provider's ca_file (which is for base_url, often a private endpoint).
    try {
        oauth::GoogleCredentials creds = oauth::load_google_credentials(cfg);
        quota_project_ = creds.quota_project_id;
        tokens_ = oauth::make_google_token_source(
            std::move(creds), "vertex provider '" + cfg.name + "'",
            oauth::make_pool_transport(*deps.pool, {}, deps.connect_timeout), *deps.clock);
    } catch (const std::exception& e) {
        // Validation reports this before start-up; a key file that went away since fails here,
        // per request, instead of taking the worker down.
        credentials_error_ = e.what();
    }
}

VertexProvider::~VertexProvider() = default;

net::awaitable<std::optional<PrepareError>> VertexProvider::prepare(UpstreamRequest& up) const {
    if (!tokens_) co_return PrepareError{false, credentials_error_};
    const oauth::TokenResult token = co_await tokens_->token();
    if (!token.ok()) co_return PrepareError{false, token.error};

    const bool count = up.endpoint == Endpoint::count_tokens;
    const std::string_view model = upstream_model(up.info.model);
    up.path = origin_.base_path;
    up.path += "/v1/projects/";
    up.path += cfg_.gcp_project_id;
    up.path += "/locations/";
    up.path += cfg_.gcp_region;
    up.path += "/publishers/anthropic/models/";
    if (count) {
        up.path += "count-tokens:rawPredict";
    } else {
        up.path += model;
        up.path += up.info.stream ? ":streamRawPredict" : ":rawPredict";
    }

    const BodyLayout layout = layout_body(up.json, up.body, up.body_capacity);
    common_edits(up, strips_billing() ? &layout : nullptr);
    std::string add;
    if (!layout.has("anthropic_version")) {
        add = "\"anthropic_version\":";
        shared::append_json_string(add, kVertexVersion);
    }
    bool ok = true;
    if (count) {
        // count-tokens names the model in the body.
        if (model != up.info.model) {
            std::string literal;
            shared::append_json_string(literal, model);
            ok = up.splice.replace(up.info.model_offset, up.info.model_length, std::move(literal));
        }
        ok = edit_members(layout, {}, std::move(add), up.splice) && ok;
    } else {
        ok = edit_members(layout, {"model"}, std::move(add), up.splice);
    }
    if (!ok) co_return PrepareError{false, "the request body could not be adapted for Vertex AI"};

    up.headers.set(http::field::content_type, "application/json");
    up.headers.set(http::field::authorization, "Bearer " + token.access_token);
    if (!quota_project_.empty()) up.headers.set("x-goog-user-project", quota_project_);
    co_return std::nullopt;
}

std::optional<MappedError> VertexProvider::map_error(unsigned status,
                                                     const http::fields&,
                                                     std::string_view body) const {
    // A 401 means the token was refused (revoked, or the clock moved): the next request fetches
    // a new one instead of riding the cached one to its expiry.
    if (status == 401 && tokens_) tokens_->invalidate();
    auto e = oauth::convert_google_error(body);
    if (!e) return std::nullopt;  // Anthropic's own shape (or not JSON): relayed as it is
    return MappedError{e->status, std::move(e->type), std::move(e->message)};
}

}  // namespace ccr::worker
