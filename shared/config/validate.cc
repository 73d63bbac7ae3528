// The rules of the schema, checked after defaults so each message can name the offending value
// and where it sits. Every problem is collected; nothing stops at the first.

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>

#include "shared/config/internal.h"

namespace ccr::shared::config_detail {
namespace {

constexpr std::int64_t kMaxTimeoutMs = 86'400'000;  // 24 h, the Go relay's bound
constexpr int kMaxWorkers = 1024;

bool contains(const std::vector<std::string>& set, const std::string& value) {
    return std::find(set.begin(), set.end(), value) != set.end();
}

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

class Validator {
  public:
    Validator(const Config& cfg, const SourceMap& where, Report& report, EnvLookup env)
        : cfg_(cfg), where_(where), report_(report), env_(env) {}

    void run() {
        server();
        for (std::size_t i = 0; i < cfg_.providers.size(); ++i) provider(i);
        routing();
        logging();
        health();
        clients();
        not_in_effect();
        debug_for();
        if (!any_provider_invalid() &&
            std::none_of(cfg_.providers.begin(), cfg_.providers.end(),
                         [](const ProviderConfig& p) { return p.enabled; })) {
            // A relay that can serve nothing is a mistake (a typo'd "enabled", an empty file),
            // not a configuration.
            report_.error(where_.find("providers"),
                          cfg_.providers.empty()
                              ? "no providers are configured: add at least one under providers: "
                                "(see config.example.yaml)"
                              : "no provider is enabled (set \"enabled: true\" on at least one)");
        }
        passthrough_bearer();
    }

  private:
    // A provider entry that could not be read was reported already; whether it meant to be
    // enabled is unknown.
    bool any_provider_invalid() const {
        if (where_.is_invalid("providers")) return true;
        for (std::size_t i = 0; i < cfg_.providers.size(); ++i) {
            if (where_.is_invalid("providers[" + std::to_string(i) + "]")) return true;
        }
        return false;
    }

    void error(const std::string& path, std::string message) {
        if (where_.is_invalid(path)) return;  // its value was already reported while reading
        report_.error(where_.find(path), std::move(message));
    }

    void warning(const std::string& path, std::string message) {
        report_.warning(where_.find(path), std::move(message));
    }

    void at_least_zero(const std::string& path, std::int64_t value) {
        if (value < 0) error(path, path + " must be >= 0 (got " + std::to_string(value) + ")");
    }

    void in_range(const std::string& path, std::int64_t value, std::int64_t lo, std::int64_t hi) {
        if (value < lo || value > hi) {
            error(path, path + " must be between " + std::to_string(lo) + " and " +
                            std::to_string(hi) + " (got " + std::to_string(value) + ")");
        }
    }

    void one_of(const std::string& path,
                const std::string& value,
                const std::vector<std::string>& allowed) {
        if (contains(allowed, value)) return;
        std::string message =
            path + " must be one of " + join_quoted(allowed) + " (got " + in_quotes(value) + ")";
        if (auto near = closest_match(value, allowed)) {
            message += "; did you mean " + in_quotes(*near) + "?";
        }
        error(path, std::move(message));
    }

