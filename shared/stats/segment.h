#pragma once
// The shared-memory stats segment: one per instance (name from the config, "/cc-relay-8787"),
// created by the master, mapped read-write by workers (each writes only its own slot) and
// read-only by `cc-relay stats/status/reload`. A fixed, versioned layout of plain structs and
// relaxed std::atomic integers: no allocator, no mutex, nothing a dying process can leave locked.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "shared/stats/counters.h"

namespace ccr::shared::stats {

inline constexpr std::uint64_t kMagic = 0x5941'4c45'5252'4343ULL;  // "CCRRELAY"
inline constexpr std::uint32_t kVersion = 5;  // 5: provider type, reload time (admin API); client counters
                                              // from counters.h, 8 sub-buckets
inline constexpr int kMaxWorkers = 256;   // worker slots (server.workers is validated <= this)
inline constexpr int kMaxProviders = 64;  // provider rows, keyed by name, kept across reloads
inline constexpr int kMaxKeys = 512;     // key rows (provider, key fingerprint), over all providers
inline constexpr int kMaxClients = 256;  // client rows (`clients:`), keyed by name
inline constexpr int kRouteCursors = 16;  // global routing cursors, one per strategy
/// Session affinity entries (X-Claude-Code-Session-Id -> the provider that answered it last).
inline constexpr int kAffinitySlots = 4096;
inline constexpr int kNameLen = 64;
inline constexpr int kMessageLen = 2048;
using Counter = std::atomic<std::uint64_t>;
static_assert(Counter::is_always_lock_free);

/// Counters of one provider (or of the relay's own answers) in one worker slot, as counters.h
/// declares them. Written by that worker only.
struct alignas(64) ProviderCounters {
#define CCR_FIELD(field, ...) Counter field;
    CCR_PROVIDER_COUNTERS(CCR_FIELD)
#undef CCR_FIELD
    Counter in_flight;  // attempts in progress (incremented and decremented, wrapping)
#define CCR_HISTOGRAM(name, ...) Counter name##_us[kBuckets]; Counter name##_us_sum;  // sum: exact, for Prometheus
    CCR_PROVIDER_HISTOGRAMS(CCR_HISTOGRAM)
#undef CCR_HISTOGRAM
};

enum class WorkerState : std::uint32_t { empty = 0, starting, ready, draining, exited, backoff };

/// One row of the worker table. Written by the master (pid, generation, state, started, restarts)
/// and by the worker (heartbeat, state ready/draining).
struct alignas(64) WorkerEntry {
    std::atomic<std::int32_t> pid;
    std::atomic<std::uint32_t> state;
    std::atomic<std::uint64_t> generation;
    std::atomic<std::int64_t> started_unix_ms;
    std::atomic<std::int64_t> heartbeat_unix_ms;
    std::atomic<std::uint32_t> restarts;  // respawns after a crash
    std::atomic<std::uint32_t> served;    // 1 once the worker answered a request
    // Requests this worker is relaying now (server.max_concurrent is the sum over the slots).
    // Zeroed by claim_slot when a new process takes the slot, so a dead worker leaks nothing.
    std::atomic<std::int64_t> relaying;
};

enum class BreakerState : std::uint8_t { closed = 0, open = 1, half_open = 2 };
const char* breaker_state_name(BreakerState s);

/// The encoding of ProviderState::breaker (worker/health/breaker.h moves it; `stats` shows it):
/// state (bits 0-1), count (bits 2-12: consecutive failures when closed, successful probes when
/// half-open), probes admitted this round (bits 13-23), and a time in monotonic ms (bits 24-63:
/// open: the end of the window; half-open: when a stalled round may restart). 40 bits of
/// milliseconds are 34 years of uptime.
struct BreakerWord {
    static constexpr int kMaxCount = 2047;
    BreakerState state = BreakerState::closed;
    int count = 0;
    int admitted = 0;
    std::int64_t time = 0;

    static BreakerWord decode(std::uint64_t w);
    std::uint64_t encode() const;  // counts clamped to [0, kMaxCount]
};

/// The encoding of ClientRow::budget (worker/limits/budget.h moves it; `stats` shows it): the UTC
/// day index (days since the epoch, bits 40..63) and the tokens used that day (bits 0..39).
struct BudgetWord {
    static constexpr std::uint64_t kMaxUsed = (1ULL << 40) - 1;
    std::int64_t day = 0;
    std::int64_t used = 0;

