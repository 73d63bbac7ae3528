#include "cli/top.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/instance.h"

namespace ccr::cli {

namespace stats = shared::stats;

namespace {

std::string fmt(const char* f, double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string ms(double v) { return v <= 0 ? "-" : v < 10 ? fmt("%.1f", v) : fmt("%.0f", v); }

// Counters between two snapshots: `now - prev` (0 when a counter went back, after a restart).
std::uint64_t delta(std::uint64_t now, std::uint64_t prev) { return now >= prev ? now - prev : now; }

stats::Histogram delta(const stats::Histogram& now, const stats::Histogram* prev) {
    if (prev == nullptr) return now;
    stats::Histogram d;
    for (int i = 0; i < stats::kBuckets; ++i) d.buckets[i] = delta(now.buckets[i], prev->buckets[i]);
    d.sum_us = delta(now.sum_us, prev->sum_us);
    return d;
}

struct ProviderRow {
    std::string name;
    double req_s = 0, err_pct = 0, p50 = 0, p99 = 0, tok_s = 0;
    std::int64_t in_flight = 0;
    std::string circuit;
};

struct ClientRow {
    std::string name;
    double req_s = 0;
    std::uint64_t requests = 0, tok_in = 0, tok_out = 0, limited = 0;
    double cost = 0;
};

std::string pad(std::string s, std::size_t w, bool right) {
    if (s.size() > w) s.resize(w);
    const std::string fill(w - s.size(), ' ');
    return right ? fill + s : s + fill;
}

// Lays out rows under a header: the first column takes the room the others leave.
std::vector<std::string> table(const std::vector<std::string>& head,
                               const std::vector<std::vector<std::string>>& rows,
                               const std::vector<std::size_t>& widths,
                               int width) {
    std::size_t fixed = 0;
    for (std::size_t i = 1; i < widths.size(); ++i) fixed += widths[i] + 1;
    const std::size_t first = std::max<std::size_t>(8, static_cast<std::size_t>(std::max(width, 40)) - fixed);
    std::vector<std::string> out;
    auto line = [&](const std::vector<std::string>& cells) {
        std::string l = pad(cells[0], std::min<std::size_t>(first, std::max<std::size_t>(widths[0], 8)), false);
        for (std::size_t i = 1; i < cells.size(); ++i) l += " " + pad(cells[i], widths[i], true);
        if (l.size() > static_cast<std::size_t>(width)) l.resize(static_cast<std::size_t>(width));
        out.push_back(l);
    };
    line(head);
    for (const auto& r : rows) line(r);
    return out;
}

}  // namespace

const std::vector<std::string>& top_sort_columns(TopView view) {
    static const std::vector<std::string> providers{"config", "req/s", "err%", "ttfb-p99", "tok/s"};
    static const std::vector<std::string> clients{"config", "req/s", "requests", "tok-out", "cost"};
    static const std::vector<std::string> workers{"slot", "requests", "in-flight"};
    return view == TopView::providers ? providers : view == TopView::clients ? clients : workers;
}

std::vector<std::string> render_top(const stats::Snapshot& now, const stats::Snapshot* prev, const TopFrame& frame) {
    const double seconds = prev != nullptr ? static_cast<double>(now.taken_unix_ms - prev->taken_unix_ms) / 1000.0
                                           : static_cast<double>(std::max<std::int64_t>(now.uptime_s, 1));
    const double dt = seconds > 0 ? seconds : 1;
    std::vector<std::string> out;
    const char* view_name = frame.view == TopView::providers ? "providers" : frame.view == TopView::clients ? "clients" : "workers";
    std::string head = "cc-relay top - " + now.segment + " - generation " + std::to_string(now.generation) + ", up " +
                       stats::format_duration(now.uptime_s) + ", workers " + std::to_string(now.workers_ready()) + "/" +
                       std::to_string(now.configured_workers) + (now.master_alive ? "" : " (master not running)");
    out.push_back(head.substr(0, static_cast<std::size_t>(frame.width)));
    out.push_back(std::string("view: ") + view_name + ", sort: " + top_sort_columns(frame.view)[static_cast<std::size_t>(frame.sort)] +
                  (prev != nullptr ? fmt(", rates over %.1fs", dt) : ", rates over the uptime") + (frame.paused ? " [paused]" : ""));
    out.push_back("");

    if (frame.view == TopView::providers) {
        std::vector<ProviderRow> rows;
        for (const stats::ProviderStats& p : now.providers) {
            const stats::ProviderStats* before = nullptr;
            if (prev != nullptr)
                for (const auto& q : prev->providers)
                    if (q.name == p.name && q.relay == p.relay) before = &q;
            const stats::Totals& t = p.counters;
            const stats::Totals* b = before != nullptr ? &before->counters : nullptr;
            ProviderRow r;
            r.name = p.gone ? p.name + " (gone)" : p.name;
            r.req_s = static_cast<double>(delta(t.requests, b ? b->requests : 0)) / dt;
            const std::uint64_t tries = delta(t.attempts(), b ? b->attempts() : 0);
            const std::uint64_t failed = delta(t.failed_attempts(), b ? b->failed_attempts() : 0);
            r.err_pct = tries > 0 ? 100.0 * static_cast<double>(failed) / static_cast<double>(tries) : 0;
            const stats::Histogram ttfb = delta(t.ttfb, b ? &b->ttfb : nullptr);
            r.p50 = stats::percentile_ms(ttfb, 0.50);
            r.p99 = stats::percentile_ms(ttfb, 0.99);
            r.tok_s = static_cast<double>(delta(t.input_tokens + t.output_tokens, b ? b->input_tokens + b->output_tokens : 0)) / dt;
            r.in_flight = t.in_flight;
            r.circuit = p.relay ? "-" : stats::breaker_state_name(p.breaker.state);
            rows.push_back(std::move(r));
        }
        auto key = [&](const ProviderRow& r) {
            switch (frame.sort) {
                case 1: return r.req_s;
                case 2: return r.err_pct;
                case 3: return r.p99;
                case 4: return r.tok_s;
                default: return 0.0;
            }
        };
        if (frame.sort != 0)
            std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) { return key(a) > key(b); });
        std::vector<std::vector<std::string>> cells;
        for (const auto& r : rows)
            cells.push_back({r.name, fmt("%.1f", r.req_s), std::to_string(r.in_flight), fmt("%.1f", r.err_pct), ms(r.p50),
                             ms(r.p99), fmt("%.0f", r.tok_s), r.circuit});
        for (auto& l : table({"PROVIDER", "REQ/S", "INFL", "ERR%", "TTFB50", "TTFB99", "TOK/S", "CIRCUIT"}, cells,
                             {24, 7, 5, 5, 7, 7, 8, 9}, frame.width))
            out.push_back(std::move(l));
    } else if (frame.view == TopView::clients) {
        std::vector<ClientRow> rows;
        for (const stats::ClientStats& c : now.clients) {
            const stats::ClientStats* b = nullptr;
            if (prev != nullptr)
                for (const auto& q : prev->clients)
                    if (q.name == c.name) b = &q;
            ClientRow r;
            r.name = c.gone ? c.name + " (gone)" : c.name;
            r.req_s = static_cast<double>(delta(c.requests, b ? b->requests : 0)) / dt;
            r.requests = c.requests;
            r.tok_in = c.input_tokens;
            r.tok_out = c.output_tokens;
            r.limited = c.rate_limited;
            r.cost = static_cast<double>(c.cost_micro_usd) / 1e6;
            rows.push_back(std::move(r));
        }
        auto key = [&](const ClientRow& r) {
            switch (frame.sort) {
                case 1: return r.req_s;
                case 2: return static_cast<double>(r.requests);
                case 3: return static_cast<double>(r.tok_out);
                case 4: return r.cost;
                default: return 0.0;
            }
        };
        if (frame.sort != 0)
            std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) { return key(a) > key(b); });
        std::vector<std::vector<std::string>> cells;
        for (const auto& r : rows)
            cells.push_back({r.name, fmt("%.1f", r.req_s), std::to_string(r.requests), std::to_string(r.tok_in),
                             std::to_string(r.tok_out), std::to_string(r.limited), fmt("%.2f", r.cost)});
        if (cells.empty()) out.push_back("no clients: `clients:` is not configured");
        else
            for (auto& l : table({"CLIENT", "REQ/S", "REQUESTS", "TOK-IN", "TOK-OUT", "429", "COST$"}, cells,
                                 {20, 7, 9, 10, 10, 6, 9}, frame.width))
                out.push_back(std::move(l));
    } else {
        std::vector<stats::WorkerStats> ws = now.workers;
        if (frame.sort == 1) std::stable_sort(ws.begin(), ws.end(), [](const auto& a, const auto& b) { return a.requests > b.requests; });
        if (frame.sort == 2) std::stable_sort(ws.begin(), ws.end(), [](const auto& a, const auto& b) { return a.in_flight > b.in_flight; });
        std::vector<std::vector<std::string>> cells;
        for (const auto& w : ws) {
            if (!w.alive && w.state == stats::WorkerState::exited) continue;
            cells.push_back({std::to_string(w.slot), std::to_string(w.pid), std::to_string(w.generation),
                             stats::state_name(w.state), std::to_string(w.restarts), std::to_string(w.requests),
                             std::to_string(w.in_flight)});
        }
        for (auto& l : table({"SLOT", "PID", "GEN", "STATE", "RESTARTS", "REQUESTS", "INFL"}, cells, {6, 8, 5, 9, 9, 10, 6},
                             frame.width))
            out.push_back(std::move(l));
    }
    out.push_back("");
    out.push_back(std::string("q quit  v view  s sort  p pause").substr(0, static_cast<std::size_t>(frame.width)));
    return out;
}

