#pragma once
// The configuration model: what `config.yaml` says, after `${VAR}` expansion, defaults and
// validation. Schema-compatible with the Go cc-relay; keys new to this design live under `server:`.
// Loaded by the master (and by each CLI command); workers receive a validated Config.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ccr::shared {

struct KeyConfig {
    std::string key;
    std::int64_t rpm_limit = 0;
    std::int64_t itpm_limit = 0;
    std::int64_t otpm_limit = 0;
    std::int64_t tpm_limit = 0;  // deprecated: split 50/50 into itpm/otpm when those are unset
    int priority = 0;            // 0..2
    int weight = 0;              // 0 is treated as 1
    friend bool operator==(const KeyConfig&, const KeyConfig&) = default;
};

/// `beta_headers:` of a provider: which `anthropic-beta` values it is sent. `allow` keeps only the
/// listed values, `deny` drops the listed ones; unset (`configured` false) takes the type's
/// default (Bedrock and Vertex drop values they are known to reject; others pass everything).
struct BetaFilter {
    enum class Mode { allow, deny };
    bool configured = false;
    Mode mode = Mode::deny;
    std::vector<std::string> values;
    friend bool operator==(const BetaFilter&, const BetaFilter&) = default;
};

struct PoolingConfig {
    bool enabled = false;
    std::string strategy = "least_loaded";
    friend bool operator==(const PoolingConfig&, const PoolingConfig&) = default;
};

/// USD per million tokens for one model (or model-name prefix) of a provider (`pricing:`).
struct ModelPrice {
    double input_per_mtok = 0;
    double output_per_mtok = 0;
    double cache_read_per_mtok = 0;
    double cache_write_per_mtok = 0;
    friend bool operator==(const ModelPrice&, const ModelPrice&) = default;
};

/// Model name or model-name prefix -> its price, in file order.
using PriceTable = std::vector<std::pair<std::string, ModelPrice>>;

/// The price of `model`: the entry whose name equals it, else the one with the longest name that
/// is a prefix of it; nullptr when none is.
const ModelPrice* find_price(const PriceTable& pricing, std::string_view model);

struct ProviderConfig {
    std::string name;
    std::string type;  // anthropic, zai, minimax, deepseek, moonshot, openrouter, ollama, ...
    bool enabled = false;
    std::string base_url;  // empty: the type's default
    std::vector<std::string> models;
    /// Exact incoming model name -> provider model name, in file order.
    std::vector<std::pair<std::string, std::string>> model_mapping;
    std::vector<KeyConfig> keys;
    PoolingConfig pooling;
    std::string ca_file;  // PEM bundle used instead of the system store
    bool http2 = false;   // HTTP/2 by ALPN to an https base_url, requests multiplexed (worker/h2)
    /// Override whether the provider serves /v1/messages/count_tokens (unset: the type's default).
    std::optional<bool> count_tokens;
    // AWS Bedrock: region, then credentials (config, else the AWS environment variables, else the
    // shared credentials file's profile), or a Bedrock API key sent as a bearer token.
    std::string aws_region, aws_access_key_id, aws_secret_access_key, aws_session_token;
    std::string aws_profile;       // profile of the shared credentials file (else AWS_PROFILE, default)
    std::string aws_bearer_token;  // Bedrock API key (else AWS_BEARER_TOKEN_BEDROCK)
    // Google Vertex AI: project, region, and a service-account or authorized_user JSON key (else
    // GOOGLE_APPLICATION_CREDENTIALS, else the metadata server).
    std::string gcp_project_id, gcp_region, gcp_credentials_file;
    // Microsoft Foundry: the resource, and keys or Entra ID client credentials.
    std::string azure_resource_name, azure_api_version, azure_deployment_id;
    std::string azure_tenant_id, azure_client_id, azure_client_secret;
    std::string azure_authority_host;  // Entra ID host (else AZURE_AUTHORITY_HOST, login.microsoftonline.com)
    /// Which anthropic-beta values this provider is sent.
    BetaFilter beta_headers;
    /// Remove Claude Code's `x-anthropic-billing-header` system block (unset: true for every type
    /// but anthropic).
    std::optional<bool> strip_billing_header;
    /// Prices of this provider's models (for cost_based routing and spend in stats).
    PriceTable pricing;

    /// find_price() over this provider's `pricing`.
    const ModelPrice* price_for(std::string_view model) const { return find_price(pricing, model); }
    friend bool operator==(const ProviderConfig&, const ProviderConfig&) = default;
};

