// Reading the segment: copy, sum over worker slots, percentiles, and the --json rendering.

#include "shared/stats/snapshot.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "shared/clock.h"
#include "shared/util/json.h"

namespace ccr::shared::stats {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

std::uint64_t get(const Counter& c) { return c.load(kRelaxed); }

}  // namespace

std::uint64_t Histogram::count() const {
    std::uint64_t n = 0;
    for (std::uint64_t b : buckets) n += b;
    return n;
}

void Histogram::add(const Counter (&src)[kBuckets], const Counter& sum) {
    for (int i = 0; i < kBuckets; ++i) buckets[i] += get(src[i]);
    sum_us += get(sum);
}

void Histogram::add(const Histogram& other) {
    for (int i = 0; i < kBuckets; ++i) buckets[i] += other.buckets[i];
    sum_us += other.sum_us;
}

double percentile_ms(const Histogram& h, double p) {
    const std::uint64_t n = h.count();
    if (n == 0) return 0;
    // The rank p*n, placed linearly within the bucket that holds it (samples are taken to be
    // spread evenly over the bucket's width).
    const double rank = std::clamp(p, 0.0, 1.0) * static_cast<double>(n);
    std::uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
        const std::uint64_t in = h.buckets[i];
        if (in == 0) continue;
        if (static_cast<double>(seen + in) >= rank) {
            const double fraction = std::clamp((rank - static_cast<double>(seen)) / static_cast<double>(in), 0.0, 1.0);
            const auto lo = static_cast<double>(bucket_lower_us(i));
            const auto hi = static_cast<double>(bucket_upper_us(i));
            return (lo + fraction * (hi - lo)) / 1000.0;
        }
        seen += in;
    }
    return static_cast<double>(bucket_upper_us(kBuckets - 1)) / 1000.0;
}

void Totals::add(const ProviderCounters& c, bool count_in_flight) {
#define CCR_FIELD(field, ...) field += get(c.field);
    CCR_PROVIDER_COUNTERS(CCR_FIELD)
#undef CCR_FIELD
    // in_flight is incremented and decremented with wrap-around: the sum, read as signed, is right.
    if (count_in_flight) in_flight += static_cast<std::int64_t>(get(c.in_flight));
#define CCR_HISTOGRAM(name, ...) name.add(c.name##_us, c.name##_us_sum);
    CCR_PROVIDER_HISTOGRAMS(CCR_HISTOGRAM)
#undef CCR_HISTOGRAM
}

void Totals::add(const Totals& o) {
#define CCR_FIELD(field, ...) field += o.field;
    CCR_PROVIDER_COUNTERS(CCR_FIELD)
#undef CCR_FIELD
    in_flight += o.in_flight;
#define CCR_HISTOGRAM(name, ...) name.add(o.name);
    CCR_PROVIDER_HISTOGRAMS(CCR_HISTOGRAM)
#undef CCR_HISTOGRAM
}

std::uint64_t Totals::attempts() const {
    std::uint64_t n = 0;
    for (const CounterInfo& c : kCounterInfo) {
        if (c.group == "attempts") n += this->*c.field;
    }
    return n;
}

std::uint64_t Totals::failed_attempts() const { return attempts() - attempt_2xx - attempt_4xx; }

bool Totals::zero() const {
    for (const CounterInfo& c : kCounterInfo) {
        if (this->*c.field != 0) return false;
    }
    return in_flight == 0;
}

int Snapshot::workers_ready() const {
    int n = 0;
    for (const WorkerStats& w : workers) n += (w.alive && w.state == WorkerState::ready) ? 1 : 0;
    return n;
}

const char* state_name(WorkerState s) {
    switch (s) {
        case WorkerState::empty:
            return "empty";
        case WorkerState::starting:
            return "starting";
        case WorkerState::ready:
            return "ready";
        case WorkerState::draining:
            return "draining";
        case WorkerState::exited:
            return "exited";
        case WorkerState::backoff:
            return "backoff";
    }
    return "unknown";
}

bool slot_used(const WorkerEntry& w) {
    return w.pid.load(kRelaxed) != 0 || w.started_unix_ms.load(kRelaxed) != 0 ||
           w.generation.load(kRelaxed) != 0 || w.state.load(kRelaxed) != 0;
}