    void server() {
        const ServerConfig& s = cfg_.server;
        if (s.listen.empty()) {
            error("server.listen", "server.listen must not be empty (e.g. \"127.0.0.1:8787\")");
        } else if (!parse_listen(s.listen)) {
            error("server.listen",
                  "server.listen must be \"host:port\", \"[ipv6]:port\" or \":port\" with a port "
                  "of 0-65535 (got " +
                      in_quotes(s.listen) + ")");
        }
        if (!s.tls.listen.empty()) {
            const auto tls = parse_listen(s.tls.listen);
            const auto main = parse_listen(s.listen);
            if (!tls) {
                error("server.tls.listen", "server.tls.listen must be \"host:port\" or \"[ipv6]:port\" (got " +
                                               in_quotes(s.tls.listen) + ")");
            } else if (main && main->port == tls->port && main->port != 0) {
                error("server.tls.listen",
                      "server.tls.listen must not use server.listen's port (" + std::to_string(tls->port) + ")");
            }
            for (const auto& [name, file] : {std::pair{"server.tls.cert_file", &s.tls.cert_file},
                                             std::pair{"server.tls.key_file", &s.tls.key_file}}) {
                if (file->empty()) {
                    error(s.tls.cert_file.empty() && s.tls.key_file.empty() ? "server.tls.listen" : name,
                          std::string(name) + " is required with server.tls.listen");
                } else {
                    readable_file(name, *file);
                }
            }
        } else if (!s.tls.cert_file.empty() || !s.tls.key_file.empty()) {
            warning(s.tls.cert_file.empty() ? "server.tls.key_file" : "server.tls.cert_file",
                    "server.tls has no effect without server.tls.listen (the HTTPS listener is off)");
        }
        if (!s.admin.listen.empty()) {
            const auto admin = parse_listen(s.admin.listen);
            const auto main = parse_listen(s.listen);
            if (!admin || admin->port == 0) {
                error("server.admin.listen",
                      "server.admin.listen must be \"host:port\" or \"[ipv6]:port\" with a port of 1-65535 (got " +
                          in_quotes(s.admin.listen) + ")");
            } else if (main && main->port == admin->port && main->port != 0) {
                error("server.admin.listen", "server.admin.listen must not use server.listen's port (" +
                                                 std::to_string(admin->port) + ")");
            }
        } else if (!s.admin.bearer_token.empty()) {
            warning("server.admin.bearer_token",
                    "server.admin.bearer_token has no effect without server.admin.listen (the admin listener is off)");
        }
        in_range("ledger.interval_ms", cfg_.ledger.interval_ms, 1000, 86'400'000);
        in_range("server.timeout_ms", s.timeout_ms, 0, kMaxTimeoutMs);
        at_least_zero("server.max_body_bytes", s.max_body_bytes);
        at_least_zero("server.max_concurrent", s.max_concurrent);
        in_range("server.workers", s.workers, 0, kMaxWorkers);
        for (const auto& [name, value] :
             {std::pair{"drain_timeout_ms", s.drain_timeout_ms},
              std::pair{"read_header_timeout_ms", s.read_header_timeout_ms},
              std::pair{"idle_timeout_ms", s.idle_timeout_ms},
              std::pair{"connect_timeout_ms", s.connect_timeout_ms},
              std::pair{"response_header_timeout_ms", s.response_header_timeout_ms},
              std::pair{"stream_idle_timeout_ms", s.stream_idle_timeout_ms}}) {
            in_range(std::string("server.") + name, value, 0, kMaxTimeoutMs);
        }
        at_least_zero("server.max_open_files", s.max_open_files);
        in_range("server.max_header_bytes", s.max_header_bytes, 1024, 16LL * 1024 * 1024);
        in_range("server.max_connections", s.max_connections, 1, 1'000'000);
        if (!s.shm_name.empty() &&
            (s.shm_name.front() != '/' || s.shm_name.size() < 2 || s.shm_name.size() > 255 ||
             s.shm_name.find('/', 1) != std::string::npos)) {
            error("server.shm_name", "server.shm_name must be \"/name\" with no other \"/\" (got " +
                                         in_quotes(s.shm_name) + ")");
        }
        if (s.stats_group.find_first_of(": \t/") != std::string::npos) {
            error("server.stats_group",
                  "server.stats_group must be a group name (got " + in_quotes(s.stats_group) + ")");
        }
        if (!s.auth.bearer_secret.empty() && !s.bearer_enabled()) {
            warning("server.auth.bearer_secret",
                    "server.auth.bearer_secret has no effect unless allow_bearer or "
                    "allow_subscription is true");
        }
    }

