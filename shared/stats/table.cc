// The human rendering of a Snapshot (`cc-relay stats` without --json): a header line, a traffic
// table and a latency/tokens table per provider with a totals row, and optionally the workers.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "shared/stats/snapshot.h"

namespace ccr::shared::stats {

namespace {

using Row = std::vector<std::string>;

/// Columns separated by two spaces; the first left-aligned, the others right-aligned. Wider than
/// `width`: one space between columns, then the first column (names) cut with '~' (down to 6).
std::string layout_table(std::vector<Row> rows, int width) {
    std::vector<std::size_t> widths;
    for (const Row& r : rows) {
        if (widths.size() < r.size()) widths.resize(r.size(), 0);
        for (std::size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], r[i].size());
    }
    std::size_t sum = 0;
    for (std::size_t w : widths) sum += w;
    const std::size_t gaps = widths.empty() ? 0 : widths.size() - 1;
    const auto limit = static_cast<std::size_t>(std::max(width, 1));
    const std::size_t sep = sum + 2 * gaps <= limit ? 2 : 1;
    const std::size_t total = sum + sep * gaps;
    if (total > limit && !widths.empty()) {
        constexpr std::size_t kMinName = 6;
        const std::size_t over = total - limit;
        const std::size_t first = widths[0] > over + kMinName ? widths[0] - over : std::min(widths[0], kMinName);
        for (Row& r : rows) {
            if (!r.empty() && r[0].size() > first) r[0] = r[0].substr(0, first - 1) + "~";
        }
        widths[0] = first;
    }
    std::string out;
    for (const Row& r : rows) {
        std::string line;
        for (std::size_t i = 0; i < r.size(); ++i) {
            const std::string pad(widths[i] - r[i].size(), ' ');
            if (i > 0) line.append(sep, ' ');
            line += i == 0 ? r[i] + pad : pad + r[i];
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
    return out;
}

std::string fmt(const char* f, double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

/// 999, 12.3k, 4.56M: counts stay readable in a narrow column.
std::string count(std::uint64_t v) {
    if (v < 10000) return std::to_string(v);
    const char* units[] = {"k", "M", "G", "T", "P"};
    double d = static_cast<double>(v);
    int u = -1;
    while (d >= 1000 && u < 4) {
        d /= 1000;
        ++u;
    }
    return fmt(d < 100 ? "%.1f" : "%.0f", d) + units[u];
}

std::string bytes(std::uint64_t v) {
    if (v < 1024) return std::to_string(v) + "B";
    const char* units[] = {"K", "M", "G", "T", "P"};
    double d = static_cast<double>(v);
    int u = -1;
    while (d >= 1024 && u < 4) {
        d /= 1024;
        ++u;
    }
    return fmt(d < 100 ? "%.1f" : "%.0f", d) + units[u];
}

std::string ms(double v) {
    if (v <= 0) return "-";
    if (v < 1) return fmt("%.2f", v);
    if (v < 100) return fmt("%.1f", v);
    return fmt("%.0f", v);
}

std::string rate(double per_s) { return per_s < 100 ? fmt("%.1f", per_s) : fmt("%.0f", per_s); }

}  // namespace

std::string format_duration(std::int64_t s) {
    char buf[48];
    if (s >= 86400) {
        std::snprintf(buf, sizeof buf, "%lldd%02lldh%02lldm", static_cast<long long>(s / 86400),
                      static_cast<long long>(s % 86400 / 3600),
                      static_cast<long long>(s % 3600 / 60));
    } else if (s >= 3600) {
        std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", static_cast<long long>(s / 3600),
                      static_cast<long long>(s % 3600 / 60), static_cast<long long>(s % 60));
    } else {
        std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                      static_cast<long long>(s % 60));
    }
    return buf;
}

namespace {

/// A breaker window left: "850ms", "12s", "4m05s".
std::string format_duration_short(std::int64_t ms) {
    if (ms < 1000) return std::to_string(ms) + "ms";
    if (ms < 60'000) return std::to_string(ms / 1000) + "s";
    return format_duration(ms / 1000);
}

/// Requests per second: since the previous snapshot when there is one, else over the uptime.
struct Rates {
    const Snapshot& now;
    const Snapshot* prev;

    double seconds() const {
        if (prev != nullptr)
            return static_cast<double>(now.taken_unix_ms - prev->taken_unix_ms) / 1000.0;
        return static_cast<double>(now.uptime_s);
    }
    double per_s(std::uint64_t current, std::uint64_t before) const {
        const double dt = seconds();
        if (dt <= 0 || current < before) return 0;
        return static_cast<double>(current - before) / dt;
    }
    double provider(std::size_t i) const {
        std::uint64_t before = 0;
        if (prev != nullptr && i < prev->providers.size() &&
            prev->providers[i].name == now.providers[i].name) {
            before = prev->providers[i].counters.requests;
        }
        return per_s(now.providers[i].counters.requests, before);
    }
    double totals() const {
        return per_s(now.totals.requests, prev != nullptr ? prev->totals.requests : 0);
    }
    double worker(const WorkerStats& w) const {
        std::uint64_t before = 0;
        if (prev != nullptr) {
            for (const WorkerStats& p : prev->workers) {
                if (p.slot == w.slot && p.pid == w.pid) before = p.requests;
            }
        }
        return per_s(w.requests, before);
    }
};

/// "closed", "open 12s", "half_open" ("" for the totals row).
std::string circuit(const BreakerView* b) {
    if (b == nullptr) return "";
    std::string out = breaker_state_name(b->state);
    if (b->state == BreakerState::open) out += " " + format_duration_short(b->open_for_ms);
    return out;
}

// The traffic table: what fits 80 columns, and the byte counts when the terminal is wider.
Row traffic_row(const std::string& name, const Totals& t, double req_s, const BreakerView* b, bool wide) {
    Row row{name,
            count(t.requests),
            rate(req_s),
            std::to_string(t.in_flight),
            count(t.status_2xx),
            count(t.status_4xx),
            count(t.status_5xx),
            count(t.client_aborts),
            count(t.attempts()),
            count(t.failed_attempts()),
            count(t.failovers)};
    if (wide) {
        row.push_back(bytes(t.bytes_in));
        row.push_back(bytes(t.bytes_out));
    }
    row.push_back(circuit(b));
    return row;
}

Row client_row(const ClientStats& c) {
    return {c.gone ? c.name + " (gone)" : c.name,
            count(c.requests),
            count(c.input_tokens),
            count(c.output_tokens),
            count(c.rate_limited),
            fmt("%.2f", static_cast<double>(c.cost_micro_usd) / 1e6),
            count(static_cast<std::uint64_t>(c.budget_used_today))};
}

Row latency_row(const std::string& name, const Totals& t) {
    return {name,
            ms(percentile_ms(t.ttfb, 0.50)),
            ms(percentile_ms(t.ttfb, 0.95)),
            ms(percentile_ms(t.ttfb, 0.99)),
            ms(percentile_ms(t.total, 0.50)),
            ms(percentile_ms(t.total, 0.99)),
            count(t.input_tokens),
            count(t.output_tokens)};
}

std::string header_line(const Snapshot& s, int width) {
    const std::string who = "cc-relay " + s.segment + ": master " + std::to_string(s.master_pid) +
                            (s.master_alive ? "" : " (not running)") + ", generation " + std::to_string(s.generation);
    const std::string how = "up " + format_duration(s.uptime_s) + ", workers " + std::to_string(s.workers_ready()) +
                            "/" + std::to_string(s.configured_workers) + " ready";
    const bool one_line = static_cast<int>(who.size() + 2 + how.size()) <= width;
    std::string out = who + (one_line ? ", " : "\n") + how + "\n";
    if (s.reload.ok == 1) {
        out += "last reload: ok, generation " + std::to_string(s.reload.generation) + "\n";
    } else if (s.reload.ok == 0) {
        out += "last reload: failed: " + s.reload.message + "\n";
    }
    return out;
}

}  // namespace

std::string render_table(const Snapshot& s, const TableOptions& opts) {
    const Rates rates{s, opts.previous};
    std::string out = header_line(s, opts.width) + "\n";

    const bool wide = opts.width >= 120;
    Row head{"PROVIDER", "REQ", "REQ/S", "INFL", "2XX", "4XX", "5XX", "ABORT", "TRIES", "FAILED", "FAILOVER"};
    if (wide) {
        head.push_back("BYTES-IN");
        head.push_back("BYTES-OUT");
    }
    head.push_back("CIRCUIT");
    std::vector<Row> traffic{std::move(head)};
    std::vector<Row> latency{{"PROVIDER", "TTFB-P50", "P95", "P99", "TOTAL-P50", "P99", "TOK-IN", "TOK-OUT"}};
    for (std::size_t i = 0; i < s.providers.size(); ++i) {
        const ProviderStats& p = s.providers[i];
        const std::string name = p.gone ? p.name + " (gone)" : p.disabled ? p.name + " (disabled)" : p.name;
        traffic.push_back(traffic_row(name, p.counters, rates.provider(i), p.relay ? nullptr : &p.breaker, wide));
        latency.push_back(latency_row(name, p.counters));
    }
    traffic.push_back(traffic_row("TOTAL", s.totals, rates.totals(), nullptr, wide));
    latency.push_back(latency_row("TOTAL", s.totals));
    out += layout_table(std::move(traffic), opts.width) + "\n" + "latency in ms\n" + layout_table(std::move(latency), opts.width);

    if (!s.clients.empty()) {
        std::vector<Row> clients{
            {"CLIENT", "REQUESTS", "TOK-IN", "TOK-OUT", "429", "COST-USD", "BUDGET-TODAY"}};
        for (const ClientStats& c : s.clients) clients.push_back(client_row(c));
        out += "\n" + layout_table(std::move(clients), opts.width);
    }

    if (opts.workers) {
        std::vector<Row> rows{{"SLOT", "PID", "GEN", "STATE", "HEARTBEAT", "RESTARTS", "REQUESTS",
                               "REQ/S", "IN-FLIGHT"}};
        for (const WorkerStats& w : s.workers) {
            std::string state = state_name(w.state);
            if (!w.alive && w.state != WorkerState::exited && w.state != WorkerState::empty &&
                w.state != WorkerState::backoff) {
                state += " (gone)";
            }
            rows.push_back(
                {std::to_string(w.slot), std::to_string(w.pid), std::to_string(w.generation), state,
                 w.heartbeat_age_ms < 0
                     ? "-"
                     : fmt("%.1fs ago", static_cast<double>(w.heartbeat_age_ms) / 1000.0),
                 std::to_string(w.restarts), count(w.requests), rate(rates.worker(w)),
                 std::to_string(w.in_flight)});
        }
        out += "\n" + layout_table(std::move(rows), opts.width);
    }
    return out;
}

}  // namespace ccr::shared::stats