struct AuthConfig {
    std::string api_key;  // x-api-key clients must send; falls back to legacy server.api_key
    bool allow_bearer = false;
    bool allow_subscription = false;  // alias of allow_bearer
    std::string bearer_secret;        // empty: any non-empty bearer token is accepted
    friend bool operator==(const AuthConfig&, const AuthConfig&) = default;
};

/// `server.admin`: the admin listener (Prometheus /metrics and the admin API), served by a
/// process of its own. Off unless `listen` is set.
struct AdminConfig {
    std::string listen;        // "127.0.0.1:9787"; empty: off
    std::string bearer_token;  // when set, every admin request needs "Authorization: Bearer <it>"
    friend bool operator==(const AdminConfig&, const AdminConfig&) = default;
};

/// `server.tls`: an HTTPS listener beside server.listen. Off unless `listen` is set; TLS 1.2 at
/// least. Workers load the certificate when they start, so a reload picks up a renewed one.
struct TlsListenConfig {
    std::string listen;     // "0.0.0.0:8443"; empty: off
    std::string cert_file;  // PEM certificate chain (leaf first)
    std::string key_file;   // PEM private key
    friend bool operator==(const TlsListenConfig&, const TlsListenConfig&) = default;
};

struct ServerConfig {
    std::string listen = "127.0.0.1:8787";
    AdminConfig admin;
    TlsListenConfig tls;
    AuthConfig auth;
    std::string api_key;  // legacy
    std::int64_t max_body_bytes = 32LL * 1024 * 1024;
    std::int64_t timeout_ms = 600000;  // whole-request deadline, at most 24 h
    std::int64_t max_concurrent = 0;   // 0: unlimited
    bool enable_http2 = false;         // HTTP/2 from clients: h2c and h2 by ALPN (worker/h2)
    // New in this design.
    int workers = 0;                           // 0: number of CPUs
    /// Worker i runs only on the i-th CPU the master may use (modulo their count), as nginx's
    /// `worker_cpu_affinity auto`. Applied at each worker's start, so a reload re-reads it.
    bool cpu_affinity = false;
    std::int64_t drain_timeout_ms = 30000;     // graceful drain on SIGTERM and reload
    std::int64_t read_header_timeout_ms = 10000;  // a request head, from its first byte
    std::int64_t max_header_bytes = 64 * 1024;    // request line and header fields: 431 beyond
    /// Client connections one worker holds; at the cap an idle one (between requests, or still
    /// without a complete head) is closed for the newcomer, and with none idle it gets a 503.
    std::int64_t max_connections = 4096;
    std::int64_t idle_timeout_ms = 120000;     // keep-alive idle connections
    std::int64_t connect_timeout_ms = 10000;   // upstream TCP + TLS
    std::int64_t response_header_timeout_ms = 0;  // upstream first byte; 0: timeout_ms
    /// Once the answer started: the longest silence between upstream bytes before the stream is
    /// ended with `event: error` (well above the API's pings); 0: only timeout_ms bounds it.
    std::int64_t stream_idle_timeout_ms = 120000;
    std::int64_t max_open_files = 0;           // 0: the hard limit
    std::string shm_name;                      // empty: derived from the port, "/cc-relay-8787"
    std::string pid_file;
    std::string stats_group;  // group given read access to the stats segment (empty: the primary)

    /// The effective client API key (auth.api_key, else legacy api_key).
    const std::string& effective_api_key() const {
        return auth.api_key.empty() ? api_key : auth.api_key;
    }
    bool bearer_enabled() const { return auth.allow_bearer || auth.allow_subscription; }
    friend bool operator==(const ServerConfig&, const ServerConfig&) = default;
};

/// `routing.strategy`, parsed once by the loader.
enum class RoutingStrategy {
    failover,
    round_robin,
    weighted_round_robin,
    shuffle,
    weighted_failover,
    least_loaded,
    model_based,
    cost_based,
    latency_based,
};

/// The config name of a strategy ("weighted_round_robin").
std::string_view to_string(RoutingStrategy strategy);
/// The strategy a config name denotes; nullopt for an unknown name.
std::optional<RoutingStrategy> parse_routing_strategy(std::string_view name);
/// Every strategy, in the order the documentation lists them.
const std::vector<RoutingStrategy>& all_routing_strategies();