    void provider(std::size_t i) {
        const ProviderConfig& p = cfg_.providers[i];
        const std::string path = "providers[" + std::to_string(i) + "]";
        if (where_.is_invalid(path)) return;
        provider_name(p, path);
        const ProviderTypeInfo* info = provider_type(p, path);
        if (!where_.has(path + ".enabled")) {
            warning(path, "provider " + label(p, path) +
                              " has no \"enabled: true\" and is skipped (providers are disabled "
                              "by default)");
        }
        if (!p.base_url.empty()) base_url(path + ".base_url", p.base_url);
        if (!p.pooling.strategy.empty()) {
            one_of(path + ".pooling.strategy", p.pooling.strategy, pooling_strategies());
        }
        if (!p.ca_file.empty()) readable_file(path + ".ca_file", p.ca_file);
        if (p.http2 && !p.base_url.empty() && !p.base_url.starts_with("https://")) {
            warning(path + ".http2", path + ".http2: HTTP/2 to a provider is chosen by ALPN over TLS and base_url " +
                                         p.base_url + " is not https: this provider is spoken to in HTTP/1.1");
        }
        for (std::size_t k = 0; k < p.keys.size(); ++k) {
            key(p.keys[k], path + ".keys[" + std::to_string(k) + "]", info, p.enabled);
        }
        for (const auto& [model, price] : p.pricing) {
            const std::string pp = path + ".pricing." + model;
            for (const auto& [field, value] :
                 {std::pair{"input_per_mtok", price.input_per_mtok},
                  std::pair{"output_per_mtok", price.output_per_mtok},
                  std::pair{"cache_read_per_mtok", price.cache_read_per_mtok},
                  std::pair{"cache_write_per_mtok", price.cache_write_per_mtok}}) {
                if (value < 0) {
                    const std::string fp = pp + "." + field;
                    error(fp, fp + " must be >= 0 (got " + number_text(value) + ")");
                }
            }
        }
        if (info != nullptr && info->needs_key && p.enabled && p.keys.empty()) {
            error(path, "provider " + label(p, path) + " of type " + in_quotes(p.type) +
                            " needs at least one entry in keys[] (key: \"${..._API_KEY}\")");
        }
        if (info != nullptr) validate_cloud_provider(p, path, where_, report_, env_);
    }

    std::string label(const ProviderConfig& p, const std::string& path) const {
        return p.name.empty() ? path : in_quotes(p.name);
    }

    void provider_name(const ProviderConfig& p, const std::string& path) {
        if (p.name.empty()) {
            error(path + ".name", path + ".name is required");
            return;
        }
        const Position at = where_.find(path + ".name");
        const auto [first, inserted] = names_.emplace(p.name, at);
        if (!inserted) {
            error(path + ".name", "duplicate provider name " + in_quotes(p.name) +
                                      " (first defined at " + report_.where(first->second) + ")");
        }
    }

    const ProviderTypeInfo* provider_type(const ProviderConfig& p, const std::string& path) {
        const std::string type_path = path + ".type";
        if (p.type.empty()) {
            error(type_path, type_path + " is required (one of " + known_types() + ")");
            return nullptr;
        }
        if (const ProviderTypeInfo* info = find_provider_type(p.type)) return info;
        std::string message =
            "unknown provider type " + in_quotes(p.type) + " (known types: " + known_types() + ")";
        std::vector<std::string> names;
        for (const ProviderTypeInfo& t : provider_types()) names.emplace_back(t.type);
        if (auto near = closest_match(p.type, names)) {
            message += "; did you mean " + in_quotes(*near) + "?";
        }
        error(type_path, std::move(message));
        return nullptr;
    }

    static std::string known_types() {
        std::vector<std::string> names;
        for (const ProviderTypeInfo& t : provider_types()) names.emplace_back(t.type);
        return join_quoted(names);
    }

    void base_url(const std::string& path, const std::string& url) {
        std::string rest;
        if (url.rfind("http://", 0) == 0) {
            rest = url.substr(7);
        } else if (url.rfind("https://", 0) == 0) {
            rest = url.substr(8);
        } else {
            error(path, path + " must start with http:// or https:// (got " + in_quotes(url) + ")");
            return;
        }
        const std::string problem = url_authority_problem(rest);
        if (!problem.empty()) error(path, path + " " + problem + " (got " + in_quotes(url) + ")");
    }

