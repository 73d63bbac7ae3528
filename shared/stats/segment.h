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

namespace ccr::shared::stats {

inline constexpr std::uint64_t kMagic = 0x5941'4c45'5252'4343ULL;  // "CCRRELAY"
inline constexpr std::uint32_t kVersion = 1;
inline constexpr int kMaxWorkers = 256;   // worker slots (server.workers is validated <= this)
inline constexpr int kMaxProviders = 64;  // provider rows, keyed by name, kept across reloads
inline constexpr int kNameLen = 64;
inline constexpr int kMessageLen = 2048;
/// Latency histogram: bucket i counts values in [2^(i-1), 2^i) microseconds (bucket 0: < 1 us),
/// the last bucket everything above.
inline constexpr int kBuckets = 40;

using Counter = std::atomic<std::uint64_t>;
static_assert(Counter::is_always_lock_free);

/// Counters of one provider in one worker slot. Written by that worker only.
struct alignas(64) ProviderCounters {
    Counter requests, in_flight, status_2xx, status_4xx, status_5xx, upstream_errors, timeouts,
        failovers, bytes_in, bytes_out, input_tokens, output_tokens, cache_read_tokens,
        cache_creation_tokens;
    Counter ttfb_us[kBuckets];
    Counter total_us[kBuckets];
    Counter overhead_us[kBuckets];  // time spent in the relay itself, excluding the upstream
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
    char reload_message[kMessageLen];
    char config_path[1024];
    char listen[256];
    // Provider rows: names written by the master before any worker uses the row.
    std::atomic<std::int32_t> provider_count;
    char provider_names[kMaxProviders][kNameLen];
    WorkerEntry workers[kMaxWorkers];
};

/// The whole mapped segment.
struct Layout {
    Header header;
    ProviderCounters counters[kMaxWorkers][kMaxProviders];
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
    int provider_row(std::string_view name);
    /// Anyone: the row of a name, or -1.
    int find_provider_row(std::string_view name) const;
    /// Master: records a reload outcome (see Header::reload_seq).
    void set_reload_result(bool ok, std::uint64_t generation, std::string_view message);

    /// A consistent copy of the last reload outcome (see Header::reload_seq).
    struct ReloadResult {
        std::uint64_t seq = 0;  // even; 0: no reload recorded yet
        int ok = -1;            // 1 ok, 0 failed, -1 none yet
        std::uint64_t generation = 0;
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

/// Index of the histogram bucket for a duration in microseconds.
int bucket_of(std::uint64_t us);
/// Upper bound (us) of a bucket, used to report percentiles.
std::uint64_t bucket_upper_us(int bucket);

std::int64_t unix_ms_now();

}  // namespace ccr::shared::stats