    static BudgetWord decode(std::uint64_t w) {
        return {static_cast<std::int64_t>(w >> 40), static_cast<std::int64_t>(w & kMaxUsed)};
    }
    std::uint64_t encode() const {
        const auto u = static_cast<std::uint64_t>(used < 0 ? 0 : used);
        return static_cast<std::uint64_t>(day) << 40 | (u > kMaxUsed ? kMaxUsed : u);
    }
};

/// Shared state of one provider, written by every worker with CAS (not per slot).
struct alignas(64) ProviderState {
    // Circuit breaker: one word so that a transition is one CAS (worker/health/breaker.h owns
    // the encoding). 0 is "closed, no failures".
    std::atomic<std::uint64_t> breaker;
    std::atomic<std::uint64_t> route_counter;  // routing strategies: picks, cursor
    std::atomic<std::int64_t> route_weight;    // routing strategies: smooth WRR current weight
    std::atomic<std::uint64_t> key_cursor;     // key pool round robin over this provider's keys
    std::atomic<std::uint64_t> ttfb_ewma_us;   // EWMA of time to first byte; 0: no sample yet
    std::atomic<std::int64_t> ttfb_updated_mono_ms;  // when the EWMA last moved
    std::atomic<std::uint32_t> gone;                 // 1: not in the current config any more
    // 1: an operator disabled it (POST /admin/providers/<name>/disable). Kept across reloads
    // (the row is the name's) until enabled again; a restart starts with every provider enabled.
    std::atomic<std::uint32_t> admin_disabled;
    // The provider's `type` ("anthropic", "openrouter", ...), NUL-padded, at most 16 bytes in two
    // words the master writes at each (re)load; Segment::provider_type reads it.
    std::atomic<std::uint64_t> type[2];
};

/// Shared state of one upstream key of a provider's pool. Identified by provider name and a
/// fingerprint of the key (never the key itself).
struct alignas(64) KeyRow {
    char provider[kNameLen];
    std::uint64_t fingerprint;
    // GCRA theoretical arrival times (ns of CLOCK_MONOTONIC; worker/limits/gcra.h).
    std::atomic<std::int64_t> rpm_tat, itpm_tat, otpm_tat;
    std::atomic<std::int64_t> cooldown_until_ms;  // monotonic ms; after an upstream 429
    // Learned from anthropic-ratelimit-*-limit headers (0: not seen).
    std::atomic<std::int64_t> learned_rpm, learned_itpm, learned_otpm;
    std::atomic<std::int64_t> learned_mono_ms;  // when they were last seen
    Counter requests, rate_limited;             // service-wide, for display
};

/// Shared limiter state of one client (`clients:`), keyed by name.
struct alignas(64) ClientRow {
    char name[kNameLen];
    std::atomic<std::int64_t> rpm_tat, tpm_tat;  // GCRA (ns of CLOCK_MONOTONIC)
    // Daily budget: UTC day index (bits 40..63) and tokens used that day (bits 0..39), one word
    // so the reset at midnight is one CAS (worker/limits/budget.h owns the encoding).
    std::atomic<std::uint64_t> budget;
    std::atomic<std::uint32_t> gone;
};

/// One entry of the session affinity table (worker/routing/affinity.h owns the encoding): open
/// addressing on a hash of the session id. `key`: the hash (0: never used); `value`: a check
/// tag from the hash, the provider row and when it was written (0: empty). Two words, written
/// key first: a reader that meets a half-written entry finds the tag wrong and sees nothing.
struct AffinityEntry {
    std::atomic<std::uint64_t> key;
    std::atomic<std::uint64_t> value;
};

/// Counters of one client in one worker slot, as counters.h declares them (CCR_CLIENT_COUNTERS).
/// Written by that worker only.
struct alignas(64) ClientCounters {
#define CCR_FIELD(field, ...) Counter field;
    CCR_CLIENT_COUNTERS(CCR_FIELD)
#undef CCR_FIELD
};

struct Header {
    std::uint64_t magic;
    std::uint32_t version;
    std::uint32_t reserved0;
    std::uint64_t size;  // bytes of the whole segment
    std::atomic<std::int32_t> master_pid;
    std::atomic<std::int32_t> configured_workers;
    std::atomic<std::int64_t> start_unix_ms;
    std::atomic<std::uint64_t> generation;
    // Reload outcome: the master bumps reload_seq (odd while writing, even when done) around
    // writing reload_ok / reload_generation / reload_message, so readers see a consistent result.
    std::atomic<std::uint64_t> reload_seq;
    std::atomic<std::int32_t> reload_ok;  // 1 ok, 0 failed, -1 none yet
    std::atomic<std::uint64_t> reload_generation;
    std::atomic<std::int64_t> reload_unix_ms;  // when the outcome was recorded
    char reload_message[kMessageLen];
    char config_path[1024];
    char listen[256];
    // Provider rows: names written by the master before any worker uses the row.
    std::atomic<std::int32_t> provider_count;
    char provider_names[kMaxProviders][kNameLen];
    // Key and client rows: identities written by the master before any worker uses the row.
    std::atomic<std::int32_t> key_count;
    std::atomic<std::int32_t> client_count;
    // Highest worker slot ever claimed + 1: readers of per-slot sums stop there.
    std::atomic<std::int32_t> slots_high;
    std::atomic<std::uint64_t> route_cursors[kRouteCursors];  // global, one per strategy
    WorkerEntry workers[kMaxWorkers];
};

/// The whole mapped segment. Shared rows first, per-slot counters last: pages of unused slots
/// and rows are never touched.
struct Layout {
    Header header;
    ProviderState providers[kMaxProviders];
    KeyRow keys[kMaxKeys];
    ClientRow clients[kMaxClients];
    AffinityEntry affinity[kAffinitySlots];
    ProviderCounters counters[kMaxWorkers][kMaxProviders];
    ProviderCounters relay_counters[kMaxWorkers];  // requests the relay answered itself
    ClientCounters client_counters[kMaxWorkers][kMaxClients];
};

/// Why a segment could not be opened, so `status` can tell "not running" from "cannot read".
class SegmentError : public std::runtime_error {
  public:
    enum class Kind { not_found, permission, incompatible, other };
    SegmentError(Kind kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    Kind kind() const { return kind_; }

  private:
    Kind kind_;
};

/// A mapping of the segment (Boost.Interprocess shared_memory_object + mapped_region).
class Segment {
  public:
    /// Master: creates (replacing a stale segment whose master is dead; refusing one whose
    /// master is alive) with mode 0640 and initialises the header. `group` (server.stats_group),
    /// when not empty, owns the segment: its members may read the stats. Throws
    /// std::runtime_error naming the file and what to do (a stale segment this user cannot
    /// remove: the command that removes it).
    static std::unique_ptr<Segment> create(const std::string& name, const std::string& group = "");
    /// Workers (read-write) and the CLI (read-only): maps an existing segment and checks magic,
    /// version and size, throwing SegmentError with a message an operator can act on.
    static std::unique_ptr<Segment> open(const std::string& name, bool writable);
    /// Removes the segment name (master exit).
    static void remove(const std::string& name);
    /// Names ("/cc-relay-8787") of the cc-relay segments of this layout on the host that this
    /// user can read; the others are skipped.
    static std::vector<std::string> list();

