// From the YAML tree to Config: one walk that checks each value's type, expands `${VAR}` in each
// scalar, records where every value sits (for validation messages) and warns about unknown keys.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "shared/config/internal.h"

namespace ccr::shared::config_detail {
namespace {

std::string describe(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Map:
            return "a mapping";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Scalar:
            return "\"" + n.Scalar() + "\"";
        case YAML::NodeType::Null:
            return "nothing";
        default:
            return "an undefined value";
    }
}

// Keys whose values are credentials: a message about them never quotes the value (a literal key
// put where a list belongs, `keys: sk-...`, would otherwise be echoed into logs).
bool is_secret_path(const std::string& path) {
    std::string last = path.substr(path.find_last_of('.') + 1);
    last = last.substr(0, last.find('['));
    static const char* const kSecret[] = {"key", "keys", "api_key", "bearer_secret", "bearer_token",
                                          "aws_access_key_id", "aws_secret_access_key",
                                          "aws_session_token", "aws_bearer_token",
                                          "azure_client_secret"};
    for (const char* s : kSecret) {
        if (last == s) return true;
    }
    return false;
}

// Whether a scalar says more than `${NAME}` references: literal text, or a `${NAME:-default}`
// with a default written in the file. Such a secret is as safe as the file's mode.
bool holds_literal_text(std::string_view raw) {
    while (!raw.empty()) {
        const std::size_t open = raw.find("${");
        const std::string_view before = raw.substr(0, open);
        if (before.find_first_not_of(" \t") != std::string_view::npos) return true;
        if (open == std::string_view::npos) return false;
        const std::size_t close = raw.find('}', open);
        if (close == std::string_view::npos) return true;
        const std::size_t dash = raw.substr(open, close - open).find(":-");
        if (dash != std::string_view::npos && open + dash + 2 < close) return true;
        raw.remove_prefix(close + 1);
    }
    return false;
}

std::string child_path(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string item_path(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

using Handler = std::function<void(const YAML::Node& value, const std::string& path)>;

struct Field {
    const char* key;
    Handler read;
};

class Reader {
  public:
    Reader(SourceMap& where, Report& report, EnvLookup env)
        : where_(where), report_(report), env_(env) {}

    /// Walks a mapping: each known key to its field, keys in `ignored` (Go schema keys this relay
    /// does not use) warned about as ignored, anything else warned about as unknown.
    void map(const YAML::Node& node,
             const std::string& path,
             const std::vector<Field>& fields,
             const std::vector<std::string>& ignored = {}) {
        if (node.IsNull()) return;
        if (!node.IsMap()) {
            type_error(node, path, "a mapping");
            return;
        }
        std::map<std::string, Position> seen;
        for (const auto& kv : node) {
            const Position key_pos = position_of(kv.first.Mark());
            if (!kv.first.IsScalar()) {
                report_.error(key_pos, "keys of " + where_name(path) + " must be plain names");
                continue;
            }
            const std::string name = kv.first.Scalar();
            const std::string path_of_value = child_path(path, name);
            const auto [first, inserted] = seen.emplace(name, key_pos);
            if (!inserted) {
                report_.error(key_pos, "duplicate key \"" + path_of_value +
                                           "\" (first defined at " + report_.where(first->second) +
                                           ")");
                continue;
            }
            if (const Field* field = find_field(fields, name)) {
                Position value_pos = position_of(kv.second.Mark());
                where_.set(path_of_value, value_pos.line > 0 ? value_pos : key_pos);
                field->read(kv.second, path_of_value);
            } else if (std::find(ignored.begin(), ignored.end(), name) == ignored.end()) {
                warn_unknown(key_pos, path_of_value, name, fields);
            } else {
                report_.warning(key_pos, "\"" + path_of_value +
                                             "\" (a Go cc-relay key) has no effect in this relay; "
                                             "it is ignored");
            }
        }
    }

    /// An error at `node`'s position.
    void error(const YAML::Node& node, std::string message) {
        report_.error(position_of(node.Mark()), std::move(message));
    }

    /// Walks a list; `each` reads one item.
    void list(const YAML::Node& node, const std::string& path, const Handler& each) {
        if (node.IsNull()) return;
        if (!node.IsSequence()) {
            type_error(node, path, "a list");
            return;
        }
        for (std::size_t i = 0; i < node.size(); ++i) {
            const std::string p = item_path(path, i);
            where_.set(p, position_of(node[i].Mark()));
            each(node[i], p);
        }
    }

    /// A list of mappings: `add` appends the item's struct and returns its fields. An item that
    /// is not a mapping still gets a (default) struct, so indexes match paths, marked invalid.
    template <class T>
    void list_of_maps(const YAML::Node& node,
                      const std::string& path,
                      std::vector<T>& out,
                      const std::function<std::vector<Field>(T&)>& fields_of) {
        list(node, path, [&](const YAML::Node& item, const std::string& p) {
            T& value = out.emplace_back();
            if (!item.IsMap()) {
                type_error(item, p, "a mapping");
                where_.set_invalid(p);
                return;
            }
            map(item, p, fields_of(value));
        });
    }

    Field text(const char* key, std::string& out) {
        return {key, [this, &out](const YAML::Node& v, const std::string& p) {
                    if (auto s = scalar(v, p, "a string")) out = std::move(*s);
                }};
    }

    Field number(const char* key, std::int64_t& out) {
        return {key, [this, &out](const YAML::Node& v, const std::string& p) {
                    read_integer(v, p, out);
                }};
    }

    Field number(const char* key, int& out) {
        return {key, [this, &out](const YAML::Node& v, const std::string& p) {
                    std::int64_t wide = out;
                    if (!read_integer(v, p, wide)) return;
                    if (wide < std::numeric_limits<int>::min() ||
                        wide > std::numeric_limits<int>::max()) {
                        report_.error(pos(v, p),
                                      p + " is out of range (got " + std::to_string(wide) + ")");
                        return;
                    }
                    out = static_cast<int>(wide);
                }};
    }

    /// A decimal number (prices); infinities and NaN are refused.
    Field real(const char* key, double& out) {
        return {key,
                [this, &out](const YAML::Node& v, const std::string& p) { read_real(v, p, out); }};
    }

    Field flag(const char* key, bool& out) {
        return {key, [this, &out](const YAML::Node& v, const std::string& p) {
                    if (auto b = read_bool(v, p)) out = *b;
                }};
    }

    Field flag(const char* key, std::optional<bool>& out) {
        return {key, [this, &out](const YAML::Node& v, const std::string& p) {
                    if (auto b = read_bool(v, p)) out = *b;
                }};
    }

    Field texts(const char* key, std::vector<std::string>& out) {
        return {key, [this, &out](const YAML::Node& v, const std::string& p) {
                    list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                        if (auto s = scalar(item, ip, "a string", true)) out.push_back(*s);
                    });
                }};
    }

    /// A string -> string mapping, kept in file order.
    Field pairs(const char* key, std::vector<std::pair<std::string, std::string>>& out) {
        return {key,
                [this, &out](const YAML::Node& v, const std::string& p) { read_pairs(v, p, out); }};
    }

    /// A mapping of model names (or prefixes) to their prices, kept in file order.
    Field prices(const char* key, PriceTable& out) {
        return {key, [this, &out](const YAML::Node& v, const std::string& p) {
                    read_prices(v, p, out);
                }};
    }

    Field section(const char* key, Handler read) { return {key, std::move(read)}; }

    /// Reported as a warning when present: a key the Go relay shipped that does nothing.
    Field obsolete(const char* key, std::string advice) {
        return {key, [this, advice](const YAML::Node& v, const std::string& p) {
                    report_.warning(pos(v, p), "key \"" + p + "\" is ignored; " + advice);
                }};
    }

    void type_error(const YAML::Node& n, const std::string& path, std::string_view expected) {
        where_.set_invalid(path);
        const std::string got =
            n.IsScalar() && is_secret_path(path) ? std::string("a single value") : describe(n);
        report_.error(pos(n, path), path + " must be " + std::string(expected) + " (got " + got + ")");
    }

    Position pos(const YAML::Node& n, const std::string& path) const {
        const Position p = position_of(n.Mark());
        return p.line > 0 ? p : where_.find(path);
    }

  private:
    static const Field* find_field(const std::vector<Field>& fields, const std::string& name) {
        for (const Field& f : fields) {
            if (name == f.key) return &f;
        }
        return nullptr;
    }

    static std::string where_name(const std::string& path) {
        return path.empty() ? std::string("the top level") : "\"" + path + "\"";
    }

    void warn_unknown(Position at,
                      const std::string& path,
                      const std::string& name,
                      const std::vector<Field>& fields) {
        std::vector<std::string> known;
        for (const Field& f : fields) known.emplace_back(f.key);
        std::string message = "unknown key \"" + path + "\"";
        if (auto near = closest_match(name, known)) {
            message += " (did you mean \"" + *near + "\"?)";
        }
        report_.warning(at, message);
    }

    /// The expanded text of a scalar; nullopt when null (keep the default) or on error.
    std::optional<std::string> scalar(const YAML::Node& n,
                                      const std::string& path,
                                      std::string_view expected,
                                      bool null_is_error = false) {
        if (n.IsNull() && !null_is_error) return std::nullopt;
        if (!n.IsScalar()) {
            type_error(n, path, expected);
            return std::nullopt;
        }
        const Position at = pos(n, path);
        Expansion e = expand_env(n.Scalar(), env_);
        for (std::string& w : e.warnings) {
            // The warning quotes the text after the "$", which in a secret is part of it.
            if (is_secret_path(path)) {
                w = path + " holds a \"$\" followed by a name, which is not expanded (write "
                           "${NAME} for an environment variable, or $$ for a literal $)";
            }
            report_.warning(at, std::move(w));
        }
        for (std::string& err : e.errors) report_.error(at, std::move(err));
        if (is_secret_path(path) && holds_literal_text(n.Scalar())) where_.add_literal_secret(path);
        if (!e.errors.empty()) {
            where_.set_invalid(path);  // reported once: validation says nothing more about it
            return std::nullopt;
        }
        return std::move(e.value);
    }

    bool read_integer(const YAML::Node& n, const std::string& path, std::int64_t& out) {
        auto s = scalar(n, path, "an integer");
        if (!s) return false;
        std::string_view digits = *s;
        if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
        std::int64_t value = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (ec == std::errc::result_out_of_range) {
            report_.error(pos(n, path), path + " is out of range (got \"" + *s + "\")");
            return false;
        }
        if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
            report_.error(pos(n, path), path + " must be an integer (got \"" + *s + "\")");
            return false;
        }
        out = value;
        return true;
    }

