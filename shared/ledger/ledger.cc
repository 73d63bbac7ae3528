#include "shared/ledger/ledger.h"

#include <sqlite3.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <stdexcept>

namespace ccr::shared::ledger {

namespace {

constexpr int kSchemaVersion = 1;

std::runtime_error failure(const std::string& path, const std::string& what, sqlite3* db) {
    return std::runtime_error("usage ledger " + path + ": " + what + (db ? std::string(": ") + sqlite3_errmsg(db) : ""));
}

void exec(sqlite3* db, const std::string& path, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string message = err ? err : "error";
        sqlite3_free(err);
        throw std::runtime_error("usage ledger " + path + ": " + message);
    }
}

// A prepared statement, finalised on scope exit.
struct Statement {
    sqlite3_stmt* s = nullptr;
    Statement(sqlite3* db, const std::string& path, const char* sql) {
        if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) throw failure(path, "prepare", db);
    }
    ~Statement() { sqlite3_finalize(s); }
};

std::uint64_t delta(std::uint64_t now, std::uint64_t before) { return now >= before ? now - before : now; }

Usage minus(const Usage& now, const Usage& before) {
    return {delta(now.requests, before.requests),
            delta(now.input_tokens, before.input_tokens),
            delta(now.output_tokens, before.output_tokens),
            delta(now.cache_read_tokens, before.cache_read_tokens),
            delta(now.cache_creation_tokens, before.cache_creation_tokens),
            delta(now.cost_micro_usd, before.cost_micro_usd)};
}

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
}

}  // namespace

bool Usage::empty() const { return *this == Usage{}; }

std::string default_path() {
    if (std::string d = env("STATE_DIRECTORY"); !d.empty()) return d.substr(0, d.find(':')) + "/usage.db";
    if (std::string x = env("XDG_STATE_HOME"); !x.empty()) return x + "/cc-relay/usage.db";
    return env("HOME") + "/.local/state/cc-relay/usage.db";
}

std::string reader_default_path() {
    const std::string service = "/var/lib/cc-relay/usage.db";
    std::error_code ec;
    if (std::filesystem::exists(service, ec)) return service;
    return default_path();
}

std::string utc_day(std::int64_t unix_ms) {
    const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

std::unique_ptr<Ledger> Ledger::open_for_writing(const std::string& path) {
    std::error_code ec;
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
        auto e = failure(path, "cannot open", db);
        sqlite3_close(db);
        throw e;
    }
    std::unique_ptr<Ledger> l(new Ledger(path, db));
    sqlite3_busy_timeout(db, 5000);
    exec(db, path, "PRAGMA journal_mode=WAL");
    exec(db, path,
         "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
         "CREATE TABLE IF NOT EXISTS usage ("
         " day TEXT NOT NULL, client TEXT NOT NULL, provider TEXT NOT NULL,"
         " requests INTEGER NOT NULL DEFAULT 0, input_tokens INTEGER NOT NULL DEFAULT 0,"
         " output_tokens INTEGER NOT NULL DEFAULT 0, cache_read_tokens INTEGER NOT NULL DEFAULT 0,"
         " cache_creation_tokens INTEGER NOT NULL DEFAULT 0, cost_micro_usd INTEGER NOT NULL DEFAULT 0,"
         " PRIMARY KEY (day, client, provider));");
    Statement version(db, path, "SELECT version FROM schema_version");
    if (sqlite3_step(version.s) != SQLITE_ROW) {
        exec(db, path, ("INSERT INTO schema_version VALUES (" + std::to_string(kSchemaVersion) + ")").c_str());
    } else if (sqlite3_column_int(version.s, 0) != kSchemaVersion) {
        throw failure(path, "schema version " + std::to_string(sqlite3_column_int(version.s, 0)) + " is not " +
                                std::to_string(kSchemaVersion), nullptr);
    }
    return l;
}

std::unique_ptr<Ledger> Ledger::open_for_reading(const std::string& path) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        auto e = failure(path, "cannot open", db);
        sqlite3_close(db);
        throw e;
    }
    std::unique_ptr<Ledger> l(new Ledger(path, db));
    sqlite3_busy_timeout(db, 5000);
    Statement check(db, path, "SELECT count(*) FROM usage");  // throws when it is not a ledger
    return l;
}

