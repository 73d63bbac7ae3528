// The frames of `cc-relay top`, computed from snapshots alone so that they are tested without a
// terminal. Rates and quantiles are over the window between two readings, which is what a live
// view is for; the totals of the whole uptime are `cc-relay stats`.
#include <algorithm>
#include <cstdio>

#include "cli/top.h"

namespace ccr::cli {

namespace stats = shared::stats;

namespace {

std::string fmt(const char* f, double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string ms(double v) { return v <= 0 ? "-" : v < 10 ? fmt("%.1f", v) : fmt("%.0f", v); }

std::string rate(double v) {
    return v < 1000 ? fmt("%.1f", v) : v < 1e6 ? fmt("%.0f", v) : fmt("%.1fM", v / 1e6);
}

// At most 6 characters, so the count columns never have to be cut.
std::string count(std::uint64_t v) {
    if (v < 1'000'000) return std::to_string(v);
    if (v < 1'000'000'000) return fmt("%.1fM", static_cast<double>(v) / 1e6);
    return fmt("%.1fG", static_cast<double>(v) / 1e9);
}

// A counter between two readings; one that went back (the process behind a slot restarted)
// counts from zero.
std::uint64_t delta(std::uint64_t now, std::uint64_t prev) {
    return now >= prev ? now - prev : now;
}

// The samples of the window, bucket by bucket, whatever the buckets are; the quantiles
// themselves are the snapshot's percentile_ms.
stats::Histogram since(const stats::Histogram& now, const stats::Histogram* prev) {
    if (prev == nullptr) return now;
    stats::Histogram d = now;
    for (std::size_t i = 0; i < d.buckets.size(); ++i)
        d.buckets[i] = delta(now.buckets[i], prev->buckets[i]);
    d.sum_us = delta(now.sum_us, prev->sum_us);
    return d;
}

std::string circuit(const stats::ProviderStats& p) {
    if (p.relay) return "-";
    if (p.disabled) return "disabled";
    std::string out = stats::breaker_state_name(p.breaker.state);
    if (p.breaker.state == stats::BreakerState::open && p.breaker.open_for_ms > 0)
        out += " " + std::to_string((p.breaker.open_for_ms + 999) / 1000) + "s";
    return out;
}

struct Column {
    const char* head;
    std::size_t width;  // the first column's is its least
};

struct Row {
    std::vector<std::string> cells;
    std::vector<double> keys;  // by sort column; keys[0] unused (configured order)
};

struct Table {
    std::vector<Column> columns;
    std::vector<Row> rows;
};

// Highest first on the chosen column; ties (and sort 0) keep the configured order.
void sort_rows(std::vector<Row>& rows, int sort) {
    if (sort <= 0) return;
    const auto k = static_cast<std::size_t>(sort);
    std::stable_sort(rows.begin(), rows.end(),
                     [k](const Row& a, const Row& b) { return a.keys[k] > b.keys[k]; });
}

std::string pad(std::string s, std::size_t w, bool right) {
    if (s.size() > w) s.resize(w);
    const std::string fill(w - s.size(), ' ');
    return right ? fill + s : s + fill;
}

// The first column (names) takes what the others leave, up to its longest cell; the others are
// right-aligned numbers.
std::vector<std::string> lay_out(const Table& t, std::size_t width) {
    std::size_t fixed = 0;
    for (std::size_t i = 1; i < t.columns.size(); ++i) fixed += t.columns[i].width + 1;
    std::size_t longest = std::string_view(t.columns[0].head).size();
    for (const Row& r : t.rows) longest = std::max(longest, r.cells[0].size());
    const std::size_t room = width > fixed ? width - fixed : 0;
    const std::size_t first = std::max(t.columns[0].width, std::min(longest, room));
    auto line = [&](auto cell) {
        std::string l = pad(cell(0), first, false);
        for (std::size_t i = 1; i < t.columns.size(); ++i)
            l += " " + pad(cell(i), t.columns[i].width, true);
        while (!l.empty() && l.back() == ' ') l.pop_back();
        if (l.size() > width) l.resize(width);
        return l;
    };
    std::vector<std::string> out;
    out.push_back(line([&](std::size_t i) { return std::string(t.columns[i].head); }));
    for (const Row& r : t.rows) out.push_back(line([&](std::size_t i) { return r.cells[i]; }));
    return out;
}

template <typename T, typename Same>
const T* previous(const std::vector<T>* prev, Same same) {
    if (prev == nullptr) return nullptr;
    for (const T& p : *prev)
        if (same(p)) return &p;
    return nullptr;
}

Table providers(const stats::Snapshot& now, const stats::Snapshot* prev, double dt) {
    Table t{{{"PROVIDER", 8},
             {"REQS", 7},
             {"REQ/S", 7},
             {"INFL", 4},
             {"ERR%", 5},
             {"TTFB50", 6},
             {"TTFB99", 6},
             {"TOK/S", 7},
             {"CIRCUIT", 9}},
            {}};
    for (const stats::ProviderStats& p : now.providers) {
        const stats::ProviderStats* before =
            previous(prev ? &prev->providers : nullptr,
                     [&](const auto& q) { return q.name == p.name && q.relay == p.relay; });
        const stats::Totals& c = p.counters;
        const stats::Totals* b = before != nullptr ? &before->counters : nullptr;
        const double req_s = static_cast<double>(delta(c.requests, b ? b->requests : 0)) / dt;
        const std::uint64_t tries = delta(c.attempts(), b ? b->attempts() : 0);
        const std::uint64_t failed = delta(c.failed_attempts(), b ? b->failed_attempts() : 0);
        const double err =
            tries > 0 ? 100.0 * static_cast<double>(failed) / static_cast<double>(tries) : 0;
        const stats::Histogram ttfb = since(c.ttfb, b ? &b->ttfb : nullptr);
        const double p50 = stats::percentile_ms(ttfb, 0.50);
        const double p99 = stats::percentile_ms(ttfb, 0.99);
        const std::uint64_t tokens = c.input_tokens + c.output_tokens;
        const double tok_s =
            static_cast<double>(delta(tokens, b ? b->input_tokens + b->output_tokens : 0)) / dt;
        t.rows.push_back({{p.gone ? p.name + " (gone)" : p.name, count(c.requests), rate(req_s),
                           std::to_string(c.in_flight), tries > 0 ? fmt("%.1f", err) : "-", ms(p50),
                           ms(p99), rate(tok_s), circuit(p)},
                          {0, static_cast<double>(c.requests), req_s, err, p99, tok_s}});
    }
    return t;
}

Table clients(const stats::Snapshot& now, const stats::Snapshot* prev, double dt) {
    Table t{{{"CLIENT", 8},
             {"REQ/S", 7},
             {"REQUESTS", 8},
             {"TOK-IN", 8},
             {"TOK-OUT", 8},
             {"429", 5},
             {"COST$", 9}},
            {}};
    for (const stats::ClientStats& c : now.clients) {
        const stats::ClientStats* b = previous(prev ? &prev->clients : nullptr,
                                               [&](const auto& q) { return q.name == c.name; });
        const double req_s = static_cast<double>(delta(c.requests, b ? b->requests : 0)) / dt;
        const double cost = static_cast<double>(c.cost_micro_usd) / 1e6;
        t.rows.push_back({{c.gone ? c.name + " (gone)" : c.name, rate(req_s), count(c.requests),
                           count(c.input_tokens), count(c.output_tokens), count(c.rate_limited),
                           fmt("%.2f", cost)},
                          {0, req_s, static_cast<double>(c.requests),
                           static_cast<double>(c.output_tokens), cost}});
    }
    return t;
}

Table workers(const stats::Snapshot& now, const stats::Snapshot* prev, double dt) {
    Table t{{{"SLOT", 4},
             {"PID", 8},
             {"GEN", 5},
             {"STATE", 9},
             {"RESTARTS", 8},
             {"SERVED", 8},
             {"REQ/S", 7},
             {"INFL", 5}},
            {}};
    for (const stats::WorkerStats& w : now.workers) {
        if (!w.alive && w.state == stats::WorkerState::exited) continue;
        const stats::WorkerStats* b = previous(prev ? &prev->workers : nullptr,
                                               [&](const auto& q) { return q.slot == w.slot; });
        const double req_s = static_cast<double>(delta(w.requests, b ? b->requests : 0)) / dt;
        t.rows.push_back(
            {{std::to_string(w.slot), std::to_string(w.pid), std::to_string(w.generation),
              stats::state_name(w.state), std::to_string(w.restarts), count(w.requests),
              rate(req_s), std::to_string(w.in_flight)},
             {0, req_s, static_cast<double>(w.requests), static_cast<double>(w.in_flight)}});
    }
    return t;
}

const char* view_name(TopView v) {
    return v == TopView::providers ? "providers" : v == TopView::clients ? "clients" : "workers";
}

}  // namespace

const std::vector<std::string>& top_sort_columns(TopView view) {
    static const std::vector<std::string> providers{"config", "requests", "req/s",
                                                    "err%",   "ttfb-p99", "tok/s"};
    static const std::vector<std::string> clients{"config", "req/s", "requests", "tok-out", "cost"};
    static const std::vector<std::string> workers{"slot", "req/s", "served", "in-flight"};
    return view == TopView::providers ? providers : view == TopView::clients ? clients : workers;
}

TopKey top_key(char key, TopFrame& frame) {
    switch (key) {
        case 'q':
        case 'Q':
            return TopKey::quit;
        case 'v':
        case 'V':
        case '\t':
            frame.view = frame.view == TopView::providers ? TopView::clients
                         : frame.view == TopView::clients ? TopView::workers
                                                          : TopView::providers;
            frame.sort = 0;
            return TopKey::redraw;
        case 's':
        case 'S':
            frame.sort = (frame.sort + 1) % static_cast<int>(top_sort_columns(frame.view).size());
            return TopKey::redraw;
        case 'p':
        case 'P':
        case ' ':
            frame.paused = !frame.paused;
            return TopKey::redraw;
        default:
            return TopKey::ignored;
    }
}

std::vector<std::string> render_top(const stats::Snapshot& now,
                                    const stats::Snapshot* prev,
                                    const TopFrame& frame) {
    const double window =
        prev != nullptr ? static_cast<double>(now.taken_unix_ms - prev->taken_unix_ms) / 1000.0
                        : static_cast<double>(now.uptime_s);
    const double dt = window > 0 ? window : 1;
    const auto width = static_cast<std::size_t>(std::max(frame.width, 20));
    auto cut = [width](std::string s) {
        if (s.size() > width) s.resize(width);
        return s;
    };

    std::vector<std::string> head;
    head.push_back(
        cut("cc-relay top - " + now.segment + " - generation " + std::to_string(now.generation) +
            ", up " + stats::format_duration(now.uptime_s) + ", workers " +
            std::to_string(now.workers_ready()) + "/" + std::to_string(now.configured_workers) +
            (now.master_alive ? "" : " (master not running)")));
    const auto sort =
        static_cast<std::size_t>(frame.sort) < top_sort_columns(frame.view).size() ? frame.sort : 0;
    head.push_back(
        cut(std::string("view: ") + view_name(frame.view) +
            ", sort: " + top_sort_columns(frame.view)[static_cast<std::size_t>(sort)] +
            (prev != nullptr ? fmt(", rates over %.1fs", dt) : ", rates over the uptime") +
            (frame.paused ? " [paused]" : "")));
    head.push_back("");

    Table t = frame.view == TopView::providers ? providers(now, prev, dt)
              : frame.view == TopView::clients ? clients(now, prev, dt)
                                               : workers(now, prev, dt);
    sort_rows(t.rows, sort);
    std::vector<std::string> body;
    if (frame.view == TopView::clients && t.rows.empty())
        body.push_back(cut("no clients: `clients:` is not configured"));
    else
        body = lay_out(t, width);

    std::vector<std::string> foot;
    if (frame.keys) foot = {"", cut("q quit  v/Tab view  s sort  p pause")};
    // Rows that do not fit the terminal are counted on a line of their own.
    if (frame.height > 0 &&
        head.size() + body.size() + foot.size() > static_cast<std::size_t>(frame.height)) {
        const std::size_t room =
            static_cast<std::size_t>(frame.height) > head.size() + foot.size() + 2
                ? static_cast<std::size_t>(frame.height) - head.size() - foot.size() - 1
                : 1;  // the column heads at least
        const std::size_t hidden = body.size() - std::min(room, body.size());
        body.resize(std::min(room, body.size()));
        if (hidden > 0) body.push_back(cut("... " + std::to_string(hidden) + " more"));
    }
    std::vector<std::string> out = std::move(head);
    out.insert(out.end(), body.begin(), body.end());
    out.insert(out.end(), foot.begin(), foot.end());
    if (frame.height > 0 && out.size() > static_cast<std::size_t>(frame.height))
        out.resize(static_cast<std::size_t>(frame.height));
    return out;
}

}  // namespace ccr::cli