    // What is wrong with "host[:port][/path]", empty when nothing.
    static std::string url_authority_problem(const std::string& rest) {
        if (rest.find_first_of("?# \t") != std::string::npos) {
            return "must not contain a query, a fragment or spaces";
        }
        const std::string authority = rest.substr(0, rest.find('/'));
        if (authority.find('@') != std::string::npos) return "must not contain user information";
        std::string host = authority;
        std::string port;
        if (!authority.empty() && authority.front() == '[') {
            const std::size_t close = authority.find(']');
            if (close == std::string::npos) return "has an unclosed \"[\" in its host";
            host = authority.substr(1, close - 1);
            const std::string after = authority.substr(close + 1);
            if (!after.empty() && after.front() != ':') return "has text after its IPv6 host";
            if (!after.empty()) port = after.substr(1);
            if (!after.empty() && port.empty()) return "has an empty port";
        } else if (const std::size_t colon = authority.find(':'); colon != std::string::npos) {
            host = authority.substr(0, colon);
            port = authority.substr(colon + 1);
            if (port.empty()) return "has an empty port";
        }
        if (host.empty()) return "must name a host";
        if (!port.empty()) {
            if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
                std::stoul(port) == 0 || std::stoul(port) > 65535) {
                return "must have a port of 1-65535";
            }
        }
        return {};
    }

    void readable_file(const std::string& path, const std::string& file) {
        std::error_code ec;
        if (!std::filesystem::exists(file, ec)) {
            error(path, path + " " + in_quotes(file) + " does not exist");
        } else if (!std::filesystem::is_regular_file(file, ec)) {
            error(path, path + " " + in_quotes(file) + " is not a regular file");
        } else if (::access(file.c_str(), R_OK) != 0) {
            error(path, path + " " + in_quotes(file) + " is not readable");
        }
    }

    void key(const KeyConfig& k,
             const std::string& path,
             const ProviderTypeInfo* info,
             bool enabled) {
        if (where_.is_invalid(path)) return;
        if (k.key.empty() && info != nullptr && info->needs_key && enabled) {
            error(path + ".key",
                  path + ".key is required for providers of type " + in_quotes(info->type));
        }
        at_least_zero(path + ".rpm_limit", k.rpm_limit);
        at_least_zero(path + ".itpm_limit", k.itpm_limit);
        at_least_zero(path + ".otpm_limit", k.otpm_limit);
        at_least_zero(path + ".tpm_limit", k.tpm_limit);
        in_range(path + ".priority", k.priority, 0, 2);
        at_least_zero(path + ".weight", k.weight);
    }

    static std::string number_text(double value) {
        std::string text = std::to_string(value);  // "-1.500000": drop the trailing zeros
        while (text.size() > 1 && text.back() == '0') text.pop_back();
        if (!text.empty() && text.back() == '.') text.pop_back();
        return text;
    }

    void routing() {
        const RoutingConfig& r = cfg_.routing;
        one_of("routing.strategy", r.strategy, routing_strategies());
        const bool known = parse_routing_strategy(r.strategy).has_value();
        at_least_zero("routing.failover_timeout", r.failover_timeout);
        at_least_zero("routing.max_attempts", r.max_attempts);
        if (known && r.kind == RoutingStrategy::cost_based &&
            std::none_of(cfg_.providers.begin(), cfg_.providers.end(),
                         [](const ProviderConfig& p) { return p.enabled && !p.pricing.empty(); })) {
            error("routing.strategy",
                  "routing.strategy \"cost_based\" needs prices: add pricing: to the enabled "
                  "providers (model or prefix -> input_per_mtok, output_per_mtok, ...)");
        }
        if (known && r.kind == RoutingStrategy::model_based) {
            if (r.model_mapping.empty()) {
                error("routing.strategy",
                      "routing.model_mapping (model-name prefix -> provider name) is required "
                      "when routing.strategy is \"model_based\"");
            }
            for (const auto& [prefix, target] : r.model_mapping) {
                provider_reference("routing.model_mapping." + prefix, target);
            }
        }
        if (!r.default_provider.empty()) {
            provider_reference("routing.default_provider", r.default_provider);
        }
    }

