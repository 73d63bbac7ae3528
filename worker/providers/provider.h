#pragma once
// Step 4/5 of the request path: a backend the router can pick. The interface of the original
// (name, base URL, owner, authenticate, forward headers, streaming, models) plus a request
// transform hook where a provider edits the body by splicing (model mapping; later Bedrock/Vertex).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/fields.hpp>

#include "shared/config/config.h"
#include "worker/body.h"
#include "worker/filters/auth.h"

namespace ccr::worker {

/// Where a provider lives: scheme, host, port and the path prefix requests are appended to.
struct Origin {
    bool tls = false;
    std::string host;
    std::uint16_t port = 0;
    std::string base_path;  // "" or "/api/anthropic" (no trailing slash)
    std::string ca_file;    // empty: system store
    /// Pool key: connections are shared only between identical origins.
    std::string key() const;
    std::string host_header() const;  // "host" or "host:port" when not the scheme default
};
bool parse_origin(std::string_view url, Origin& out);

class Provider {
public:
    Provider(const shared::ProviderConfig& cfg, const shared::ProviderTypeInfo& type);
    virtual ~Provider() = default;

    const std::string& name() const { return cfg_.name; }
    const std::string& type() const { return cfg_.type; }
    std::string_view owner() const { return type_.owner; }
    const std::string& base_url() const { return base_url_; }
    const Origin& origin() const { return origin_; }
    bool supports_streaming() const { return true; }
    bool serves_count_tokens() const;
    const std::vector<std::string>& models() const { return models_; }
    const shared::ProviderConfig& config() const { return cfg_; }
    /// Forwards the client's own credentials (an anthropic provider without keys): the only kind
    /// a pass-through bearer token (AuthGrant::passthrough) may reach.
    bool passes_client_credentials() const { return cfg_.keys.empty() && cfg_.type == "anthropic"; }
    /// Routing priority (keys[0].priority, 0..2, higher first; 0 without keys), as the Go relay.
    int priority() const { return cfg_.keys.empty() ? 0 : cfg_.keys.front().priority; }
    /// Routing weight (keys[0].weight; 0 or less counts as 1).
    int weight() const { return cfg_.keys.empty() || cfg_.keys.front().weight <= 0 ? 1 : cfg_.keys.front().weight; }

    /// Sets the upstream credential on `out`. With configured keys the provider's key is used in
    /// its header style and the client's credentials are dropped; an anthropic provider without
    /// keys passes the client's own credentials through (subscription login), never the proxy's
    /// secret nor the `config cc` placeholder token.
    /// `key`: which of keys[] (the key pool's pick).
    virtual void authenticate(boost::beast::http::fields& out, const ClientCredentials& client, int key = 0) const;

    /// Request-transform hook: body edits for this provider (default: exact model mapping).
    virtual void transform(const BodyInfo& body, BodySplice& splice) const;

    /// The upstream model name for `model` after model_mapping ("" when unmapped).
    std::string_view mapped_model(std::string_view model) const;

protected:
    shared::ProviderConfig cfg_;
    const shared::ProviderTypeInfo& type_;
    std::string base_url_;
    Origin origin_;
    std::vector<std::string> models_;
    std::size_t next_key_ = 0;
};

/// The one factory switch over provider types. Throws on an unknown type (validated earlier).
std::unique_ptr<Provider> make_provider(const shared::ProviderConfig& cfg);

}  // namespace ccr::worker