namespace {

BreakerView breaker_view(const ProviderState& p, std::int64_t now_mono_ms) {
    const BreakerWord w = BreakerWord::decode(p.breaker.load(kRelaxed));
    BreakerView v;
    v.state = w.state;
    v.count = w.count;
    if (w.state == BreakerState::open) {
        if (now_mono_ms >= w.time) {
            v.state = BreakerState::half_open;  // the next request is a probe
            v.count = 0;
        } else {
            v.open_for_ms = w.time - now_mono_ms;
        }
    }
    return v;
}

void add_client(ClientStats& c, const ClientCounters& k) {
#define CCR_FIELD(field, ...) c.field += get(k.field);
    CCR_CLIENT_COUNTERS(CCR_FIELD)
#undef CCR_FIELD
}

}  // namespace

Snapshot take_snapshot(const Segment& seg, std::int64_t now_ms, std::int64_t now_mono_ms) {
    if (now_mono_ms < 0) now_mono_ms = system_clock().mono_ms();
    const Layout& l = seg.layout();
    const Header& h = l.header;
    Snapshot s;
    s.segment = seg.name();
    s.generation = h.generation.load(kRelaxed);
    s.master_pid = h.master_pid.load(kRelaxed);
    s.master_alive = process_alive(s.master_pid);
    s.start_unix_ms = h.start_unix_ms.load(kRelaxed);
    s.taken_unix_ms = now_ms;
    s.uptime_s =
        s.start_unix_ms > 0 && now_ms > s.start_unix_ms ? (now_ms - s.start_unix_ms) / 1000 : 0;
    s.configured_workers = h.configured_workers.load(kRelaxed);
    s.reload = seg.reload_result();

    int rows = h.provider_count.load(std::memory_order_acquire);
    if (rows < 0) rows = 0;
    if (rows > kMaxProviders) rows = kMaxProviders;
    s.providers.resize(static_cast<std::size_t>(rows));
    for (int r = 0; r < rows; ++r) {
        ProviderStats& p = s.providers[r];
        p.name = fixed_view(h.provider_names[r]);
        p.type = seg.provider_type(r);
        p.gone = l.providers[r].gone.load(kRelaxed) != 0;
        p.disabled = l.providers[r].admin_disabled.load(kRelaxed) != 0;
        p.breaker = breaker_view(l.providers[r], now_mono_ms);
    }
    int client_rows = std::clamp(h.client_count.load(std::memory_order_acquire), 0, kMaxClients);
    s.clients.resize(static_cast<std::size_t>(client_rows));
    constexpr std::int64_t kDayMs = 86'400'000;
    for (int r = 0; r < client_rows; ++r) {
        ClientStats& c = s.clients[r];
        c.name = fixed_view(l.clients[r].name);
        c.gone = l.clients[r].gone.load(kRelaxed) != 0;
        const BudgetWord b = BudgetWord::decode(l.clients[r].budget.load(kRelaxed));
        c.budget_used_today = b.day == now_ms / kDayMs ? b.used : 0;
    }

    // The relay's own answers, shown as a row of their own after the providers.
    ProviderStats relay;
    relay.name = "relay";
    relay.relay = true;
    for (int slot = 0; slot < kMaxWorkers; ++slot) {
        const WorkerEntry& e = h.workers[slot];
        // A slot never given to a process has all-zero counters: skip it without touching them.
        if (!slot_used(e)) continue;
        WorkerStats w;
        w.slot = slot;
        w.pid = e.pid.load(kRelaxed);
        w.alive = process_alive(w.pid);
        w.generation = e.generation.load(kRelaxed);
        w.state = static_cast<WorkerState>(e.state.load(kRelaxed));
        w.started_unix_ms = e.started_unix_ms.load(kRelaxed);
        const std::int64_t beat = e.heartbeat_unix_ms.load(kRelaxed);
        w.heartbeat_age_ms = beat > 0 ? (now_ms > beat ? now_ms - beat : 0) : -1;
        w.restarts = e.restarts.load(kRelaxed);
        w.served = e.served.load(kRelaxed) != 0;
        for (int r = 0; r < rows; ++r) {
            Totals one;
            // A dead worker's unfinished requests are not in flight any more.
            one.add(l.counters[slot][r], w.alive);
            w.requests += one.requests;
            w.in_flight += one.in_flight;
            s.providers[r].counters.add(one);
        }
        Totals own;
        own.add(l.relay_counters[slot], w.alive);
        w.requests += own.requests;
        relay.counters.add(own);
        for (int r = 0; r < client_rows; ++r) add_client(s.clients[r], l.client_counters[slot][r]);
        s.workers.push_back(w);
    }
    // A provider a reload removed stays listed (marked gone) while it has counts to show; one
    // that never counted anything is left out, as if it had never been configured.
    std::erase_if(s.providers, [](const ProviderStats& p) { return p.gone && p.counters.zero(); });
    if (relay.counters.requests > 0) s.providers.push_back(std::move(relay));
    for (const ProviderStats& p : s.providers) s.totals.add(p.counters);
    return s;
}

