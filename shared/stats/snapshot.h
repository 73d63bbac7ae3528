#pragma once
// The reader side of the stats segment: a point-in-time copy of the counters, summed over worker
// slots, and its two renderings (the `cc-relay stats` table and its --json object). Reads only
// the worker slots that have been used and the provider rows that exist, so the untouched pages of
// the segment are never faulted in.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shared/stats/segment.h"

namespace ccr::shared::stats {

struct Histogram {
    std::array<std::uint64_t, kBuckets> buckets{};
    std::uint64_t sum_us = 0;  // of the samples, exactly
    std::uint64_t count() const;
    void add(const Counter (&src)[kBuckets], const Counter& sum);
    void add(const Histogram& other);
};

/// The `p` quantile (0 < p <= 1) of a histogram in milliseconds, interpolated linearly within
/// the bucket that holds it. 0 when the histogram is empty.
double percentile_ms(const Histogram& h, double p);

/// Counters of one provider (or of all), summed over worker slots (counters.h declares them).
struct Totals {
#define CCR_FIELD(field, ...) std::uint64_t field = 0;
    CCR_PROVIDER_COUNTERS(CCR_FIELD)
#undef CCR_FIELD
    std::int64_t in_flight = 0;
#define CCR_HISTOGRAM(name, ...) Histogram name;
    CCR_PROVIDER_HISTOGRAMS(CCR_HISTOGRAM)
#undef CCR_HISTOGRAM

    /// Upstream attempts, over every outcome (the "attempts" group of counters.h).
    std::uint64_t attempts() const;
    /// Attempts that did not end with an answer the relay could pass on as one: 5xx and
    /// transport failures (connect, timeout, reset). A 4xx (429 included) is an answer.
    std::uint64_t failed_attempts() const;

    /// Adds one slot's row; `count_in_flight` false for a slot whose process is gone.
    void add(const ProviderCounters& c, bool count_in_flight);
    void add(const Totals& other);
    /// Whether nothing was ever counted (requests, attempts, tokens, bytes).
    bool zero() const;
};

/// One client of `clients:`, summed over worker slots (CCR_CLIENT_COUNTERS), with today's use of
/// its budget.
struct ClientStats {
    std::string name;
    bool gone = false;
#define CCR_FIELD(field, ...) std::uint64_t field = 0;
    CCR_CLIENT_COUNTERS(CCR_FIELD)
#undef CCR_FIELD
    std::int64_t budget_used_today = 0;  // UTC day
};

/// One entry of counters.h, for the renderings that walk a set (JSON, Prometheus): `Row` is
/// Totals (CCR_PROVIDER_COUNTERS) or ClientStats (CCR_CLIENT_COUNTERS).
template <typename Row>
struct CounterDecl {
    std::string_view group, key, metric, label, help;
    std::uint64_t Row::*field;
};
using CounterInfo = CounterDecl<Totals>;
inline constexpr CounterInfo kCounterInfo[] = {
#define CCR_INFO(field, group, key, metric, label, help) {group, key, metric, label, help, &Totals::field},
    CCR_PROVIDER_COUNTERS(CCR_INFO)
#undef CCR_INFO
};
inline constexpr CounterDecl<ClientStats> kClientCounterInfo[] = {
#define CCR_INFO(field, group, key, metric, label, help) {group, key, metric, label, help, &ClientStats::field},
    CCR_CLIENT_COUNTERS(CCR_INFO)
#undef CCR_INFO
};
struct HistogramInfo {
    std::string_view key, metric, help;
    Histogram Totals::*field;
};
inline constexpr HistogramInfo kHistogramInfo[] = {
#define CCR_INFO(name, key, metric, help) {key, metric, help, &Totals::name},
    CCR_PROVIDER_HISTOGRAMS(CCR_INFO)
#undef CCR_INFO
};

/// A provider's circuit breaker as `stats` shows it.
struct BreakerView {
    BreakerState state = BreakerState::closed;  // open with its window over reads half_open
    std::int64_t open_for_ms = 0;               // open: until the window ends
    int count = 0;  // closed: consecutive failures; half-open: successful probes
};

struct ProviderStats {
    std::string name;
    std::string type;    // the config's `type`; empty for the relay row
    bool gone = false;   // not in the current config
    bool relay = false;  // the row of the relay's own answers (no breaker)
    bool disabled = false;  // taken out of rotation through the admin API
    BreakerView breaker;
    Totals counters;
};

struct WorkerStats {
    int slot = 0;
    std::int32_t pid = 0;
    bool alive = false;  // the process exists
    std::uint64_t generation = 0;
    WorkerState state = WorkerState::empty;
    std::int64_t started_unix_ms = 0;
    std::int64_t heartbeat_age_ms = -1;  // -1: no heartbeat yet
    std::uint32_t restarts = 0;
    bool served = false;
    std::uint64_t requests = 0;  // over all providers
    std::int64_t in_flight = 0;
};

struct Snapshot {
    std::string segment;  // its name
    std::uint64_t generation = 0;
    std::int32_t master_pid = 0;
    bool master_alive = false;
    std::int64_t start_unix_ms = 0;
    std::int64_t taken_unix_ms = 0;
    std::int64_t uptime_s = 0;
    int configured_workers = 0;
    Segment::ReloadResult reload;
    std::vector<WorkerStats> workers;      // used slots, by slot
    std::vector<ProviderStats> providers;  // by row, then the "relay" row when it counted anything
    std::vector<ClientStats> clients;      // by row
    Totals totals;

    /// Workers whose process exists and that report ready.
    int workers_ready() const;
};

const char* state_name(WorkerState s);
/// "42m07s", "3h02m10s", "2d04h10m".
std::string format_duration(std::int64_t seconds);

/// Whether a worker slot has ever been given to a process (its counters may be non-zero).
bool slot_used(const WorkerEntry& w);

/// Copies and sums what the segment holds now. The times (wall and monotonic, for breaker
/// windows) are injectable for tests; a negative `now_mono_ms` reads CLOCK_MONOTONIC.
Snapshot take_snapshot(const Segment& seg,
                       std::int64_t now_ms = unix_ms_now(),
                       std::int64_t now_mono_ms = -1);

/// The --json object: {"generation", "master_pid", "uptime_s", "workers", "providers",
/// "clients", "totals"}.
std::string render_json(const Snapshot& s);
/// Its "providers" and "clients" arrays alone (the admin API's /admin/providers, /admin/clients).
std::string render_providers_json(const Snapshot& s);
std::string render_clients_json(const Snapshot& s);
/// The admin API's /admin/status: {"version", "generation", "master_pid", "started_unix_ms",
/// "uptime_s", "workers_configured", "workers_ready", "workers": [{"slot", "pid", "ready",
/// "served", ...}], "last_reload": null or {"ok", "generation", "unix_ms", "message"}}.
std::string render_status_json(const Snapshot& s);

struct TableOptions {
    bool workers = false;                // per-worker rows
    const Snapshot* previous = nullptr;  // --watch: req/s from the difference; else over uptime
    int width = 80;                      // terminal columns: 120 or more adds the byte counts
};
/// The human table of `cc-relay stats`.
std::string render_table(const Snapshot& s, const TableOptions& opts);

}  // namespace ccr::shared::stats