    bool read_real(const YAML::Node& n, const std::string& path, double& out) {
        auto s = scalar(n, path, "a number");
        if (!s) return false;
        std::string_view digits = *s;
        if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
        double value = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
            !std::isfinite(value)) {
            report_.error(pos(n, path), path + " must be a number (got \"" + *s + "\")");
            return false;
        }
        out = value;
        return true;
    }

    std::optional<bool> read_bool(const YAML::Node& n, const std::string& path) {
        auto s = scalar(n, path, "true or false");
        if (!s) return std::nullopt;
        for (const char* yes : {"true", "yes", "on"}) {
            if (equals_ignoring_case(*s, yes)) return true;
        }
        for (const char* no : {"false", "no", "off"}) {
            if (equals_ignoring_case(*s, no)) return false;
        }
        report_.error(pos(n, path), path + " must be true or false (got \"" + *s + "\")");
        return std::nullopt;
    }

    /// Walks a mapping whose keys are names (models, prefixes): each unique key with its value
    /// and path to `each`; a key that is not a plain name (or empty, unless allowed), or that
    /// repeats, is an error. `mapping`: what the whole is; `keys`: what its keys must be.
    template <class Each>
    void named_entries(const YAML::Node& n,
                       const std::string& path,
                       const std::string& mapping,
                       const std::string& keys,
                       bool allow_empty,
                       Each each) {
        if (n.IsNull()) return;
        if (!n.IsMap()) {
            type_error(n, path, mapping);
            return;
        }
        std::map<std::string, Position> seen;
        for (const auto& kv : n) {
            const Position key_pos = position_of(kv.first.Mark());
            if (!kv.first.IsScalar() || (!allow_empty && kv.first.Scalar().empty())) {
                report_.error(key_pos, "keys of \"" + path + "\" must be " + keys);
                continue;
            }
            const std::string key = kv.first.Scalar();
            const std::string p = path + "." + key;
            const auto [first, inserted] = seen.emplace(key, key_pos);
            if (!inserted) {
                report_.error(key_pos, "duplicate key \"" + p + "\" (first defined at " +
                                           report_.where(first->second) + ")");
                continue;
            }
            const Position value_pos = position_of(kv.second.Mark());
            where_.set(p, value_pos.line > 0 ? value_pos : key_pos);
            each(key, kv.second, p);
        }
    }

    void read_pairs(const YAML::Node& n,
                    const std::string& path,
                    std::vector<std::pair<std::string, std::string>>& out) {
        named_entries(n, path, "a mapping of names", "plain names", true,
                      [&](const std::string& key, const YAML::Node& v, const std::string& p) {
            if (auto value = scalar(v, p, "a string", true)) out.emplace_back(key, std::move(*value));
        });
    }

    /// Each key a model name or prefix, each value a mapping of the four prices.
    void read_prices(const YAML::Node& n, const std::string& path, PriceTable& out) {
        named_entries(n, path, "a mapping of model names to prices", "model names or prefixes", false,
                      [&](const std::string& model, const YAML::Node& v, const std::string& p) {
                          if (!v.IsMap()) {
                              type_error(v, p,
                                         "a mapping of input_per_mtok, output_per_mtok, "
                                         "cache_read_per_mtok and cache_write_per_mtok");
                              return;
                          }
                          ModelPrice& price = out.emplace_back(model, ModelPrice{}).second;
                          map(v, p,
                              {real("input_per_mtok", price.input_per_mtok),
                               real("output_per_mtok", price.output_per_mtok),
                               real("cache_read_per_mtok", price.cache_read_per_mtok),
                               real("cache_write_per_mtok", price.cache_write_per_mtok)});
                      });
    }

    SourceMap& where_;
    Report& report_;
    EnvLookup env_;
};