Ledger::~Ledger() { sqlite3_close(db_); }

void Ledger::add(const std::vector<Row>& rows) {
    if (rows.empty()) return;
    exec(db_, path_, "BEGIN IMMEDIATE");
    try {
        Statement upsert(db_, path_,
                         "INSERT INTO usage VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                         "ON CONFLICT (day, client, provider) DO UPDATE SET "
                         "requests = requests + ?4, input_tokens = input_tokens + ?5, "
                         "output_tokens = output_tokens + ?6, cache_read_tokens = cache_read_tokens + ?7, "
                         "cache_creation_tokens = cache_creation_tokens + ?8, cost_micro_usd = cost_micro_usd + ?9");
        for (const Row& r : rows) {
            sqlite3_bind_text(upsert.s, 1, r.day.c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(upsert.s, 2, r.client.c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(upsert.s, 3, r.provider.c_str(), -1, SQLITE_TRANSIENT);
            const Usage& u = r.usage;
            int i = 4;
            for (std::uint64_t v : {u.requests, u.input_tokens, u.output_tokens, u.cache_read_tokens,
                                    u.cache_creation_tokens, u.cost_micro_usd})
                sqlite3_bind_int64(upsert.s, i++, static_cast<sqlite3_int64>(v));
            if (sqlite3_step(upsert.s) != SQLITE_DONE) throw failure(path_, "write", db_);
            sqlite3_reset(upsert.s);
        }
        exec(db_, path_, "COMMIT");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

std::vector<Row> Ledger::read(const std::string& since, bool exact, const std::string& client,
                              const std::string& provider) const {
    std::string sql = "SELECT day, client, provider, requests, input_tokens, output_tokens, cache_read_tokens, "
                      "cache_creation_tokens, cost_micro_usd FROM usage WHERE day ";
    sql += exact ? "= ?1" : ">= ?1";
    if (!client.empty()) sql += " AND client = ?2";
    if (!provider.empty()) sql += " AND provider = ?3";
    sql += " ORDER BY day, client, provider";
    Statement q(db_, path_, sql.c_str());
    sqlite3_bind_text(q.s, 1, since.c_str(), -1, SQLITE_TRANSIENT);
    if (!client.empty()) sqlite3_bind_text(q.s, 2, client.c_str(), -1, SQLITE_TRANSIENT);
    if (!provider.empty()) sqlite3_bind_text(q.s, 3, provider.c_str(), -1, SQLITE_TRANSIENT);
    std::vector<Row> out;
    int rc;
    while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
        Row r;
        r.day = reinterpret_cast<const char*>(sqlite3_column_text(q.s, 0));
        r.client = reinterpret_cast<const char*>(sqlite3_column_text(q.s, 1));
        r.provider = reinterpret_cast<const char*>(sqlite3_column_text(q.s, 2));
        auto col = [&](int c) { return static_cast<std::uint64_t>(sqlite3_column_int64(q.s, c)); };
        r.usage = {col(3), col(4), col(5), col(6), col(7), col(8)};
        out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) throw failure(path_, "read", db_);
    return out;
}

std::vector<Row> Recorder::deltas(const stats::Snapshot& now, std::int64_t unix_ms) {
    const std::string day = utc_day(unix_ms);
    std::vector<Row> rows;
    pending_ = last_;
    auto record = [&](const std::string& key, const std::string& client, const std::string& provider, const Usage& u) {
        const auto it = last_.find(key);
        const Usage d = minus(u, it != last_.end() ? it->second : Usage{});
        pending_[key] = u;
        if (!d.empty()) rows.push_back({day, client, provider, d});
    };
    for (const stats::ProviderStats& p : now.providers) {
        const stats::Totals& t = p.counters;
        record("p:" + p.name, "*", p.name,
               {t.requests, t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_creation_tokens,
                t.cost_micro_usd});
    }
    for (const stats::ClientStats& c : now.clients)
        record("c:" + c.name, c.name, "*",
               {c.requests, c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_creation_tokens,
                c.cost_micro_usd});
    return rows;
}

}  // namespace ccr::shared::ledger
