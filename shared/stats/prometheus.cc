#include "shared/stats/prometheus.h"

#include <charconv>
#include <cstdio>
#include <string_view>
#include <vector>

namespace ccr::shared::stats {

namespace {

constexpr std::string_view kPrefix = "cc_relay_";

void number(std::string& out, double v) {
    char buf[40];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc{} ? end : buf);
}
void number(std::string& out, std::uint64_t v) { out += std::to_string(v); }
void number(std::string& out, std::int64_t v) { out += std::to_string(v); }

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += "# HELP ";
    out += kPrefix;
    out += name;
    out += ' ';
    for (char c : help) {  // HELP escapes backslash and newline only
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    out += "\n# TYPE ";
    out += kPrefix;
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

// `cc_relay_<name>{<labels>} <value>`; `labels` already formatted (k="v",...), may be empty.
template <typename T>
void sample(std::string& out, std::string_view name, std::string_view labels, T value) {
    out += kPrefix;
    out += name;
    if (!labels.empty()) {
        out += '{';
        out += labels;
        out += '}';
    }
    out += ' ';
    number(out, value);
    out += '\n';
}

std::string label(std::string_view key, std::string_view value) {
    std::string out(key);
    out += "=\"";
    out += prometheus_label_value(value);
    out += '"';
    return out;
}

std::string join(std::string a, std::string_view b) {
    if (a.empty()) return std::string(b);
    if (!b.empty()) {
        a += ',';
        a += b;
    }
    return a;
}

// Histogram edges exposed: every power of two of microseconds from 4 us (the finer buckets in
// between stay in the segment, for `stats`' quantiles).
void histogram(std::string& out, std::string_view name, const std::string& labels, const Histogram& h) {
    std::uint64_t cumulative = 0;
    int b = 0;
    for (int e = 2; e <= kMaxExponent; ++e) {
        const std::uint64_t edge = std::uint64_t{1} << e;
        while (b < kBuckets - 1 && bucket_upper_us(b) <= edge) cumulative += h.buckets[b++];
        char le[32];
        std::snprintf(le, sizeof le, "%.6g", static_cast<double>(edge) / 1e6);
        sample(out, std::string(name) + "_bucket", join(labels, label("le", le)), cumulative);
    }
    sample(out, std::string(name) + "_bucket", join(labels, "le=\"+Inf\""), h.count());
    sample(out, std::string(name) + "_sum", labels, static_cast<double>(h.sum_us) / 1e6);
    sample(out, std::string(name) + "_count", labels, h.count());
}

/// The families of a counter set (counters.h), one sample per element of `items` labelled
/// `by`="<name>"; families are written once, as consecutive declarations share a metric.
/// Costs are kept in micro-USD and exposed in USD.
template <typename Row, std::size_t N, typename Item, typename RowOf>
void counter_families(std::string& out,
                      const CounterDecl<Row> (&decls)[N],
                      const std::vector<Item>& items,
                      std::string_view by,
                      RowOf row_of) {
    std::string_view current;
    for (const CounterDecl<Row>& c : decls) {
        if (c.metric != current) {
            current = c.metric;
            family(out, c.metric, "counter", c.help);
        }
        const bool cost = c.key == "cost_micro_usd";
        for (const Item& item : items) {
            const std::string labels = join(label(by, item.name), c.label);
            const std::uint64_t v = row_of(item).*c.field;
            if (cost) {
                sample(out, c.metric, labels, static_cast<double>(v) / 1e6);
            } else {
                sample(out, c.metric, labels, v);
            }
        }
    }
}

}  // namespace

std::string prometheus_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string render_prometheus(const Snapshot& s) {
    std::string out;
    out.reserve(16 * 1024 + s.providers.size() * 12 * 1024);

    family(out, "build_info", "gauge", "cc-relay's version");
    sample(out, "build_info", label("version", CCR_VERSION), std::uint64_t{1});
    family(out, "generation", "gauge", "Configuration generation (1 at start, +1 per successful reload)");
    sample(out, "generation", "", s.generation);
    family(out, "uptime_seconds", "gauge", "Seconds since the master started");
    sample(out, "uptime_seconds", "", s.uptime_s);
    family(out, "workers", "gauge", "Worker processes: configured, and ready now");
    sample(out, "workers", "state=\"configured\"", static_cast<std::int64_t>(s.configured_workers));
    sample(out, "workers", "state=\"ready\"", static_cast<std::int64_t>(s.workers_ready()));
    std::uint64_t restarts = 0;
    for (const WorkerStats& w : s.workers) restarts += w.restarts;
    family(out, "worker_restarts_total", "counter", "Workers respawned after they died");
    sample(out, "worker_restarts_total", "", restarts);
    family(out, "reloads_total", "counter", "Configuration reloads attempted (SIGHUP, cc-relay reload)");
    sample(out, "reloads_total", "", s.reload.seq / 2);
    if (s.reload.ok >= 0) {
        family(out, "last_reload_success", "gauge", "1 when the last reload succeeded, 0 when it failed");
        sample(out, "last_reload_success", "", static_cast<std::int64_t>(s.reload.ok));
    }

    // Per provider: the counter set, in its declared order (families adjacent).
    counter_families(out, kCounterInfo, s.providers, "provider",
                     [](const ProviderStats& p) -> const Totals& { return p.counters; });
    family(out, "in_flight", "gauge", "Upstream attempts in progress");
    for (const ProviderStats& p : s.providers) sample(out, "in_flight", label("provider", p.name), p.counters.in_flight);
    family(out, "circuit_state", "gauge", "Circuit breaker of each provider: 1 for its current state");
    for (const ProviderStats& p : s.providers) {
        if (p.relay) continue;
        for (BreakerState st : {BreakerState::closed, BreakerState::open, BreakerState::half_open}) {
            sample(out, "circuit_state", join(label("provider", p.name), label("state", breaker_state_name(st))),
                   std::uint64_t{p.breaker.state == st ? 1u : 0u});
        }
    }
    family(out, "provider_gone", "gauge", "1 for a provider a reload removed (its counters kept until restart)");
    for (const ProviderStats& p : s.providers) {
        if (!p.relay) sample(out, "provider_gone", label("provider", p.name), std::uint64_t{p.gone ? 1u : 0u});
    }
    family(out, "provider_disabled", "gauge", "1 for a provider taken out of rotation through the admin API");
    for (const ProviderStats& p : s.providers) {
        if (!p.relay) sample(out, "provider_disabled", label("provider", p.name), std::uint64_t{p.disabled ? 1u : 0u});
    }
    for (const HistogramInfo& h : kHistogramInfo) {
        family(out, h.metric, "histogram", h.help);
        for (const ProviderStats& p : s.providers) histogram(out, h.metric, label("provider", p.name), p.counters.*h.field);
    }

    // Per client (`clients:`), when there are any.
    if (!s.clients.empty()) {
        counter_families(out, kClientCounterInfo, s.clients, "client",
                         [](const ClientStats& c) -> const ClientStats& { return c; });
        family(out, "client_budget_used_tokens", "gauge", "Tokens of each client's daily budget used today (UTC)");
        for (const ClientStats& c : s.clients)
            sample(out, "client_budget_used_tokens", label("client", c.name), c.budget_used_today);
    }
    return out;
}

}  // namespace ccr::shared::stats