std::vector<Field> auth_fields(Reader& r, AuthConfig& a) {
    return {r.text("api_key", a.api_key), r.flag("allow_bearer", a.allow_bearer),
            r.flag("allow_subscription", a.allow_subscription),
            r.text("bearer_secret", a.bearer_secret)};
}

std::vector<Field> server_fields(Reader& r, ServerConfig& s) {
    return {
        r.text("listen", s.listen),
        r.text("api_key", s.api_key),
        r.number("max_body_bytes", s.max_body_bytes),
        r.number("timeout_ms", s.timeout_ms),
        r.number("max_concurrent", s.max_concurrent),
        r.flag("enable_http2", s.enable_http2),
        r.number("workers", s.workers),
        r.flag("cpu_affinity", s.cpu_affinity),
        r.number("drain_timeout_ms", s.drain_timeout_ms),
        r.number("read_header_timeout_ms", s.read_header_timeout_ms),
        r.number("idle_timeout_ms", s.idle_timeout_ms),
        r.number("max_header_bytes", s.max_header_bytes),
        r.number("max_connections", s.max_connections),
        r.number("connect_timeout_ms", s.connect_timeout_ms),
        r.number("response_header_timeout_ms", s.response_header_timeout_ms),
        r.number("stream_idle_timeout_ms", s.stream_idle_timeout_ms),
        r.number("max_open_files", s.max_open_files),
        r.text("shm_name", s.shm_name),
        r.text("pid_file", s.pid_file),
        r.text("stats_group", s.stats_group),
        r.section("auth", [&r, &s](const YAML::Node& v,
                                   const std::string& p) { r.map(v, p, auth_fields(r, s.auth)); }),
        r.section("tls",
                  [&r, &s](const YAML::Node& v, const std::string& p) {
                      r.map(v, p, {r.text("listen", s.tls.listen), r.text("cert_file", s.tls.cert_file),
                                   r.text("key_file", s.tls.key_file)});
                  }),
        r.section("admin",
                  [&r, &s](const YAML::Node& v, const std::string& p) {
                      r.map(v, p, {r.text("listen", s.admin.listen), r.text("bearer_token", s.admin.bearer_token)});
                  }),
    };
}