    ~Segment();
    /// Master: gives a created segment to `group` (empty: the master's own group), mode 0640,
    /// when server.stats_group changes on reload. Throws std::runtime_error as create() does.
    void set_group(const std::string& group);
    Layout& layout() { return *layout_; }
    const Layout& layout() const { return *layout_; }
    Header& header() { return layout_->header; }
    const Header& header() const { return layout_->header; }
    const std::string& name() const { return name_; }

    /// Master: the row for a provider name, adding it when new (-1 when the table is full).
    /// A row marked gone by a previous reload is live again.
    int provider_row(std::string_view name);
    /// Anyone: the row of a name, or -1.
    int find_provider_row(std::string_view name) const;
    /// Master: records a provider row's `type` (up to 16 bytes; longer is truncated).
    void set_provider_type(int row, std::string_view type);
    /// Anyone: a provider row's `type`, empty when not recorded.
    std::string provider_type(int row) const;
    /// Master, after registering a reload's providers: marks the rows of every other name gone
    /// (their counters and state stay, for stats and for a provider that comes back).
    void retire_providers_except(const std::vector<std::string>& names);

    /// Master: the row for (provider, key fingerprint), adding it when new (-1: table full).
    int key_row(std::string_view provider, std::uint64_t fingerprint);
    /// Anyone: the row of (provider, fingerprint), or -1.
    int find_key_row(std::string_view provider, std::uint64_t fingerprint) const;

