#pragma once
// Step 5 of the request path: a backend the router can pick, as a protocol adapter. For each
// attempt the relay hands the provider an UpstreamRequest; the provider's prepare() sets the path,
// its headers (credentials, signatures) and the body's splices, fetching a token first when it
// must. On the way back the provider may decode the body (Bedrock's event stream into SSE) and map
// error bodies it shapes differently from Anthropic's.
//
// The seven Anthropic-format types (anthropic, zai, minimax, deepseek, moonshot, openrouter,
// ollama) differ only by data in the type table and share this base class; bedrock.cc, vertex.cc
// and foundry.cc hold the cloud adapters.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>

#include "shared/config/config.h"
#include "worker/body.h"
#include "worker/filters/auth.h"
#include "worker/routes.h"

namespace ccr::shared {
class Clock;
}

namespace ccr::worker {

namespace upstream {
class Pool;
}

/// Where a provider lives: scheme, host, port and the path prefix requests are appended to.
struct Origin {
    bool tls = false;
    std::string host;
    std::uint16_t port = 0;
    std::string base_path;  // "" or "/api/anthropic" (no trailing slash)
    std::string ca_file;    // empty: system store
    bool http2 = false;     // providers[].http2 on an https origin: HTTP/2 by ALPN (h2/upstream.h)
    /// Pool key: connections are shared only between identical origins.
    std::string key() const;
    std::string host_header() const;  // "host" or "host:port" when not the scheme default
    void append_host_header(std::string& out) const;  // the same, onto `out`
};
bool parse_origin(std::string_view url, Origin& out);

/// One attempt's request to a provider: what the relay knows (in), what prepare() decides (out).
struct UpstreamRequest {
    // In.
    std::string_view method;
    std::string_view target;        // the client's path and query
    std::string_view body;          // the client's body (the splice's original)
    std::size_t body_capacity = 0;  // allocated bytes behind body.data() (simdjson padding)
    const BodyInfo& info;
    Endpoint endpoint;
    const ClientCredentials& credentials;
    std::string_view anthropic_beta;  // the client's header ("" when absent)
    int key = 0;                      // which of the provider's keys (its pool's pick)
    JsonParser& json;

    // Out. The relay has already put its own edits (stripped thinking blocks) into `splice`.
    std::string path;                     // request-target sent upstream
    BodySplice splice;
    boost::beast::http::fields headers;   // set by the provider; replace client headers of the name
    std::optional<std::string> beta;      // replaces the client's anthropic-beta ("" drops it)
    std::string owned_body;               // a body made anew (Bedrock CountTokens); `splice` over it

    UpstreamRequest(std::string_view method,
                    std::string_view target,
                    std::string_view body,
                    std::size_t capacity,
                    const BodyInfo& info,
                    Endpoint endpoint,
                    const ClientCredentials& credentials,
                    std::string_view anthropic_beta,
                    int key,
                    JsonParser& json)
        : method(method), target(target), body(body), body_capacity(capacity), info(info), endpoint(endpoint),
          credentials(credentials), anthropic_beta(anthropic_beta), key(key), json(json), splice(body) {}
};

/// Why prepare() could not make the request (a token endpoint failed): the attempt fails over.
struct PrepareError {
    bool timeout = false;
    std::string message;
};

/// Turns a provider's response body into what the client gets (Bedrock: event stream → SSE).
class ResponseDecoder {
public:
    virtual ~ResponseDecoder() = default;
    /// The client's Content-Type.
    virtual std::string_view content_type() const = 0;
    /// Whether the output is an event stream (the usage tap reads it as SSE).
    virtual bool sse() const = 0;
    /// Appends the decoding of the next body bytes to `out`. False once the stream failed: `out`
    /// then ends with the last thing the client gets (an `event: error`).
    virtual bool feed(std::span<const char> in, std::string& out) = 0;
    /// The body ended: false (and the closing error appended) when it ended too early.
    virtual bool finish(std::string& out) = 0;
};

/// An error body a provider shapes its own way, in Anthropic's terms.
struct MappedError {
    unsigned status = 500;
    std::string type;     // error.type
    std::string message;  // error.message
};

/// What every provider may need beyond its config: the worker's connections and clock.
struct ProviderDeps {
    upstream::Pool* pool = nullptr;
    const shared::Clock* clock = nullptr;
    std::chrono::milliseconds connect_timeout{10'000};
};

class Provider {
public:
    Provider(const shared::ProviderConfig& cfg, const shared::ProviderTypeInfo& type, ProviderDeps deps = {});
    virtual ~Provider() = default;