std::vector<Field> routing_fields(Reader& r, RoutingConfig& c) {
    return {r.text("strategy", c.strategy),
            r.number("failover_timeout", c.failover_timeout),
            r.flag("debug", c.debug),
            r.pairs("model_mapping", c.model_mapping),
            r.text("default_provider", c.default_provider),
            r.number("max_attempts", c.max_attempts)};
}

std::vector<Field> key_fields(Reader& r, KeyConfig& k) {
    return {r.text("key", k.key),
            r.number("rpm_limit", k.rpm_limit),
            r.number("itpm_limit", k.itpm_limit),
            r.number("otpm_limit", k.otpm_limit),
            r.number("tpm_limit", k.tpm_limit),
            r.number("priority", k.priority),
            r.number("weight", k.weight)};
}

std::vector<Field> provider_fields(Reader& r, ProviderConfig& p) {
    return {
        r.text("name", p.name),
        r.text("type", p.type),
        r.flag("enabled", p.enabled),
        r.text("base_url", p.base_url),
        r.texts("models", p.models),
        r.pairs("model_mapping", p.model_mapping),
        r.section("keys",
                  [&r, &p](const YAML::Node& v, const std::string& path) {
                      r.list_of_maps<KeyConfig>(v, path, p.keys,
                                                [&r](KeyConfig& k) { return key_fields(r, k); });
                  }),
        r.section("pooling",
                  [&r, &p](const YAML::Node& v, const std::string& path) {
                      r.map(v, path,
                            {r.flag("enabled", p.pooling.enabled),
                             r.text("strategy", p.pooling.strategy)});
                  }),
        r.text("ca_file", p.ca_file),
        r.flag("http2", p.http2),
        r.flag("count_tokens", p.count_tokens),
        r.text("aws_region", p.aws_region),
        r.text("aws_access_key_id", p.aws_access_key_id),
        r.text("aws_secret_access_key", p.aws_secret_access_key),
        r.text("aws_session_token", p.aws_session_token),
        r.text("aws_profile", p.aws_profile),
        r.text("aws_bearer_token", p.aws_bearer_token),
        r.text("gcp_project_id", p.gcp_project_id),
        r.text("gcp_region", p.gcp_region),
        r.text("gcp_credentials_file", p.gcp_credentials_file),
        r.text("azure_resource_name", p.azure_resource_name),
        r.text("azure_api_version", p.azure_api_version),
        r.text("azure_deployment_id", p.azure_deployment_id),
        r.text("azure_tenant_id", p.azure_tenant_id),
        r.text("azure_client_id", p.azure_client_id),
        r.text("azure_client_secret", p.azure_client_secret),
        r.text("azure_authority_host", p.azure_authority_host),
        r.section("beta_headers",
                  [&r, &p](const YAML::Node& v, const std::string& path) {
                      std::vector<std::string> allow, deny;
                      r.map(v, path, {r.texts("allow", allow), r.texts("deny", deny)});
                      if (v.IsMap() && v["allow"] && v["deny"])
                          r.error(v, "\"" + path + "\": give allow or deny, not both");
                      p.beta_headers.configured = v.IsMap() && (v["allow"] || v["deny"]);
                      p.beta_headers.mode = v.IsMap() && v["allow"] ? BetaFilter::Mode::allow : BetaFilter::Mode::deny;
                      p.beta_headers.values = v.IsMap() && v["allow"] ? std::move(allow) : std::move(deny);
                  }),
        r.flag("strip_billing_header", p.strip_billing_header),
        r.prices("pricing", p.pricing),
    };
}