    // logging.debug_for names clients and providers of this config; a name that is not there
    // would silently debug nothing.
    void debug_for() {
        const DebugFor& d = cfg_.logging.debug_for;
        std::vector<std::string> clients, providers;
        for (const auto& c : cfg_.clients) clients.push_back(c.name);
        for (const auto& p : cfg_.providers) providers.push_back(p.name);
        auto check = [&](const std::vector<std::string>& names, const std::vector<std::string>& known, const char* what) {
            for (std::size_t i = 0; i < names.size(); ++i) {
                if (std::find(known.begin(), known.end(), names[i]) != known.end()) continue;
                const std::string path = std::string("logging.debug_for.") + what + "[" + std::to_string(i) + "]";
                std::string message = path + ": no " + (what == std::string("clients") ? "client" : "provider") +
                                      " named " + in_quotes(names[i]) + "; it matches no request";
                if (auto near = closest_match(names[i], known)) message += "; did you mean " + in_quotes(*near) + "?";
                warning(where_.has(path) ? path : "logging.debug_for", std::move(message));
            }
        };
        check(d.clients, clients, "clients");
        check(d.providers, providers, "providers");
    }

    // Keys the schema takes (for compatibility with the Go cc-relay) but nothing acts on yet:
    // accepting them silently would let an operator believe a limit or a breaker protects them.
    void not_in_effect() {
        auto warn_set = [&](const std::string& path, const std::string& until) {
            if (where_.has(path)) warning(path, path + " is not in effect yet (" + until + "); it is ignored");
        };
        const DebugOptions& d = cfg_.logging.debug_options;
        if (d.log_tls_metrics) {
            warn_set("logging.debug_options.log_tls_metrics", "it comes with the observability work");
        }
        if (cfg_.logging.pretty) warn_set("logging.pretty", "text logs are already one line per event");
    }

    // allow_bearer without a bearer_secret takes any bearer token, but only as the client's own
    // credential: providers that add a key of their own refuse such requests (401).
    void passthrough_bearer() {
        const ServerConfig& s = cfg_.server;
        if (!s.bearer_enabled() || !s.auth.bearer_secret.empty()) return;
        std::vector<std::string> keyed;
        for (const ProviderConfig& p : cfg_.providers) {
            if (p.enabled && !(p.type == "anthropic" && p.keys.empty())) keyed.push_back(p.name);
        }
        if (keyed.empty()) return;
        const std::string path = where_.has("server.auth.allow_bearer") ? "server.auth.allow_bearer"
                                                                          : "server.auth.allow_subscription";
        warning(path, path + " without server.auth.bearer_secret accepts any bearer token, but only "
                             "as the client's own credential (subscription pass-through): " +
                          join_quoted(keyed) +
                          " add provider keys and will answer such requests 401. Clients of "
                          "those need the relay's key (x-api-key or bearer) or a bearer_secret");
    }

    void provider_reference(const std::string& path, const std::string& name) {
        const auto it = std::find_if(cfg_.providers.begin(), cfg_.providers.end(),
                                     [&](const ProviderConfig& p) { return p.name == name; });
        if (it == cfg_.providers.end()) {
            std::vector<std::string> names;
            for (const ProviderConfig& p : cfg_.providers) {
                if (!p.name.empty()) names.push_back(p.name);
            }
            std::string message =
                path + " names provider " + in_quotes(name) + ", which is not defined in providers";
            if (auto near = closest_match(name, names)) {
                message += "; did you mean " + in_quotes(*near) + "?";
            }
            error(path, std::move(message));
        } else if (!it->enabled) {
            warning(path, path + " names provider " + in_quotes(name) + ", which is not enabled");
        }
    }

