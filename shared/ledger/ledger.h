#pragma once
// The usage ledger: requests, tokens and cost per UTC day, client and provider, kept in SQLite so
// that "tokens per client yesterday" survives restarts (the stats segment's counters do not).
// The master writes it from the segment every `ledger.interval_ms` and when it stops;
// `cc-relay usage` reads it.
//
// What is recorded: the segment counts per provider and per client, not per (client, provider)
// pair, so a provider's usage is a row with client "*", and a client's a row with provider "*".
// Counts are attributed to the UTC day of the write that records them (a request just before
// midnight may land on the next day when the write comes after it).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shared/stats/snapshot.h"

struct sqlite3;

namespace ccr::shared::ledger {

struct Usage {
    std::uint64_t requests = 0, input_tokens = 0, output_tokens = 0, cache_read_tokens = 0,
                  cache_creation_tokens = 0, cost_micro_usd = 0;
    bool empty() const;
    friend bool operator==(const Usage&, const Usage&) = default;
};

struct Row {
    std::string day;  // YYYY-MM-DD (UTC)
    std::string client;
    std::string provider;
    Usage usage;
};

/// The ledger's path when `ledger.path` is empty: $STATE_DIRECTORY/usage.db under systemd's
/// StateDirectory=, else $XDG_STATE_HOME/cc-relay/usage.db, else ~/.local/state/cc-relay/usage.db.
std::string default_path();
/// Where `cc-relay usage` looks without --db: /var/lib/cc-relay/usage.db when it exists (the
/// service's), else default_path().
std::string reader_default_path();

/// "YYYY-MM-DD" of a Unix time in ms (UTC).
std::string utc_day(std::int64_t unix_ms);

class Ledger {
public:
    /// Opens (creating the file, its folder and the schema) for writing. Throws std::runtime_error
    /// naming the file and SQLite's reason.
    static std::unique_ptr<Ledger> open_for_writing(const std::string& path);
    /// Opens an existing ledger read-only. Throws std::runtime_error (not found, not a ledger).
    static std::unique_ptr<Ledger> open_for_reading(const std::string& path);
    ~Ledger();

    /// Adds `rows` (usage deltas) to their days' totals, in one transaction.
    void add(const std::vector<Row>& rows);
    /// Rows with day >= since (or == day when `exact`), optionally one client / provider, in day,
    /// client, provider order.
    std::vector<Row> read(const std::string& since, bool exact, const std::string& client,
                          const std::string& provider) const;
    const std::string& path() const { return path_; }

private:
    Ledger(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
    std::string path_;
    sqlite3* db_;
};

/// The master's side: remembers what it recorded, and turns each snapshot into the deltas since.
/// A counter that went down (the segment was recreated by a restart) counts from zero again.
class Recorder {
public:
    /// The rows to add for `now` at `unix_ms` (providers with client "*", clients with provider
    /// "*", and only those that changed), relative to the last committed reading.
    std::vector<Row> deltas(const stats::Snapshot& now, std::int64_t unix_ms);
    /// The rows of the last deltas() were written: they are the base of the next ones. (Until
    /// then a failed write loses nothing: the next deltas() covers both intervals.)
    void commit() { last_ = pending_; }

private:
    std::map<std::string, Usage> last_;     // by "p:<name>" and "c:<name>"
    std::map<std::string, Usage> pending_;
};

}  // namespace ccr::shared::ledger