    /// Master: the row for a client name, adding it when new (-1: table full).
    int client_row(std::string_view name);
    /// Anyone: the row of a client name, or -1.
    int find_client_row(std::string_view name) const;
    /// Master, after registering a reload's clients: marks the rows of every other name gone.
    void retire_clients_except(const std::vector<std::string>& names);

    /// Worker, at start: takes a worker slot (0 <= slot < kMaxWorkers). Zeroes what a dead
    /// predecessor left counted as "now" (relaying) and raises Header::slots_high.
    void claim_slot(int slot);
    /// Anyone: requests being relayed now, service-wide (sum of WorkerEntry::relaying).
    std::int64_t relaying_total() const;
    /// Anyone: requests in flight at a provider row, service-wide (the slots' in_flight summed up
    /// to Header::slots_high; a dead worker's count is cleared when its slot is taken again).
    std::int64_t provider_in_flight(int row) const;
    /// Worker: the next value of a global routing cursor (0 <= cursor < kRouteCursors), counting
    /// 0, 1, 2, ... across all workers.
    std::uint64_t next_route_turn(int cursor);
    /// Master: records a reload outcome (see Header::reload_seq).
    void set_reload_result(bool ok, std::uint64_t generation, std::string_view message);

    /// A consistent copy of the last reload outcome (see Header::reload_seq).
    struct ReloadResult {
        std::uint64_t seq = 0;  // even; 0: no reload recorded yet
        int ok = -1;            // 1 ok, 0 failed, -1 none yet
        std::uint64_t generation = 0;
        std::int64_t unix_ms = 0;  // when it was recorded
        std::string message;
    };
    /// Anyone: reads the reload outcome, retrying while the master is writing it. A writer that
    /// died mid-write leaves reload_seq odd: the fields are returned as they are after a few tries.
    ReloadResult reload_result() const;

  private:
    struct Impl;
    Segment(std::string name, std::unique_ptr<Impl> impl, Layout* layout);
    std::string name_;
    std::unique_ptr<Impl> impl_;
    Layout* layout_;
};

/// Copies `s` into a fixed char field, truncating, always NUL-terminated.
template <std::size_t N>
void copy_fixed(char (&dst)[N], std::string_view s) {
    const std::size_t n = s.size() < N - 1 ? s.size() : N - 1;
    for (std::size_t i = 0; i < n; ++i) dst[i] = s[i];
    for (std::size_t i = n; i < N; ++i) dst[i] = '\0';
}
/// The text of a fixed char field (up to its first NUL).
template <std::size_t N>
std::string_view fixed_view(const char (&src)[N]) {
    std::size_t n = 0;
    while (n < N && src[n] != '\0') ++n;
    return {src, n};
}

/// Where Linux keeps a POSIX shared-memory object: "/dev/shm/cc-relay-8787".
std::string shm_path(const std::string& name);

/// Whether a process exists (kill(pid, 0) succeeds or fails with EPERM). false for pid <= 0.
bool process_alive(std::int32_t pid);

std::int64_t unix_ms_now();

/// The fingerprint that identifies a key row: the first 8 bytes of SHA-256(key), big-endian.
std::uint64_t key_fingerprint(std::string_view key);

/// Moves an EWMA by (sample - old) / 2^shift with a CAS loop; the first sample sets it (0 is "no
/// sample"). Returns the new value.
std::uint64_t update_ewma(std::atomic<std::uint64_t>& ewma, std::uint64_t sample, int shift = 3);

}  // namespace ccr::shared::stats
