// Built-in knowledge: provider types, default models, the default config (as a struct and as the
// YAML that `config init` writes), "0 means the default" rules, listen parsing and discovery.

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "shared/config/internal.h"

namespace ccr::shared {

const std::vector<ProviderTypeInfo>& provider_types() {
    // type, owner, default base URL, bearer auth, serves count_tokens, needs a key.
    static const std::vector<ProviderTypeInfo> types = {
        {"anthropic", "anthropic", "https://api.anthropic.com", false, true, false},
        {"zai", "zhipu", "https://api.z.ai/api/anthropic", true, false, true},
        {"minimax", "minimax", "https://api.minimax.io/anthropic", false, false, true},
        {"deepseek", "deepseek", "https://api.deepseek.com/anthropic", false, false, true},
        {"moonshot", "moonshot", "https://api.moonshot.ai/anthropic", true, false, true},
        {"openrouter", "openrouter", "https://openrouter.ai/api", true, false, true},
        {"ollama", "ollama", "http://localhost:11434", true, false, false},
        // Cloud types: the URL is computed from region or resource (shared/cloud/endpoints.h);
        // auth is the adapters' own (SigV4 or a Bedrock API key, Google OAuth, Foundry x-api-key
        // or Entra ID), never keys[] as a bearer. Bedrock counts tokens with its CountTokens API.
        {"bedrock", "aws", "", false, true, false},
        {"vertex", "google", "", false, true, false},
        {"azure", "microsoft", "", false, true, false},
        {"foundry", "microsoft", "", false, true, false},  // alias of azure
    };
    return types;
}

const ProviderTypeInfo* find_provider_type(const std::string& type) {
    for (const ProviderTypeInfo& info : provider_types()) {
        if (type == info.type) return &info;
    }
    return nullptr;
}

std::vector<std::string> default_models(const std::string& type) {
    if (type == "anthropic" || type == "bedrock" || type == "vertex" || type == "azure" ||
        type == "foundry") {
        // The clouds serve the same models under their own ids, reached through model_mapping.
        return {"claude-opus-4-6", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"};
    }
    if (type == "zai") return {"glm-5", "glm-4.7", "glm-4.5-air"};
    if (type == "minimax") return {"MiniMax-M2.5", "MiniMax-M2"};
    if (type == "deepseek") return {"deepseek-chat", "deepseek-reasoner"};
    if (type == "moonshot") return {"kimi-k2.5"};
    if (type == "openrouter") return {"anthropic/claude-sonnet-4.5"};
    if (type == "ollama") return {"qwen3-coder"};
    return {};
}

namespace {

struct StrategyName {
    RoutingStrategy strategy;
    std::string_view name;
};

constexpr StrategyName kStrategyNames[] = {
    {RoutingStrategy::failover, "failover"},
    {RoutingStrategy::round_robin, "round_robin"},
    {RoutingStrategy::weighted_round_robin, "weighted_round_robin"},
    {RoutingStrategy::shuffle, "shuffle"},
    {RoutingStrategy::weighted_failover, "weighted_failover"},
    {RoutingStrategy::least_loaded, "least_loaded"},
    {RoutingStrategy::model_based, "model_based"},
    {RoutingStrategy::cost_based, "cost_based"},
    {RoutingStrategy::latency_based, "latency_based"},
};

}  // namespace

std::string_view to_string(RoutingStrategy strategy) {
    for (const StrategyName& s : kStrategyNames) {
        if (s.strategy == strategy) return s.name;
    }
    return "unknown";
}

std::optional<RoutingStrategy> parse_routing_strategy(std::string_view name) {
    for (const StrategyName& s : kStrategyNames) {
        if (s.name == name) return s.strategy;
    }
    return std::nullopt;
}

const std::vector<RoutingStrategy>& all_routing_strategies() {
    static const std::vector<RoutingStrategy> v = [] {
        std::vector<RoutingStrategy> out;
        for (const StrategyName& s : kStrategyNames) out.push_back(s.strategy);
        return out;
    }();
    return v;
}

const ModelPrice* find_price(const PriceTable& pricing, std::string_view model) {
    const ModelPrice* best = nullptr;
    std::size_t best_length = 0;
    for (const auto& [name, price] : pricing) {
        if (name == model) return &price;
        if (model.substr(0, name.size()) == name &&
            (best == nullptr || name.size() > best_length)) {
            best = &price;
            best_length = name.size();
        }
    }
    return best;
}

Config default_config() {
    Config cfg;
    ProviderConfig anthropic;
    anthropic.name = "anthropic";
    anthropic.type = "anthropic";
    anthropic.enabled = true;
    anthropic.models = default_models("anthropic");
    cfg.providers.push_back(std::move(anthropic));
    cfg.source = "<built-in>";
    return cfg;
}

const std::string& default_config_yaml() {
    static const std::string yaml =
        R"yaml(# cc-relay configuration. Every key is described in config.example.yaml
# (in the sources, and installed under etc/cc-relay/). In values, ${VAR} and ${VAR:-default}
# are replaced from the environment; $$ is a literal $.

server:
  # "host:port", "[::1]:port" or ":port" (all interfaces).
  listen: "127.0.0.1:8787"
  # Require clients to send this key as x-api-key (unset: no client authentication):
  # auth:
  #   api_key: "${CC_RELAY_API_KEY}"

routing:
  # failover, round_robin, weighted_round_robin, shuffle, weighted_failover, least_loaded,
  # model_based, cost_based, latency_based.
  strategy: failover

providers:
  # With no keys, requests pass through with the client's own credentials, so a logged-in
  # Claude Code (subscription or API key) works unchanged. Add keys to use the relay's own:
  #   keys:
  #     - key: "${ANTHROPIC_API_KEY}"
  - name: anthropic
    type: anthropic
    enabled: true

  # Other providers speak the Anthropic Messages API too (zai, minimax, deepseek, moonshot,
  # openrouter, ollama), or host Claude (bedrock, vertex, azure/foundry: see README "Cloud
  # providers"); each needs enabled: true to be used.
  # - name: zai
  #   type: zai
  #   enabled: true
  #   keys:
  #     - key: "${ZAI_API_KEY}"

logging:
  level: info     # trace, debug, info, warn, error, off
  format: text    # text or json
  output: stdout  # stdout, stderr or a file path
)yaml";
    return yaml;
}

std::optional<ListenAddress> parse_listen(const std::string& listen) {
    std::string host;
    std::string port;
    if (!listen.empty() && listen.front() == '[') {
        const std::size_t close = listen.find(']');
        if (close == std::string::npos || close == 1) return std::nullopt;
        if (close + 1 >= listen.size() || listen[close + 1] != ':') return std::nullopt;
        host = listen.substr(1, close - 1);
        port = listen.substr(close + 2);
        if (host.find_first_not_of("0123456789abcdefABCDEF:.%") != std::string::npos) {
            return std::nullopt;
        }
    } else {
        const std::size_t colon = listen.rfind(':');
        if (colon == std::string::npos) return std::nullopt;
        host = listen.substr(0, colon);
        port = listen.substr(colon + 1);
        // A bare IPv6 address needs brackets; whitespace and URL pieces are mistakes.
        if (host.find_first_of(": \t[]/") != std::string::npos) return std::nullopt;
    }
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
    }
    const unsigned long value = std::stoul(port);
    if (value > 65535) return std::nullopt;
    return ListenAddress{host, static_cast<std::uint16_t>(value)};
}