std::vector<Field> client_fields(Reader& r, ClientConfig& c) {
    return {r.text("name", c.name),
            r.text("key", c.key),
            r.number("rpm_limit", c.rpm_limit),
            r.number("tpm_limit", c.tpm_limit),
            r.number("daily_token_budget", c.daily_token_budget),
            r.texts("allowed_providers", c.allowed_providers)};
}

std::vector<Field> logging_fields(Reader& r, LoggingConfig& l) {
    DebugOptions& d = l.debug_options;
    return {
        r.text("level", l.level),
        r.text("format", l.format),
        r.text("output", l.output),
        r.flag("pretty", l.pretty),
        r.section("debug_for",
                  [&r, &l](const YAML::Node& v, const std::string& p) {
                      r.map(v, p, {r.texts("clients", l.debug_for.clients), r.texts("providers", l.debug_for.providers)});
                  }),
        r.section("debug_options",
                  [&r, &d](const YAML::Node& v, const std::string& p) {
                      r.map(v, p,
                            {r.flag("log_request_body", d.log_request_body),
                             r.flag("log_response_headers", d.log_response_headers),
                             r.flag("log_tls_metrics", d.log_tls_metrics),
                             r.number("max_body_log_size", d.max_body_log_size)});
                  }),
        // In the Go relay's example.yaml, but never read there either.
        r.obsolete("file", "write the log file path in \"logging.output\""),
    };
}