    const std::string& name() const { return cfg_.name; }
    const std::string& type() const { return cfg_.type; }
    std::string_view owner() const { return type_.owner; }
    const std::string& base_url() const { return base_url_; }
    const Origin& origin() const { return origin_; }
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

    /// Sets path, headers and body splices of one attempt, and signs over the final bytes.
    /// Awaits only when a token must be fetched or refreshed. The default is the Anthropic wire:
    /// base path + target, model mapping, the provider's key (or the client's own credential).
    virtual boost::asio::awaitable<std::optional<PrepareError>> prepare(UpstreamRequest& up) const;
    /// prepare()'s work done at once, for a provider that never waits in it (the Anthropic wire):
    /// true when done; false, having done nothing, when the caller must co_await prepare(). Saves
    /// the relay a coroutine frame per attempt. A subclass that overrides prepare() overrides this
    /// too (the cloud providers return false).
    virtual bool prepare_now(UpstreamRequest& up) const;

    /// The decoder of a response with this status and Content-Type, or none (bytes pass unchanged).
    virtual std::unique_ptr<ResponseDecoder> decoder(unsigned status,
                                                     std::string_view content_type,
                                                     Endpoint endpoint) const;

    /// Whether error bodies (status >= 400) are read and given to map_error().
    virtual bool maps_errors() const { return false; }
    /// An error body in Anthropic's terms; none: relay it unchanged.
    virtual std::optional<MappedError> map_error(unsigned status,
                                                 const boost::beast::http::fields& head,
                                                 std::string_view body) const;

    /// Whether a count_tokens answer with this status means the provider cannot count (the relay
    /// then answers with its local estimate).
    virtual bool count_tokens_unavailable(unsigned status) const { return status == 404; }

    /// Whether the health checker may probe GET <base>/v1/models (cloud APIs have no such route).
    virtual bool has_models_route() const { return true; }

    /// Sets the provider's credential on `out` (the Anthropic-format way: its key in the type's
    /// header style, or, for an anthropic provider without keys, the client's own credential —
    /// never the proxy's secret nor the `config cc` placeholder). `key`: which of keys[].
    virtual void authenticate(boost::beast::http::fields& out, const ClientCredentials& client, int key = 0) const;

    /// The upstream model name for `model` after model_mapping ("" when unmapped).
    std::string_view mapped_model(std::string_view model) const;
    /// The model the upstream is asked for: the mapping's, else the client's.
    std::string_view upstream_model(std::string_view model) const;

    /// The client's anthropic-beta values this provider is sent (beta_headers), comma-separated.
    std::string filter_betas(std::string_view header) const;

protected:
    /// The Anthropic wire's prepare: base path + target, model mapping, common edits, credentials.
    void prepare_wire(UpstreamRequest& up) const;
    /// The edits every format shares: Claude Code's billing block (strip_billing_header) and the
    /// beta filter.
    void common_edits(UpstreamRequest& up, const BodyLayout* layout) const;
    /// Whether the body must be laid out for common_edits (a billing block may be removed).
    bool strips_billing() const { return strip_billing_; }

    shared::ProviderConfig cfg_;
    const shared::ProviderTypeInfo& type_;
    ProviderDeps deps_;
    std::string base_url_;
    Origin origin_;
    std::vector<std::string> models_;
    bool strip_billing_ = false;
    bool filters_betas_ = false;  // the beta filter may drop a value
};

/// keys[index].key of a provider with keys (keys[0] when the index is out of range).
const std::string& key_at(const shared::ProviderConfig& cfg, int index);

/// The one factory switch over provider types. Throws on an unknown type (validated earlier).
std::unique_ptr<Provider> make_provider(const shared::ProviderConfig& cfg, ProviderDeps deps = {});

}  // namespace ccr::worker
