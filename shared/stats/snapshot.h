#pragma once
// The reader side of the stats segment: a point-in-time copy of the counters, summed over worker
// slots, and its two renderings (the `cc-relay stats` table and its --json object). Reads only
// the worker slots that have been used and the provider rows that exist, so the untouched pages of
// the segment are never faulted in.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "shared/stats/segment.h"

namespace ccr::shared::stats {

struct Histogram {
    std::array<std::uint64_t, kBuckets> buckets{};
    std::uint64_t count() const;
    void add(const Counter (&src)[kBuckets]);
    void add(const Histogram& other);
};

/// The `p` quantile (0 < p <= 1) of a histogram in milliseconds: the upper bound of the bucket
/// holding it. 0 when the histogram is empty.
double percentile_ms(const Histogram& h, double p);

/// Counters of one provider (or of all), summed over worker slots.
struct Totals {
    std::uint64_t requests = 0;
    std::int64_t in_flight = 0;
    std::uint64_t status_2xx = 0, status_4xx = 0, status_5xx = 0;
    std::uint64_t upstream_errors = 0, timeouts = 0, failovers = 0;
    std::uint64_t bytes_in = 0, bytes_out = 0;
    std::uint64_t input_tokens = 0, output_tokens = 0, cache_read_tokens = 0,
                  cache_creation_tokens = 0;
    std::uint64_t cost_micro_usd = 0;
    Histogram ttfb, total, overhead;

    /// Adds one slot's row; `count_in_flight` false for a slot whose process is gone.
    void add(const ProviderCounters& c, bool count_in_flight);
    void add(const Totals& other);
};

/// A provider's circuit breaker as `stats` shows it.
struct BreakerView {
    BreakerState state = BreakerState::closed;  // open with its window over reads half_open
    std::int64_t open_for_ms = 0;               // open: until the window ends
    int count = 0;  // closed: consecutive failures; half-open: successful probes
};

struct ProviderStats {
    std::string name;
    bool gone = false;  // not in the current config
    BreakerView breaker;
    Totals counters;
};

/// One client of `clients:`, summed over worker slots, with today's use of its budget.
struct ClientStats {
    std::string name;
    bool gone = false;
    std::uint64_t requests = 0, input_tokens = 0, output_tokens = 0, rate_limited = 0,
                  cost_micro_usd = 0;
    std::int64_t budget_used_today = 0;  // UTC day
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
    std::vector<ProviderStats> providers;  // by row
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

struct TableOptions {
    bool workers = false;                // per-worker rows
    const Snapshot* previous = nullptr;  // --watch: req/s from the difference; else over uptime
};
/// The human table of `cc-relay stats`.
std::string render_table(const Snapshot& s, const TableOptions& opts);

}  // namespace ccr::shared::stats