std::vector<Field> health_fields(Reader& r, HealthConfig& h) {
    return {
        r.section("health_check",
                  [&r, &h](const YAML::Node& v, const std::string& p) {
                      r.map(v, p,
                            {r.flag("enabled", h.health_check.enabled),
                             r.number("interval_ms", h.health_check.interval_ms)});
                  }),
        r.section("circuit_breaker",
                  [&r, &h](const YAML::Node& v, const std::string& p) {
                      CircuitBreakerConfig& c = h.circuit_breaker;
                      // recovery_timeout_seconds and triggers: the Go `config init` template.
                      r.map(v, p,
                            {r.number("failure_threshold", c.failure_threshold),
                             r.number("open_duration_ms", c.open_duration_ms),
                             r.number("half_open_probes", c.half_open_probes)},
                            {"recovery_timeout_seconds", "triggers"});
                  }),
    };
}

}  // namespace

void read_document(
    const YAML::Node& root, Config& cfg, SourceMap& where, Report& report, EnvLookup env) {
    if (root.IsNull()) return;  // an empty file: every default
    Reader r(where, report, env);
    if (!root.IsMap()) {
        report.error(position_of(root.Mark()),
                     "the top level must be a mapping of sections (server, routing, providers, "
                     "logging), got " +
                         describe(root));
        return;
    }
    const std::vector<Field> sections = {
        r.section("server",
                  [&](const YAML::Node& v, const std::string& p) {
                      r.map(v, p, server_fields(r, cfg.server));
                  }),
        r.section("routing",
                  [&](const YAML::Node& v, const std::string& p) {
                      r.map(v, p, routing_fields(r, cfg.routing));
                  }),
        r.section("providers",
                  [&](const YAML::Node& v, const std::string& p) {
                      r.list_of_maps<ProviderConfig>(v, p, cfg.providers, [&r](ProviderConfig& pc) {
                          return provider_fields(r, pc);
                      });
                  }),
        r.section("logging",
                  [&](const YAML::Node& v, const std::string& p) {
                      r.map(v, p, logging_fields(r, cfg.logging));
                  }),
        r.section("health",
                  [&](const YAML::Node& v, const std::string& p) {
                      // check_interval_seconds: the Go `config init` template.
                      r.map(v, p, health_fields(r, cfg.health), {"check_interval_seconds"});
                  }),
        r.section("ledger",
                  [&](const YAML::Node& v, const std::string& p) {
                      r.map(v, p,
                            {r.flag("enabled", cfg.ledger.enabled), r.text("path", cfg.ledger.path),
                             r.number("interval_ms", cfg.ledger.interval_ms)});
                  }),
        r.section("clients",
                  [&](const YAML::Node& v, const std::string& p) {
                      r.list_of_maps<ClientConfig>(
                          v, p, cfg.clients, [&r](ClientConfig& c) { return client_fields(r, c); });
                  }),
    };
    // Go schema sections this relay accepts and does not use.
    r.map(root, "", sections, {"cache", "grpc", "metrics"});
}

}  // namespace ccr::shared::config_detail