struct RoutingConfig {
    std::string strategy = "failover";                 // as written (for display)
    RoutingStrategy kind = RoutingStrategy::failover;  // what the router acts on
    /// Providers tried for one request, failovers included; 0: every candidate.
    int max_attempts = 0;
    std::int64_t failover_timeout = 5000;
    bool debug = false;
    /// Model-name prefix -> provider name (strategy model_based), in file order.
    std::vector<std::pair<std::string, std::string>> model_mapping;
    std::string default_provider;
    friend bool operator==(const RoutingConfig&, const RoutingConfig&) = default;
};

struct DebugOptions {
    bool log_request_body = false;
    bool log_response_headers = false;
    bool log_tls_metrics = false;
    std::int64_t max_body_log_size = 1000;
    friend bool operator==(const DebugOptions&, const DebugOptions&) = default;
};

/// `logging.debug_for`: per-request debug lines (the request body, each upstream attempt and its
/// answer's status) for these clients or providers only, at info level, without raising the
/// global level.
struct DebugFor {
    std::vector<std::string> clients;    // names of `clients:`
    std::vector<std::string> providers;  // provider names
    friend bool operator==(const DebugFor&, const DebugFor&) = default;
};

struct LoggingConfig {
    std::string level = "info";    // trace, debug, info, warn, error, off
    std::string format = "text";   // text, json (console, pretty: text)
    std::string output = "stdout"; // stdout, stderr or a file path
    bool pretty = false;
    DebugOptions debug_options;
    DebugFor debug_for;
    friend bool operator==(const LoggingConfig&, const LoggingConfig&) = default;
};

/// `health:` (Go schema). Parsed and checked now; used by the health-tracking work.
struct HealthCheckConfig {
    bool enabled = true;
    std::int64_t interval_ms = 10000;  // 0: 10000
    friend bool operator==(const HealthCheckConfig&, const HealthCheckConfig&) = default;
};

struct CircuitBreakerConfig {
    std::int64_t failure_threshold = 5;     // 0: 5
    std::int64_t open_duration_ms = 30000;  // 0: 30000
    std::int64_t half_open_probes = 3;      // 0: 3
    friend bool operator==(const CircuitBreakerConfig&, const CircuitBreakerConfig&) = default;
};

struct HealthConfig {
    HealthCheckConfig health_check;
    CircuitBreakerConfig circuit_breaker;
    friend bool operator==(const HealthConfig&, const HealthConfig&) = default;
};

/// One user of a shared host (`clients:`): its own key, limits and providers. Limits are
/// service-wide; 0 means unlimited.
struct ClientConfig {
    std::string name;            // unique; names the client's rows in stats
    std::string key;             // unique secret, sent as x-api-key or bearer; never logged
    std::int64_t rpm_limit = 0;  // requests per minute
    std::int64_t tpm_limit = 0;  // tokens (input + output) per minute
    std::int64_t daily_token_budget = 0;  // tokens per UTC day
    /// Provider names this client may reach; empty: every provider.
    std::vector<std::string> allowed_providers;
    friend bool operator==(const ClientConfig&, const ClientConfig&) = default;
};

/// `ledger:`: the per-day usage ledger the master keeps (SQLite), read by `cc-relay usage`.
struct LedgerConfig {
    bool enabled = true;
    std::string path;                  // empty: ledger_default_path()
    std::int64_t interval_ms = 60000;  // how often the master writes it (and at stop)
    friend bool operator==(const LedgerConfig&, const LedgerConfig&) = default;
};

struct Config {
    ServerConfig server;
    LedgerConfig ledger;
    RoutingConfig routing;
    std::vector<ProviderConfig> providers;
    LoggingConfig logging;
    HealthConfig health;
    std::vector<ClientConfig> clients;

    std::string source;                 // file path, or "<built-in>"
    std::vector<std::string> warnings;  // unknown keys etc., "file:line:col: message"

    /// Whether every request (but /health and the HEAD probes) must authenticate: the relay's
    /// key, bearer tokens or client keys are configured.
    bool auth_required() const {
        return !server.effective_api_key().empty() || server.bearer_enabled() || !clients.empty();
    }
};

/// One problem found while loading; `line`/`column` are 1-based, 0 when unknown.
struct Diagnostic {
    std::string file;
    int line = 0;
    int column = 0;
    std::string message;
    std::string to_string() const;
};