// --- JSON ------------------------------------------------------------------------------------

namespace {

void number(std::string& out, std::uint64_t v) { out += std::to_string(v); }
void number(std::string& out, std::int64_t v) { out += std::to_string(v); }
void number(std::string& out, double v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc{} ? end : buf);
}

/// `"key": ` (with a leading comma unless first).
void key(std::string& out, std::string_view k, bool first = false) {
    if (!first) out += ", ";
    append_json_string(out, k);
    out += ": ";
}

template <typename T>
void field(std::string& out, std::string_view k, T v, bool first = false) {
    key(out, k, first);
    number(out, v);
}

void latency(std::string& out, std::string_view k, const Histogram& h, bool first = false) {
    key(out, k, first);
    out += '{';
    field(out, "count", h.count(), true);
    field(out, "p50", percentile_ms(h, 0.50));
    field(out, "p95", percentile_ms(h, 0.95));
    field(out, "p99", percentile_ms(h, 0.99));
    out += '}';
}

/// The counters of `row` as `decls` list them, without braces: a group ("status", "attempts",
/// "tokens") is an object of its own. `extra(group)` may append fields to a group's object.
template <typename Row, std::size_t N, typename Extra>
void counter_fields(std::string& out, const Row& row, const CounterDecl<Row> (&decls)[N], bool first, Extra extra) {
    std::string_view group;
    bool first_in_group = false;
    auto close_group = [&] {
        if (group.empty()) return;
        extra(group);
        out += '}';
    };
    for (const CounterDecl<Row>& c : decls) {
        if (c.group != group) {
            close_group();
            group = c.group;
            if (!group.empty()) {
                key(out, group, first);
                first = false;
                out += '{';
                first_in_group = true;
            }
        }
        if (group.empty()) {
            field(out, c.key, row.*c.field, first);
            first = false;
        } else {
            field(out, c.key, row.*c.field, first_in_group);
            first_in_group = false;
        }
    }
    close_group();
}

/// The fields of a provider or of the totals, without braces: counters.h's set, grouped as it
/// says ("status", "attempts" with its "total", "tokens"), then in_flight and the latencies.
void totals_fields(std::string& out, const Totals& t, bool first) {
    counter_fields(out, t, kCounterInfo, first, [&](std::string_view group) {
        if (group == "attempts") field(out, "total", t.attempts());
    });
    field(out, "in_flight", t.in_flight);  // the counters came first
    key(out, "latency_ms");
    out += '{';
    bool first_latency = true;
    for (const HistogramInfo& h : kHistogramInfo) {
        latency(out, h.key, t.*h.field, first_latency);
        first_latency = false;
    }
    out += '}';
}

/// Each top-level key or group of `decls` with its help text.
template <typename Row, std::size_t N>
void meanings_of(std::string& out, const CounterDecl<Row> (&decls)[N], bool& first) {
    std::string_view group;
    for (const CounterDecl<Row>& c : decls) {
        if (!c.group.empty() && c.group == group) continue;
        group = c.group;
        key(out, c.group.empty() ? c.key : c.group, first);
        first = false;
        append_json_string(out, c.help);
    }
}

/// What each field of a provider's object means (from counters.h), and under "clients" what
/// each field of a client's object means.
void meanings(std::string& out) {
    out += '{';
    bool first = true;
    meanings_of(out, kCounterInfo, first);
    key(out, "in_flight");
    append_json_string(out, "Upstream attempts in progress now");
    key(out, "latency_ms");
    std::string latency_help = "count: the samples; p50/p95/p99 in milliseconds, interpolated within log-linear buckets (8 per power of two, within 12.5%):";
    for (const HistogramInfo& h : kHistogramInfo) {
        latency_help += ' ';
        latency_help += h.key;
        latency_help += " (";
        latency_help += h.help;
        latency_help += ')';
    }
    append_json_string(out, latency_help);
    key(out, "gone");
    append_json_string(out, "The provider left the configuration at a reload; its counts are kept until the next restart "
                            "(a removed provider that never counted anything is not listed)");
    key(out, "relay");
    append_json_string(out, "The provider row named \"relay\" (\"relay\": true) counts the requests the relay answered "
                            "itself: its own errors, and the error sent when every attempt failed");
    key(out, "clients");
    out += '{';
    bool first_client = true;
    meanings_of(out, kClientCounterInfo, first_client);
    key(out, "budget_used_today");
    append_json_string(out, "Tokens of the client's daily budget used today (UTC)");
    out += '}';
    out += '}';
}

