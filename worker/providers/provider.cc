#include "worker/providers/provider.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "shared/cloud/endpoints.h"
#include "shared/cloud/request_policy.h"
#include "shared/util/json.h"
#include "worker/filters/auth.h"
#include "worker/providers/bedrock.h"
#include "worker/providers/foundry.h"
#include "worker/providers/vertex.h"

namespace ccr::worker {

namespace http = boost::beast::http;
namespace net = boost::asio;

std::string Origin::key() const {
    std::string k = tls ? "https://" : "http://";
    k += host;
    k += ':';
    k += std::to_string(port);
    if (!ca_file.empty()) {
        k += '|';
        k += ca_file;
    }
    if (http2) k += "|h2";
    return k;
}

std::string Origin::host_header() const {
    std::string h;
    append_host_header(h);
    return h;
}

void Origin::append_host_header(std::string& out) const {
    const bool literal_v6 = host.find(':') != std::string::npos;
    if (literal_v6) out += '[';
    out += host;
    if (literal_v6) out += ']';
    if ((tls && port != 443) || (!tls && port != 80)) {
        out += ':';
        out += std::to_string(port);
    }
}

bool parse_origin(std::string_view url, Origin& out) {
    if (url.substr(0, 8) == "https://") {
        out.tls = true;
        url.remove_prefix(8);
    } else if (url.substr(0, 7) == "http://") {
        out.tls = false;
        url.remove_prefix(7);
    } else {
        return false;
    }
    std::size_t slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? "" : url.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    out.base_path = std::string(path);
    out.port = out.tls ? 443 : 80;
    std::string_view host = authority;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return false;
        host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') return false;
            port = authority.substr(close + 2);
        }
    } else if (std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty()) return false;
    if (!port.empty()) {
        unsigned p = 0;
        auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535)
            return false;
        out.port = static_cast<std::uint16_t>(p);
    }
    out.host = std::string(host);
    return true;
}

Provider::Provider(const shared::ProviderConfig& cfg, const shared::ProviderTypeInfo& type, ProviderDeps deps)
    : cfg_(cfg), type_(type), deps_(deps) {
    base_url_ = shared::cloud::effective_base_url(cfg_);
    if (!parse_origin(base_url_, origin_))
        throw std::invalid_argument("provider " + cfg_.name + ": bad base_url " + base_url_);
    origin_.ca_file = cfg_.ca_file;
    origin_.http2 = cfg_.http2 && origin_.tls;
    models_ = cfg_.models.empty() ? shared::default_models(cfg_.type) : cfg_.models;
    strip_billing_ = shared::cloud::effective_strip_billing(cfg_);
    const shared::BetaFilter& betas = shared::cloud::effective_beta_filter(cfg_);
    filters_betas_ = betas.mode == shared::BetaFilter::Mode::allow || !betas.values.empty();
}

bool Provider::serves_count_tokens() const {
    return cfg_.count_tokens.value_or(type_.serves_count_tokens);
}

const std::string& key_at(const shared::ProviderConfig& cfg, int index) {
    const std::size_t i =
        index >= 0 && static_cast<std::size_t>(index) < cfg.keys.size() ? static_cast<std::size_t>(index) : 0;
    return cfg.keys[i].key;
}

void Provider::authenticate(http::fields& out, const ClientCredentials& client, int key_index) const {
    if (!cfg_.keys.empty()) {
        const std::string& key = key_at(cfg_, key_index);
        if (type_.bearer_auth) {
            out.set(http::field::authorization, "Bearer " + key);
        } else {
            out.set("x-api-key", key);
        }
        return;
    }
    if (!passes_client_credentials()) return;  // keyless non-anthropic (ollama): no credential
    // Transparent pass-through of the client's own credential (e.g. a Claude subscription).
    std::string_view token = bearer_token(client.authorization);
    if (!client.authorization.empty() && !client.authorization_is_proxy_secret &&
        token != kDummyToken) {
        out.set(http::field::authorization, client.authorization);
    }
    if (!client.api_key.empty() && !client.api_key_is_proxy_secret && client.api_key != kDummyToken) {
        out.set("x-api-key", client.api_key);
    }
}

std::string_view Provider::mapped_model(std::string_view model) const {
    for (const auto& [from, to] : cfg_.model_mapping) {
        if (from == model) return to;
    }
    return {};
}

std::string_view Provider::upstream_model(std::string_view model) const {
    const std::string_view to = mapped_model(model);
    return to.empty() ? model : to;
}

std::string Provider::filter_betas(std::string_view header) const {
    const shared::BetaFilter& f = shared::cloud::effective_beta_filter(cfg_);
    std::string out;
    while (!header.empty()) {
        const std::size_t comma = header.find(',');
        std::string_view v = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
        if (v.empty()) continue;
        if (!shared::cloud::beta_allowed(f, v)) continue;
        if (!out.empty()) out += ',';
        out += v;
    }
    return out;
}

void Provider::common_edits(UpstreamRequest& up, const BodyLayout* layout) const {
    if (layout != nullptr && layout->billing_block.length > 0)
        up.splice.replace(layout->billing_block.offset, layout->billing_block.length, {});
    if (filters_betas_ && !up.anthropic_beta.empty()) up.beta = filter_betas(up.anthropic_beta);
}

net::awaitable<std::optional<PrepareError>> Provider::prepare(UpstreamRequest& up) const {
    prepare_wire(up);
    co_return std::nullopt;
}

bool Provider::prepare_now(UpstreamRequest& up) const {
    prepare_wire(up);
    return true;
}

void Provider::prepare_wire(UpstreamRequest& up) const {
    up.path = origin_.base_path;
    up.path += up.target;
    std::string_view to = mapped_model(up.info.model);
    if (!to.empty() && to != up.info.model) {
        std::string literal;
        shared::append_json_string(literal, to);
        up.splice.replace(up.info.model_offset, up.info.model_length, std::move(literal));
    }
    if (strip_billing_) {
        const BodyLayout layout = layout_body(up.json, up.body, up.body_capacity);
        common_edits(up, &layout);
    } else {
        common_edits(up, nullptr);
    }
    authenticate(up.headers, up.credentials, up.key);
}

std::unique_ptr<ResponseDecoder> Provider::decoder(unsigned, std::string_view, Endpoint) const { return nullptr; }

std::optional<MappedError> Provider::map_error(unsigned, const http::fields&, std::string_view) const {
    return std::nullopt;
}

std::unique_ptr<Provider> make_provider(const shared::ProviderConfig& cfg, ProviderDeps deps) {
    const shared::ProviderTypeInfo* type = shared::find_provider_type(cfg.type);
    if (type == nullptr) throw std::invalid_argument("unknown provider type " + cfg.type);
    // The Anthropic-format types differ only in data (URL, auth header, count_tokens), which the
    // type table holds; the cloud types have adapters of their own.
    if (cfg.type == "bedrock") return std::make_unique<BedrockProvider>(cfg, *type, deps);
    if (cfg.type == "vertex") return std::make_unique<VertexProvider>(cfg, *type, deps);
    if (shared::cloud::is_foundry_type(cfg.type)) return std::make_unique<FoundryProvider>(cfg, *type, deps);
    return std::make_unique<Provider>(cfg, *type, deps);
}

}  // namespace ccr::worker