/// Thrown by the loaders with every problem found, not just the first. The warnings found on
/// the way come along: they often name the cause (a typo'd "enabeld" behind "no provider is
/// enabled"), and what() lists them after the errors.
class ConfigError : public std::runtime_error {
public:
    explicit ConfigError(std::vector<Diagnostic> diags, std::vector<Diagnostic> warnings = {});
    const std::vector<Diagnostic>& diagnostics() const { return diags_; }
    const std::vector<Diagnostic>& warnings() const { return warnings_; }

private:
    std::vector<Diagnostic> diags_;
    std::vector<Diagnostic> warnings_;
};

/// Environment lookup, injectable for tests.
using EnvLookup = std::optional<std::string> (*)(const std::string& name);
std::optional<std::string> process_env(const std::string& name);

/// Parse, expand, default and validate YAML text. `source` names it in diagnostics.
Config load_config_text(const std::string& text,
                        const std::string& source,
                        EnvLookup env = &process_env);
/// Read and load a file. A file that holds credentials written in it (not `${VAR}`) and that
/// other users may read (config_exposure()) gets a warning.
Config load_config_file(const std::string& path, EnvLookup env = &process_env);

/// Who besides its owner may read a file of `mode` whose group `group` has `group_accounts`
/// accounts (members and accounts whose primary group it is): "every user (mode 0644)",
/// "the 3 accounts of group staff (mode 0640)"; empty when nobody else may. A group of one
/// account is not an exposure: that is the shipped install (0640 root:cc-relay, the service
/// alone in its group).
std::string config_exposure(unsigned mode, const std::string& group, std::size_t group_accounts);
/// The built-in default: listen on 127.0.0.1:8787 and pass everything through to Anthropic.
Config default_config();
/// The YAML of the built-in default (also what `config init` writes, with comments).
const std::string& default_config_yaml();

/// Discovery order: explicit path, ./config.yaml, ~/.config/cc-relay/config.yaml,
/// /etc/cc-relay/config.yaml. nullopt: use the built-in default.
std::optional<std::string> discover_config_path(const std::string& explicit_path);
/// Discover and load (built-in default when nothing is found).
Config load_config(const std::string& explicit_path);

/// Known provider types and their defaults.
struct ProviderTypeInfo {
    const char* type;
    const char* owner;
    const char* default_base_url;  // "" for the cloud types: see cloud::effective_base_url
    bool bearer_auth;         // Authorization: Bearer <key> instead of x-api-key
    bool serves_count_tokens; // forwards /v1/messages/count_tokens
    bool needs_key;           // a key is required (anthropic alone may pass the client through)
};
const ProviderTypeInfo* find_provider_type(const std::string& type);
const std::vector<ProviderTypeInfo>& provider_types();
/// Default `models` list of a provider type.
std::vector<std::string> default_models(const std::string& type);

/// Host and port split of `server.listen` ("host:port", "[v6]:port", ":port").
struct ListenAddress {
    std::string host;
    std::uint16_t port = 0;
};
std::optional<ListenAddress> parse_listen(const std::string& listen);

/// The shared-memory segment name of an instance.
std::string shm_name_for(const Config& cfg);
/// The segment name for a `server.shm_name` (used when set) and a `server.listen` address.
std::string shm_name_for(const std::string& shm_name, const std::string& listen);

/// What `stats`, `status` and `reload` need to find a running instance (and `usage` its
/// ledger), and nothing more.
struct InstanceRef {
    std::string source;       // the config file, or "<built-in>"
    std::string listen;       // server.listen (default 127.0.0.1:8787)
    std::string shm_name;     // server.shm_name (empty: derived from the port)
    std::string pid_file;     // server.pid_file
    std::string ledger_path;  // ledger.path (empty: the default)
    /// What was wrong with ledger.path (an error for `usage` only; the others ignore it).
    std::vector<Diagnostic> ledger_errors;
};
/// Reads only server.listen, server.shm_name, server.pid_file and ledger.path: `${VAR}` is
/// expanded in those alone, so an operator's shell without the service's secrets can name the instance.
/// Throws ConfigError (file:line:col) when the file cannot be read or parsed, or when one of
/// these values has the wrong type or an unset variable.
InstanceRef read_instance_ref_text(const std::string& text,
                                   const std::string& source,
                                   EnvLookup env = &process_env);
InstanceRef read_instance_ref_file(const std::string& path, EnvLookup env = &process_env);
/// Discovery as load_config(); the built-in default when no file is found.
InstanceRef read_instance_ref(const std::string& explicit_path);

}  // namespace ccr::shared