    void clients() {
        std::map<std::string, Position> names;
        std::map<std::string, Position> keys;
        const ServerConfig& s = cfg_.server;
        for (std::size_t i = 0; i < cfg_.clients.size(); ++i) {
            const ClientConfig& c = cfg_.clients[i];
            const std::string path = "clients[" + std::to_string(i) + "]";
            if (where_.is_invalid(path)) continue;
            if (c.name.empty()) {
                error(path + ".name", path + ".name is required");
            } else if (const auto [first, inserted] =
                           names.emplace(c.name, where_.find(path + ".name"));
                       !inserted) {
                error(path + ".name", "duplicate client name " + in_quotes(c.name) +
                                          " (first defined at " + report_.where(first->second) +
                                          ")");
            }
            client_key(c, path, keys, s);
            at_least_zero(path + ".rpm_limit", c.rpm_limit);
            at_least_zero(path + ".tpm_limit", c.tpm_limit);
            at_least_zero(path + ".daily_token_budget", c.daily_token_budget);
            for (std::size_t k = 0; k < c.allowed_providers.size(); ++k) {
                provider_reference(path + ".allowed_providers[" + std::to_string(k) + "]",
                                   c.allowed_providers[k]);
            }
        }
    }

    // Messages name where the clashing key sits, never the key itself: it is a secret.
    void client_key(const ClientConfig& c,
                    const std::string& path,
                    std::map<std::string, Position>& keys,
                    const ServerConfig& s) {
        const std::string key_path = path + ".key";
        if (c.key.empty()) {
            error(key_path, key_path + " is required (e.g. key: \"${CC_RELAY_KEY_" +
                                (c.name.empty() ? std::string("NAME") : upper_name(c.name)) +
                                "}\")");
            return;
        }
        if (const auto [first, inserted] = keys.emplace(c.key, where_.find(key_path)); !inserted) {
            error(key_path, key_path + " is the same as the key of the client defined at " +
                                report_.where(first->second) + "; each client needs its own key");
        }
        if (c.key == s.effective_api_key()) {
            error(key_path, key_path +
                                " is the same as the relay's own key (server.auth.api_key "
                                "or server.api_key); a client needs a key of its own");
        } else if (c.key == s.auth.bearer_secret) {
            error(key_path, key_path +
                                " is the same as server.auth.bearer_secret; a client "
                                "needs a key of its own");
        }
    }

    static std::string upper_name(const std::string& name) {
        std::string out;
        for (const char ch : name) {
            const auto u = static_cast<unsigned char>(ch);
            out += std::isalnum(u) ? static_cast<char>(std::toupper(u)) : '_';
        }
        return out;
    }

    void logging() {
        const LoggingConfig& l = cfg_.logging;
        one_of("logging.level", l.level, log_levels());
        one_of("logging.format", l.format, log_formats());
        at_least_zero("logging.debug_options.max_body_log_size", l.debug_options.max_body_log_size);
    }

    void health() {
        const HealthConfig& h = cfg_.health;
        in_range("health.health_check.interval_ms", h.health_check.interval_ms, 0, kMaxTimeoutMs);
        at_least_zero("health.circuit_breaker.failure_threshold",
                      h.circuit_breaker.failure_threshold);
        in_range("health.circuit_breaker.open_duration_ms", h.circuit_breaker.open_duration_ms, 0,
                 kMaxTimeoutMs);
        at_least_zero("health.circuit_breaker.half_open_probes",
                      h.circuit_breaker.half_open_probes);
    }

    const Config& cfg_;
    const SourceMap& where_;
    Report& report_;
    EnvLookup env_;
    std::map<std::string, Position> names_;  // provider name -> where first defined
};

}  // namespace

void validate(const Config& cfg, const SourceMap& where, Report& report, EnvLookup env) {
    Validator(cfg, where, report, env).run();
}

}  // namespace ccr::shared::config_detail
