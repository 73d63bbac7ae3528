// `cc-relay top`'s terminal: plain frames off a terminal (or with --once / --count), else the
// alternate screen with keys, redrawn at each interval, key and resize, and left as found on
// `q`, SIGINT, SIGTERM, an error, and around a suspension (Ctrl-Z). The frames are render_top's.
#include "cli/top.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <tuple>
#include <utility>

#include "cli/commands.h"
#include "cli/instance.h"

namespace ccr::cli {

namespace stats = shared::stats;
using Clock = std::chrono::steady_clock;

namespace {

volatile sig_atomic_t g_stop = 0;  // the signal that asked to stop
volatile sig_atomic_t g_resized = 0;
volatile sig_atomic_t g_suspend = 0;
void on_stop(int sig) { g_stop = sig; }
void on_winch(int) { g_resized = 1; }
void on_tstp(int) { g_suspend = 1; }

void handle(int sig, void (*handler)(int)) {
    struct sigaction sa {};
    sa.sa_handler = handler;  // no SA_RESTART: poll() returns at once with EINTR
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);
}

void write_all(std::string_view s) {
    while (!s.empty()) {
        const ssize_t n = ::write(STDOUT_FILENO, s.data(), s.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the terminal is gone: nothing left to show anything on
        s.remove_prefix(static_cast<std::size_t>(n));
    }
}

// Columns and rows from TIOCGWINSZ; off a terminal $COLUMNS, else 80 columns and no row limit.
std::pair<int, int> terminal_size() {
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return {ws.ws_col, ws.ws_row};
    if (const char* c = std::getenv("COLUMNS"); c != nullptr && std::atoi(c) > 0)
        return {std::atoi(c), 0};
    return {80, 0};
}

int wait_ms(Clock::time_point until) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

// The alternate screen with the cursor hidden, and keys read one at a time without echo (ISIG
// stays: Ctrl-C and Ctrl-Z still send their signals). Left on destruction, so also on an
// exception on the way out.
class Screen {
  public:
    Screen() {
        if (::tcgetattr(STDIN_FILENO, &saved_) == 0) enter();
    }
    ~Screen() { leave(); }
    Screen(const Screen&) = delete;
    Screen& operator=(const Screen&) = delete;

    void enter() {
        termios raw = saved_;
        raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        ::tcsetattr(STDIN_FILENO, TCSANOW, &raw);
        write_all("\x1b[?1049h\x1b[?25l");
        active_ = true;
    }
    void leave() {
        if (!active_) return;
        write_all("\x1b[?25h\x1b[?1049l");
        ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
        active_ = false;
    }
    // Each line cleared to its end, the rest of the screen below, no newline after the last line
    // (so a frame as tall as the terminal does not scroll it).
    static void draw(const std::vector<std::string>& lines) {
        std::string s = "\x1b[H";
        for (std::size_t i = 0; i < lines.size(); ++i)
            s += lines[i] + (i + 1 < lines.size() ? "\x1b[K\r\n" : "\x1b[K");
        s += "\x1b[J";
        write_all(s);
    }

  private:
    termios saved_{};
    bool active_ = false;
};

int plain_frames(const stats::Segment& seg, const TopOptions& opts) {
    TopFrame frame;
    frame.keys = false;
    std::optional<stats::Snapshot> cur, before;
    auto next = Clock::now();
    for (int n = 1;; ++n) {
        before = std::move(cur);
        cur = stats::take_snapshot(seg);
        next += std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(opts.interval_s));
        frame.width = terminal_size().first;
        std::string out;
        for (const std::string& l : render_top(*cur, before ? &*before : nullptr, frame))
            out += l + "\n";
        write_all(out + "\n");
        if (opts.once || (opts.count > 0 && n >= opts.count)) return 0;
        while (g_stop == 0 && Clock::now() < next) ::poll(nullptr, 0, wait_ms(next));
        if (g_stop != 0) return 128 + g_stop;
    }
}

int live_view(const stats::Segment& seg, const TopOptions& opts) {
    handle(SIGWINCH, on_winch);
    handle(SIGTSTP, on_tstp);
    const auto interval =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts.interval_s));
    Screen screen;
    TopFrame frame;
    std::optional<stats::Snapshot> cur, before;
    // While paused the frame shows the readings of the moment it paused; reading goes on, so the
    // first frame after it has the rates of the last interval, not of the whole pause.
    std::optional<std::pair<stats::Snapshot, std::optional<stats::Snapshot>>> frozen;
    auto next = Clock::now();
    bool draw = true;
    while (g_stop == 0) {
        if (g_suspend != 0) {
            g_suspend = 0;
            screen.leave();
            // Stopped as Ctrl-Z would have, so the shell's job control sees it; fg lands here.
            ::kill(::getpid(), SIGSTOP);
            screen.enter();
            draw = true;
        }
        if (g_resized != 0) {
            g_resized = 0;
            draw = true;
        }
        if (Clock::now() >= next) {
            before = std::move(cur);
            cur = stats::take_snapshot(seg);
            next = std::max(next + interval, Clock::now());
            draw = true;
        }
        if (draw) {
            std::tie(frame.width, frame.height) = terminal_size();
            const stats::Snapshot& now = frozen ? frozen->first : *cur;
            const std::optional<stats::Snapshot>& prev = frozen ? frozen->second : before;
            Screen::draw(render_top(now, prev ? &*prev : nullptr, frame));
            draw = false;
        }
        pollfd pfd{STDIN_FILENO, POLLIN, 0};
        if (::poll(&pfd, 1, wait_ms(next)) <= 0) continue;  // the interval, or a signal (EINTR)
        if ((pfd.revents & POLLIN) == 0) return 0;          // the terminal hung up
        char keys[64];
        const ssize_t n = ::read(STDIN_FILENO, keys, sizeof keys);
        if (n == 0) return 0;
        for (ssize_t i = 0; i < n; ++i) {
            if (keys[i] == '\x1b') break;  // an arrow or function key: its letters are no commands
            const bool was_paused = frame.paused;
            const TopKey k = top_key(keys[i], frame);
            if (k == TopKey::quit) return 0;
            if (k == TopKey::redraw) draw = true;
            if (frame.paused && !was_paused) frozen.emplace(*cur, before);
            if (!frame.paused) frozen.reset();
        }
    }
    return 128 + g_stop;
}

}  // namespace

int run_top(const TopOptions& opts) {
    const Instance instance = find_instance({opts.config_path, opts.listen, opts.shm});
    handle(SIGINT, on_stop);
    handle(SIGTERM, on_stop);
    const bool live = ::isatty(STDOUT_FILENO) == 1 && ::isatty(STDIN_FILENO) == 1 && !opts.once &&
                      opts.count == 0;
    return live ? live_view(*instance.segment, opts) : plain_frames(*instance.segment, opts);
}

}  // namespace ccr::cli