void worker_json(std::string& out, const WorkerStats& w) {
    out += '{';
    field(out, "slot", static_cast<std::int64_t>(w.slot), true);
    field(out, "pid", static_cast<std::int64_t>(w.pid));
    key(out, "alive");
    out += w.alive ? "true" : "false";
    key(out, "ready");
    out += w.alive && w.state == WorkerState::ready ? "true" : "false";
    field(out, "generation", w.generation);
    key(out, "state");
    append_json_string(out, state_name(w.state));
    field(out, "started_unix_ms", w.started_unix_ms);
    field(out, "heartbeat_age_ms", w.heartbeat_age_ms);
    field(out, "restarts", static_cast<std::uint64_t>(w.restarts));
    key(out, "served");
    out += w.served ? "true" : "false";
    field(out, "requests", w.requests);
    field(out, "in_flight", w.in_flight);
    out += '}';
}

void client_json(std::string& out, const ClientStats& c) {
    out += '{';
    key(out, "name", true);
    append_json_string(out, c.name);
    key(out, "gone");
    out += c.gone ? "true" : "false";
    counter_fields(out, c, kClientCounterInfo, false, [](std::string_view) {});
    field(out, "budget_used_today", c.budget_used_today);
    out += '}';
}

void workers_array(std::string& out, const Snapshot& s) {
    out += '[';
    for (std::size_t i = 0; i < s.workers.size(); ++i) {
        if (i > 0) out += ", ";
        worker_json(out, s.workers[i]);
    }
    out += ']';
}

void providers_array(std::string& out, const Snapshot& s) {
    out += '[';
    for (std::size_t i = 0; i < s.providers.size(); ++i) {
        if (i > 0) out += ", ";
        out += '{';
        const ProviderStats& p = s.providers[i];
        key(out, "name", true);
        append_json_string(out, p.name);
        key(out, "type");
        append_json_string(out, p.type);
        key(out, "gone");
        out += p.gone ? "true" : "false";
        key(out, "relay");
        out += p.relay ? "true" : "false";
        key(out, "disabled");
        out += p.disabled ? "true" : "false";
        key(out, "breaker");
        out += '{';
        key(out, "state", true);
        append_json_string(out, breaker_state_name(p.breaker.state));
        field(out, "open_for_ms", p.breaker.open_for_ms);
        field(out, "count", static_cast<std::int64_t>(p.breaker.count));
        out += '}';
        totals_fields(out, p.counters, false);
        out += '}';
    }
    out += ']';
}

void clients_array(std::string& out, const Snapshot& s) {
    out += '[';
    for (std::size_t i = 0; i < s.clients.size(); ++i) {
        if (i > 0) out += ", ";
        client_json(out, s.clients[i]);
    }
    out += ']';
}

}  // namespace

std::string render_providers_json(const Snapshot& s) {
    std::string out;
    providers_array(out, s);
    return out;
}

std::string render_clients_json(const Snapshot& s) {
    std::string out;
    clients_array(out, s);
    return out;
}

std::string render_status_json(const Snapshot& s) {
    std::string out = "{";
    key(out, "version", true);
    append_json_string(out, CCR_VERSION);
    field(out, "generation", s.generation);
    field(out, "master_pid", static_cast<std::int64_t>(s.master_pid));
    field(out, "started_unix_ms", s.start_unix_ms);
    field(out, "uptime_s", s.uptime_s);
    field(out, "workers_configured", static_cast<std::int64_t>(s.configured_workers));
    field(out, "workers_ready", static_cast<std::int64_t>(s.workers_ready()));
    key(out, "workers");
    workers_array(out, s);
    key(out, "last_reload");
    if (s.reload.ok < 0) {
        out += "null";  // none since the start
    } else {
        out += '{';
        key(out, "ok", true);
        out += s.reload.ok == 1 ? "true" : "false";
        field(out, "generation", s.reload.generation);
        field(out, "unix_ms", s.reload.unix_ms);
        key(out, "message");
        append_json_string(out, s.reload.message);
        out += '}';
    }
    out += '}';
    return out;
}

std::string render_json(const Snapshot& s) {
    std::string out = "{";
    field(out, "generation", s.generation, true);
    field(out, "master_pid", static_cast<std::int64_t>(s.master_pid));
    field(out, "uptime_s", s.uptime_s);
    key(out, "workers");
    workers_array(out, s);
    key(out, "providers");
    providers_array(out, s);
    key(out, "clients");
    clients_array(out, s);
    key(out, "totals");
    out += '{';
    totals_fields(out, s.totals, true);
    out += '}';
    key(out, "meanings");
    meanings(out);
    out += '}';
    return out;
}

}  // namespace ccr::shared::stats
