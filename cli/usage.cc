// `cc-relay usage`: the per-day usage ledger the master keeps (shared/ledger), as a table or JSON.
// Needs read access to the ledger file only.

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "shared/config/config.h"
#include "shared/ledger/ledger.h"
#include "shared/stats/segment.h"
#include "shared/util/json.h"

namespace ccr::cli {

namespace ledger = shared::ledger;

namespace {

std::string pad(const std::string& s, std::size_t w, bool right) {
    if (s.size() >= w) return s;
    const std::string fill(w - s.size(), ' ');
    return right ? fill + s : s + fill;
}

std::string usd(std::uint64_t micro) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(micro) / 1e6);
    return buf;
}

/// --db, else ledger.path of the config (--config or discovery; read lightly, as `stats` does),
/// else where the master writes by default.
std::string ledger_path(const UsageOptions& opts) {
    if (!opts.db.empty()) return opts.db;
    const shared::InstanceRef ref = shared::read_instance_ref(opts.config_path);
    if (!ref.ledger_errors.empty()) throw shared::ConfigError(ref.ledger_errors);
    return ref.ledger_path.empty() ? ledger::reader_default_path() : ref.ledger_path;
}

}  // namespace

int run_usage(const UsageOptions& opts) {
    const std::string path = ledger_path(opts);
    std::unique_ptr<ledger::Ledger> l;
    try {
        l = ledger::Ledger::open_for_reading(path);
    } catch (const std::exception& e) {
        std::cerr << "cc-relay: " << e.what() << "\n";
        return 1;
    }
    const bool exact = !opts.day.empty();
    const std::string since = exact ? opts.day : opts.since;
    const std::vector<ledger::Row> rows = l->read(since, exact, opts.client, opts.provider);
    if (opts.json) {
        std::string out = "{\"ledger\":";
        shared::append_json_string(out, path);
        out += ",\"rows\":[";
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const ledger::Row& r = rows[i];
            if (i > 0) out += ',';
            out += "{\"day\":";
            shared::append_json_string(out, r.day);
            out += ",\"client\":";
            shared::append_json_string(out, r.client);
            out += ",\"provider\":";
            shared::append_json_string(out, r.provider);
            const ledger::Usage& u = r.usage;
            out += ",\"requests\":" + std::to_string(u.requests) + ",\"input_tokens\":" + std::to_string(u.input_tokens) +
                   ",\"output_tokens\":" + std::to_string(u.output_tokens) +
                   ",\"cache_read_tokens\":" + std::to_string(u.cache_read_tokens) +
                   ",\"cache_creation_tokens\":" + std::to_string(u.cache_creation_tokens) +
                   ",\"cost_micro_usd\":" + std::to_string(u.cost_micro_usd) + "}";
        }
        out += "]}";
        std::cout << out << "\n";
        return 0;
    }
    if (rows.empty()) {
        std::cout << "no usage recorded" << (since.empty() ? "" : " for " + std::string(exact ? "" : "since ") + since)
                  << " in " << path << "\n";
        return 0;
    }
    // Name columns as wide as their longest name, together at most 30 so that a line fits 80
    // columns; a longer name is cut, ending in '~' (--json has it whole).
    std::size_t cw = 6, pw = 8;
    for (const ledger::Row& r : rows) {
        cw = std::max(cw, r.client.size());
        pw = std::max(pw, r.provider.size());
    }
    constexpr std::size_t kNames = 30;
    while (cw + pw > kNames) (cw >= pw ? cw : pw)--;
    auto name = [](const std::string& s, std::size_t w) {
        return s.size() <= w ? pad(s, w, false) : s.substr(0, w - 1) + "~";
    };
    std::cout << pad("DAY", 10, false) << " " << pad("CLIENT", cw, false) << " " << pad("PROVIDER", pw, false) << " "
              << pad("REQUESTS", 8, true) << " " << pad("TOK-IN", 9, true) << " " << pad("TOK-OUT", 9, true) << " "
              << pad("COST$", 8, true) << "\n";
    for (const ledger::Row& r : rows) {
        std::cout << pad(r.day, 10, false) << " " << name(r.client, cw) << " " << name(r.provider, pw) << " "
                  << pad(std::to_string(r.usage.requests), 8, true) << " "
                  << pad(std::to_string(r.usage.input_tokens), 9, true) << " "
                  << pad(std::to_string(r.usage.output_tokens), 9, true) << " " << pad(usd(r.usage.cost_micro_usd), 8, true)
                  << "\n";
    }
    std::cout << "(client \"*\": a provider's total; provider \"*\": a client's total)\n";
    return 0;
}

}  // namespace ccr::cli