std::string shm_name_for(const std::string& shm_name, const std::string& listen) {
    if (!shm_name.empty()) return shm_name;
    const auto address = parse_listen(listen);
    return "/cc-relay-" + std::to_string(address ? address->port : 0);
}

std::string shm_name_for(const Config& cfg) {
    return shm_name_for(cfg.server.shm_name, cfg.server.listen);
}

std::optional<std::string> discover_config_path(const std::string& explicit_path) {
    if (!explicit_path.empty()) return explicit_path;
    std::vector<std::string> candidates = {"config.yaml"};
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
        candidates.push_back(std::string(home) + "/.config/cc-relay/config.yaml");
    }
    candidates.emplace_back("/etc/cc-relay/config.yaml");
    for (const std::string& path : candidates) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(path, ec)) return path;
    }
    return std::nullopt;
}

}  // namespace ccr::shared

namespace ccr::shared::config_detail {
namespace {

void default_if_zero(std::int64_t& value, std::int64_t fallback) {
    if (value == 0) value = fallback;
}

void default_if_empty(std::string& value, const char* fallback) {
    if (value.empty()) value = fallback;
}

}  // namespace

void apply_defaults(Config& cfg, const std::string& base_dir) {
    const ServerConfig server_defaults;
    ServerConfig& s = cfg.server;
    default_if_zero(s.timeout_ms, server_defaults.timeout_ms);
    default_if_zero(s.drain_timeout_ms, server_defaults.drain_timeout_ms);
    default_if_zero(s.read_header_timeout_ms, server_defaults.read_header_timeout_ms);
    default_if_zero(s.idle_timeout_ms, server_defaults.idle_timeout_ms);
    default_if_zero(s.max_header_bytes, server_defaults.max_header_bytes);
    for (std::string* file : {&s.tls.cert_file, &s.tls.key_file}) {
        if (!file->empty() && !base_dir.empty() && std::filesystem::path(*file).is_relative()) {
            *file = (std::filesystem::path(base_dir) / *file).string();
        }
    }
    default_if_zero(s.max_connections, server_defaults.max_connections);
    default_if_zero(s.connect_timeout_ms, server_defaults.connect_timeout_ms);

    const RoutingConfig routing_defaults;
    default_if_empty(cfg.routing.strategy, "failover");
    // An unknown name is an error from validate(); the kind stays failover until then.
    if (const auto kind = parse_routing_strategy(cfg.routing.strategy)) cfg.routing.kind = *kind;
    default_if_zero(cfg.routing.failover_timeout, routing_defaults.failover_timeout);

    LoggingConfig& l = cfg.logging;
    default_if_empty(l.level, "info");
    default_if_empty(l.format, "text");
    default_if_empty(l.output, "stdout");
    default_if_zero(l.debug_options.max_body_log_size, DebugOptions{}.max_body_log_size);

    const HealthConfig health_defaults;
    default_if_zero(cfg.health.health_check.interval_ms, health_defaults.health_check.interval_ms);
    CircuitBreakerConfig& cb = cfg.health.circuit_breaker;
    default_if_zero(cb.failure_threshold, health_defaults.circuit_breaker.failure_threshold);
    default_if_zero(cb.open_duration_ms, health_defaults.circuit_breaker.open_duration_ms);
    default_if_zero(cb.half_open_probes, health_defaults.circuit_breaker.half_open_probes);

    for (ProviderConfig& p : cfg.providers) {
        default_if_empty(p.pooling.strategy, "least_loaded");
        if (p.models.empty()) p.models = default_models(p.type);
        for (KeyConfig& k : p.keys) {
            // Deprecated tpm_limit: half for input, half for output, unless those are given.
            if (k.tpm_limit > 0 && k.itpm_limit == 0 && k.otpm_limit == 0) {
                k.itpm_limit = k.tpm_limit / 2;
                k.otpm_limit = k.tpm_limit - k.itpm_limit;
            }
        }
        if (!p.ca_file.empty() && !base_dir.empty()) {
            const std::filesystem::path ca(p.ca_file);
            if (ca.is_relative()) p.ca_file = (std::filesystem::path(base_dir) / ca).string();
        }
    }
}

const std::vector<std::string>& routing_strategies() {
    static const std::vector<std::string> v = [] {
        std::vector<std::string> out;
        for (const RoutingStrategy s : all_routing_strategies()) out.emplace_back(to_string(s));
        return out;
    }();
    return v;
}

const std::vector<std::string>& pooling_strategies() {
    static const std::vector<std::string> v = {"least_loaded", "round_robin", "random", "weighted"};
    return v;
}

const std::vector<std::string>& log_levels() {
    static const std::vector<std::string> v = {"trace", "debug", "info", "warn", "error", "off"};
    return v;
}

const std::vector<std::string>& log_formats() {
    static const std::vector<std::string> v = {"text", "json", "console", "pretty"};
    return v;
}

}  // namespace ccr::shared::config_detail
