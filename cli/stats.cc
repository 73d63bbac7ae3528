// `cc-relay stats`: reads the instance's shared-memory segment (never the master) and prints the
// per-provider table, or one JSON object; --watch redraws until SIGINT.

#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/instance.h"
#include "shared/stats/snapshot.h"

namespace ccr::cli {

namespace stats = shared::stats;

namespace {

/// Columns of the terminal on stdout (TIOCGWINSZ), else $COLUMNS, else 80.
int terminal_width() {
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    if (const char* c = std::getenv("COLUMNS")) {
        const int n = std::atoi(c);
        if (n > 0) return n;
    }
    return 80;
}

/// Waits `seconds` or until SIGINT/SIGTERM (blocked, so none is lost between two waits).
/// false: interrupted.
bool wait_or_interrupt(const sigset_t& set, double seconds) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(seconds);
    ts.tv_nsec = static_cast<long>((seconds - std::floor(seconds)) * 1e9);
    for (;;) {
        const int sig = ::sigtimedwait(&set, nullptr, &ts);
        if (sig > 0) return false;
        if (errno == EAGAIN) return true;
        // EINTR: another signal's handler ran; the remaining time is not reported, so restart
        // with a full interval (a slightly longer refresh is harmless).
    }
}

int watch(const stats::Segment& seg, const StatsOptions& opts) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    const bool tty = ::isatty(STDOUT_FILENO) == 1;
    std::optional<stats::Snapshot> previous;
    for (;;) {
        stats::Snapshot now = stats::take_snapshot(seg);
        if (opts.json) {
            std::cout << stats::render_json(now) << std::endl;
        } else {
            if (tty) std::cout << "\x1b[H\x1b[2J";  // home, clear: redraw in place
            stats::TableOptions t{opts.workers, previous ? &*previous : nullptr, terminal_width()};
            std::cout << stats::render_table(now, t);
            if (!tty) std::cout << "\n";
            std::cout << std::flush;
        }
        previous = std::move(now);
        if (!wait_or_interrupt(set, opts.watch_seconds)) break;
    }
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    return 0;
}

}  // namespace

int run_stats(const StatsOptions& opts) {
    const Instance instance = find_instance({opts.config_path, opts.listen, opts.shm});
    const stats::Segment* seg = instance.segment.get();
    if (opts.watch_seconds > 0) return watch(*seg, opts);
    const stats::Snapshot now = stats::take_snapshot(*seg);
    if (opts.json) {
        std::cout << stats::render_json(now) << "\n";
    } else {
        std::cout << stats::render_table(now, {opts.workers, nullptr, terminal_width()});
    }
    return 0;
}

}  // namespace ccr::cli