namespace {

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_resized = 0;
void on_stop(int) { g_stop = 1; }
void on_winch(int) { g_resized = 1; }

int terminal_width() {
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    if (const char* c = std::getenv("COLUMNS"); c != nullptr && std::atoi(c) > 0) return std::atoi(c);
    return 80;
}

// The terminal as top leaves it: cooked mode, cursor shown, main screen.
struct RawTerminal {
    termios saved{};
    bool active = false;
    void enter() {
        if (::tcgetattr(STDIN_FILENO, &saved) != 0) return;
        termios raw = saved;
        raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        ::tcsetattr(STDIN_FILENO, TCSANOW, &raw);
        active = true;
        std::cout << "\x1b[?1049h\x1b[?25l" << std::flush;  // alternate screen, cursor hidden
    }
    ~RawTerminal() {
        if (!active) return;
        std::cout << "\x1b[?25h\x1b[?1049l" << std::flush;  // cursor shown, main screen
        ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    }
};

}  // namespace

int run_top(const TopOptions& opts) {
    const Instance instance = find_instance({opts.config_path, opts.listen, opts.shm});
    const stats::Segment& seg = *instance.segment;
    const bool tty = ::isatty(STDOUT_FILENO) == 1 && ::isatty(STDIN_FILENO) == 1 && !opts.once && opts.count == 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    sa.sa_handler = on_winch;
    ::sigaction(SIGWINCH, &sa, nullptr);

    TopFrame frame;
    std::optional<stats::Snapshot> cur, before;  // the last two readings: rates between them
    RawTerminal term;
    if (tty) term.enter();
    int frames = 0;
    bool refresh = true;
    for (;;) {
        frame.width = terminal_width();
        if (refresh && !(frame.paused && cur)) {
            before = std::move(cur);
            cur = stats::take_snapshot(seg);
        }
        const std::vector<std::string> lines = render_top(*cur, before ? &*before : nullptr, frame);
        if (tty) {
            std::string screen = "\x1b[H\x1b[2J";
            for (const auto& l : lines) screen += l + "\r\n";
            std::cout << screen << std::flush;
        } else {
            for (const auto& l : lines) std::cout << l << "\n";
            std::cout << std::endl;
        }
        ++frames;
        if (opts.once || (opts.count > 0 && frames >= opts.count) || g_stop) break;
        // Wait for the interval (a refresh), a key or a resize (a redraw), or a signal.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(opts.interval_s * 1000));
        bool redraw = false;
        refresh = false;
        while (!g_stop && !redraw) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
            if (left <= 0) {
                refresh = true;
                break;
            }
            pollfd pfd{tty ? STDIN_FILENO : -1, POLLIN, 0};
            const int n = ::poll(&pfd, 1, static_cast<int>(left));
            if (g_resized) {
                g_resized = 0;
                redraw = true;
            }
            if (n <= 0 || !(pfd.revents & POLLIN)) continue;
            char key = 0;
            if (::read(STDIN_FILENO, &key, 1) != 1) continue;
            switch (key) {
                case 'q': case 'Q': g_stop = 1; break;
                case 'v': case '\t':
                    frame.view = frame.view == TopView::providers ? TopView::clients
                                 : frame.view == TopView::clients ? TopView::workers : TopView::providers;
                    frame.sort = 0;
                    redraw = true;
                    break;
                case 's':
                    frame.sort = (frame.sort + 1) % static_cast<int>(top_sort_columns(frame.view).size());
                    redraw = true;
                    break;
                case 'p': frame.paused = !frame.paused; redraw = true; break;
                default: break;
            }
        }
        if (g_stop) break;
    }
    return 0;
}

}  // namespace ccr::cli
