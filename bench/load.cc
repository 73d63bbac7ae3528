// ccr-bench-load: the load generator for what wrk cannot measure. Loopback only, single-threaded
// io_context, C++20 coroutines; every loop is bounded by a count and by a hard deadline.
//
//   closed loop (default)  --conns C keep-alive connections, --duration S or --requests R
//   open loop              --rate R requests/s spread over --conns connections (latency is taken
//                          from the scheduled send time, so a stalled server cannot hide it)
//   streams                --streams M open SSE streams, one connection each, opened at
//                          --open-rate per second; time to first event and inter-event gaps
//
// With --pids, it also reads the server's processes from /proc: CPU time (utime + stime) over the
// measured window and resident memory sampled every 100 ms. It prints one line of key=value.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bench/http_util.h"

namespace ccr::bench {
namespace {

namespace net = boost::asio;
using net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

struct Options {
    int port = 0;
    std::string path = "/v1/messages";
    std::string body_file;
    int conns = 64;
    double duration_s = 5;
    int64_t requests = 0;  // 0 = run for the duration
    double rate = 0;       // > 0: open loop
    int streams = 0;       // > 0: streams mode
    double open_rate = 2000;
    int delay_ms = -1;      // x-bench-delay-ms
    int events = -1;        // x-bench-events
    int expect_events = 0;  // > 0: an SSE answer must carry exactly this many events
    double warmup_s = 0;
    double timeout_s = 30;  // grace after the run before everything is cut
    std::vector<int> pids;
    std::vector<std::string> headers;  // --header "Name: value", added to every request
};

int64_t us_since(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration_cast<std::chrono::microseconds>(b - a).count();
}

// ---- /proc readings of the server's processes ----

struct ProcSample {
    int64_t cpu_ticks = 0;
    int64_t rss_kib = 0;
    int64_t hwm_kib = 0;
};

ProcSample read_proc(int pid) {
    ProcSample s;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    size_t paren = line.rfind(')');
    if (paren != std::string::npos) {
        std::istringstream in(line.substr(paren + 2));
        std::string field;
        for (int i = 0; i < 13 && in >> field; ++i) {
            if (i == 11 || i == 12) s.cpu_ticks += std::stoll(field);  // utime, stime
        }
    }
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::stoll(line.substr(6));
        if (line.rfind("VmHWM:", 0) == 0) s.hwm_kib = std::stoll(line.substr(6));
    }
    return s;
}

// ---- shared run state ----

struct Run {
    Options opt;
    std::string request;
    Clock::time_point t0, measure_from, deadline;
    int64_t tickets = 0;
    int active = 0;
    Clock::time_point last_done;
    std::vector<uint32_t> latency_us, ttfe_us, gap_us;
    int64_t ok = 0, errors = 0, non2xx = 0, truncated = 0, conn_errors = 0, late = 0;
    int first_error_status = 0;
    std::vector<ProcSample> base, at_measure;
    std::vector<int64_t> rss_peak;  // per pid
    bool finished = false;
};

/// What one response looked like.
struct Outcome {
    bool complete = false;  // read to its end
    int status = 0;
    int events = 0;
    Clock::time_point first_event{};
    int64_t max_gap_us = 0;
    bool reusable = false;  // the connection may carry another request
};

/// Counts SSE events (each ends with a blank line) in decoded body bytes and times them.
struct EventClock {
    Outcome& out;
    char prev = 0;
    Clock::time_point last{};
    void feed(std::string_view d) {
        auto now = Clock::now();
        for (char c : d) {
            if (c == '\n' && prev == '\n') {
                if (out.events == 0)
                    out.first_event = now;
                else
                    out.max_gap_us = std::max(out.max_gap_us, us_since(last, now));
                last = now;
                ++out.events;
            }
            if (c != '\r') prev = c;
        }
    }
};

net::awaitable<Outcome> read_response(tcp::socket& s, std::string& buf, size_t& have) {
    Outcome out;
    EventClock clock{out};
    size_t head_end;
    for (;;) {
        head_end = std::string_view(buf.data(), have).find("\r\n\r\n");
        if (head_end != std::string_view::npos) break;
        if (have == buf.size()) co_return out;  // absurd head
        auto [ec, n] =
            co_await s.async_read_some(net::buffer(buf.data() + have, buf.size() - have), kTuple);
        if (ec) co_return out;
        have += n;
    }
    Head head = parse_head(std::string_view(buf.data(), head_end));
    std::string_view line = head.first_line;  // "HTTP/1.1 200 OK"
    out.status = line.size() > 12 ? static_cast<int>(to_int(line.substr(9))) : 0;
    size_t pos = head_end + 4;
    bool sse = out.status == 200 && head.content_length < 0;
    auto consume = [&](std::string_view d) {
        if (sse) clock.feed(d);
    };
    if (head.chunked) {
        ChunkDecoder dec;
        for (;;) {
            int64_t used = dec.feed(std::string_view(buf.data() + pos, have - pos), consume);
            if (used < 0) co_return out;
            pos += static_cast<size_t>(used);
            if (dec.done()) break;
            have = 0;
            pos = 0;
            auto [ec, n] = co_await s.async_read_some(net::buffer(buf), kTuple);
            if (ec) co_return out;
            have = n;
        }
        std::memmove(buf.data(), buf.data() + pos, have - pos);
        have -= pos;
        out.complete = true;
        out.reusable = !head.close;
        co_return out;
    }
    if (head.content_length >= 0) {
        uint64_t left = static_cast<uint64_t>(head.content_length);
        for (;;) {
            size_t n = std::min<uint64_t>(left, have - pos);
            consume(std::string_view(buf.data() + pos, n));
            pos += n;
            left -= n;
            if (left == 0) break;
            have = 0;
            pos = 0;
            auto [ec, got] = co_await s.async_read_some(net::buffer(buf), kTuple);
            if (ec) co_return out;
            have = got;
        }
        std::memmove(buf.data(), buf.data() + pos, have - pos);
        have -= pos;
        out.complete = true;
        out.reusable = !head.close;
        co_return out;
    }
    // Delimited by the close of the connection.
    consume(std::string_view(buf.data() + pos, have - pos));
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(net::buffer(buf), kTuple);
        if (ec) break;
        consume(std::string_view(buf.data(), n));
    }
    have = 0;
    out.complete = true;
    co_return out;
}

net::awaitable<bool> connect(tcp::socket& s, int port) {
    boost::system::error_code ignored;
    s.close(ignored);  // a fresh socket each time; closing a closed one is harmless
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port));
    auto [ec] = co_await s.async_connect(ep, kTuple);
    if (ec) co_return false;
    s.set_option(tcp::no_delay(true), ignored);  // latency only
    co_return true;
}

/// Judges one exchange; returns true when it counts as a success.
bool judge(Run& r, const Outcome& o) {
    if (!o.complete) {
        ++r.truncated;
        ++r.errors;
        return false;
    }
    if (o.status < 200 || o.status > 299) {
        ++r.non2xx;
        ++r.errors;
        if (!r.first_error_status) r.first_error_status = o.status;
        return false;
    }
    if (r.opt.expect_events > 0 && o.events != r.opt.expect_events) {
        ++r.truncated;
        ++r.errors;
        return false;
    }
    return true;
}

net::awaitable<void> wait_until(net::steady_timer& t, Clock::time_point when) {
    if (Clock::now() >= when) co_return;
    t.expires_at(when);
    co_await t.async_wait(kTuple);
}

/// Closed- and open-loop connection: requests one after the other on one keep-alive connection.
net::awaitable<void> connection(Run& r) {
    auto ex = co_await net::this_coro::executor;
    tcp::socket s(ex);
    net::steady_timer timer(ex);
    std::string buf(64 * 1024, '\0');
    size_t have = 0;
    bool connected = false;
    const Options& o = r.opt;
    const double interval_s = o.rate > 0 ? 1.0 / o.rate : 0;
    while (Clock::now() < r.deadline) {
        if (o.requests > 0 && r.tickets >= o.requests) break;
        int64_t ticket = r.tickets++;
        Clock::time_point start = Clock::now();
        if (o.rate > 0) {
            start = r.t0 + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(ticket * interval_s));
            if (start >= r.deadline) break;
            co_await wait_until(timer, start);
        }
        if (!connected) {
            have = 0;
            if (!(connected = co_await connect(s, o.port))) {
                ++r.conn_errors;
                ++r.errors;
                timer.expires_after(std::chrono::milliseconds(10));
                co_await timer.async_wait(kTuple);
                continue;
            }
        }
        if (o.rate <= 0) start = Clock::now();
        auto [ec, n] = co_await net::async_write(s, net::buffer(r.request), kTuple);
        Outcome out;
        if (!ec) out = co_await read_response(s, buf, have);
        auto done = Clock::now();
        connected = !ec && out.complete && out.reusable;
        if (start < r.measure_from) continue;  // warm-up
        if (judge(r, out)) {
            ++r.ok;
            r.latency_us.push_back(static_cast<uint32_t>(us_since(start, done)));
            if (out.events > 0) {
                r.ttfe_us.push_back(static_cast<uint32_t>(us_since(start, out.first_event)));
            }
            r.last_done = done;
        }
    }
    boost::system::error_code ignored;
    s.close(ignored);  // done; nothing to report
}

/// One long SSE stream on its own connection.
net::awaitable<void> stream(Run& r, int index) {
    auto ex = co_await net::this_coro::executor;
    tcp::socket s(ex);
    net::steady_timer timer(ex);
    co_await wait_until(timer, r.t0 + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(index / r.opt.open_rate)));
    std::string buf(16 * 1024, '\0');
    size_t have = 0;
    if (!co_await connect(s, r.opt.port)) {
        ++r.conn_errors;
        ++r.errors;
        co_return;
    }
    auto start = Clock::now();
    auto [ec, n] = co_await net::async_write(s, net::buffer(r.request), kTuple);
    Outcome out;
    if (!ec) out = co_await read_response(s, buf, have);
    if (!judge(r, out)) co_return;
    if (out.events == 0) {
        ++r.truncated;
        ++r.errors;
        co_return;
    }
    ++r.ok;
    auto done = Clock::now();
    r.latency_us.push_back(static_cast<uint32_t>(us_since(start, done)));
    r.ttfe_us.push_back(static_cast<uint32_t>(us_since(start, out.first_event)));
    r.gap_us.push_back(static_cast<uint32_t>(out.max_gap_us));
    if (r.opt.delay_ms > 0) {
        int64_t allowed_us = (r.opt.delay_ms + std::max(100, r.opt.delay_ms / 2)) * int64_t{1000};
        if (out.max_gap_us > allowed_us) ++r.late;
    }
    r.last_done = done;
    boost::system::error_code ignored;
    s.close(ignored);  // finished stream
}

net::awaitable<void> sample_memory(Run& r) {
    net::steady_timer t(co_await net::this_coro::executor);
    while (!r.finished && Clock::now() < r.deadline + std::chrono::seconds(5)) {
        for (size_t i = 0; i < r.opt.pids.size(); ++i) {
            r.rss_peak[i] = std::max(r.rss_peak[i], read_proc(r.opt.pids[i]).rss_kib);
        }
        t.expires_after(std::chrono::milliseconds(100));
        co_await t.async_wait(kTuple);
    }
}

double percentile(std::vector<uint32_t>& v, double p) {
    if (v.empty()) return 0;
    size_t k = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return v[k];
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void build_request(Run& r) {
    const Options& o = r.opt;
    std::string body = o.body_file.empty() ? std::string("{}") : read_file(o.body_file);
    r.request = "POST " + o.path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(o.port) +
                "\r\nContent-Type: application/json\r\nanthropic-version: 2023-06-01\r\n"
                "User-Agent: ccr-bench-load\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n";
    if (o.delay_ms >= 0) r.request += "x-bench-delay-ms: " + std::to_string(o.delay_ms) + "\r\n";
    if (o.events >= 0) r.request += "x-bench-events: " + std::to_string(o.events) + "\r\n";
    for (const std::string& h : o.headers) r.request += h + "\r\n";
    r.request += "\r\n" + body;
}

void report(Run& r, Clock::time_point end) {
    double elapsed = std::chrono::duration<double>(end - r.measure_from).count();
    if (r.opt.streams == 0 && r.opt.requests == 0 && r.last_done > r.measure_from) {
        elapsed = std::chrono::duration<double>(r.last_done - r.measure_from).count();
    }
    std::printf(
        "ok=%lld errors=%lld non2xx=%lld truncated=%lld conn_errors=%lld late=%lld "
        "first_error_status=%d elapsed_s=%.3f rps=%.1f",
        static_cast<long long>(r.ok), static_cast<long long>(r.errors),
        static_cast<long long>(r.non2xx), static_cast<long long>(r.truncated),
        static_cast<long long>(r.conn_errors), static_cast<long long>(r.late), r.first_error_status,
        elapsed, elapsed > 0 ? static_cast<double>(r.ok) / elapsed : 0);
    std::printf(" p50_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f", percentile(r.latency_us, .5),
                percentile(r.latency_us, .99), percentile(r.latency_us, .999),
                percentile(r.latency_us, 1));
    std::printf(" ttfe_p50_us=%.0f ttfe_p99_us=%.0f gap_p99_us=%.0f gap_max_us=%.0f",
                percentile(r.ttfe_us, .5), percentile(r.ttfe_us, .99), percentile(r.gap_us, .99),
                percentile(r.gap_us, 1));
    if (!r.opt.pids.empty()) {
        int64_t ticks = 0, peak = 0, base = 0, hwm = 0;
        std::string per_pid;
        for (size_t i = 0; i < r.opt.pids.size(); ++i) {
            ProcSample now = read_proc(r.opt.pids[i]);
            ticks += now.cpu_ticks - r.at_measure[i].cpu_ticks;
            peak += r.rss_peak[i];
            base += r.base[i].rss_kib;
            hwm += now.hwm_kib;
            per_pid += (per_pid.empty() ? "" : ",") + std::to_string(r.opt.pids[i]) + ":" +
                       std::to_string(r.rss_peak[i] - r.base[i].rss_kib);
        }
        double cpu_us =
            static_cast<double>(ticks) * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
        std::printf(
            " cpu_s=%.2f cpu_us_per_req=%.1f rss_base_kib=%lld rss_peak_kib=%lld "
            "hwm_kib=%lld rss_delta_by_pid=%s",
            cpu_us / 1e6, r.ok > 0 ? cpu_us / static_cast<double>(r.ok) : 0,
            static_cast<long long>(base), static_cast<long long>(peak), static_cast<long long>(hwm),
            per_pid.c_str());
        if (r.opt.streams > 0) {
            std::printf(" rss_per_stream_kib=%.1f",
                        static_cast<double>(peak - base) / static_cast<double>(r.opt.streams));
        }
    }
    std::printf("\n");
}

int usage() {
    std::fprintf(stderr,
                 "usage: ccr-bench-load --port P [--path /v1/messages] [--body FILE]\n"
                 "  [--conns C] [--duration S | --requests R] [--rate R] [--warmup S]\n"
                 "  [--streams M --open-rate R] [--delay-ms D] [--events N] [--expect-events N]\n"
                 "  [--timeout S] [--pids 1,2,3] [--header 'Name: value']...\n");
    return 2;
}

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (i + 1 >= argc) return false;
        std::string v = argv[++i];
        if (a == "--port")
            o.port = std::stoi(v);
        else if (a == "--path")
            o.path = v;
        else if (a == "--body")
            o.body_file = v;
        else if (a == "--conns")
            o.conns = std::stoi(v);
        else if (a == "--duration")
            o.duration_s = std::stod(v);
        else if (a == "--requests")
            o.requests = std::stoll(v);
        else if (a == "--rate")
            o.rate = std::stod(v);
        else if (a == "--streams")
            o.streams = std::stoi(v);
        else if (a == "--open-rate")
            o.open_rate = std::stod(v);
        else if (a == "--delay-ms")
            o.delay_ms = std::stoi(v);
        else if (a == "--events")
            o.events = std::stoi(v);
        else if (a == "--expect-events")
            o.expect_events = std::stoi(v);
        else if (a == "--warmup")
            o.warmup_s = std::stod(v);
        else if (a == "--timeout")
            o.timeout_s = std::stod(v);
        else if (a == "--header")
            o.headers.push_back(v);
        else if (a == "--pids") {
            std::istringstream in(v);
            std::string p;
            while (std::getline(in, p, ',')) {
                if (!p.empty()) o.pids.push_back(std::stoi(p));
            }
        } else
            return false;
    }
    return o.port > 0 && o.conns > 0 && o.open_rate > 0;
}

}  // namespace
}  // namespace ccr::bench

int main(int argc, char** argv) {
    using namespace ccr::bench;
    Run r;
    try {
        if (!parse(argc, argv, r.opt)) return usage();
    } catch (const std::exception&) {
        return usage();
    }
    std::signal(SIGPIPE, SIG_IGN);
    build_request(r);
    net::io_context io(1);
    const Options& o = r.opt;
    for (int pid : o.pids) r.base.push_back(read_proc(pid));
    r.rss_peak.assign(o.pids.size(), 0);
    r.t0 = Clock::now();
    r.measure_from = r.t0 + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(o.warmup_s));
    double run_s = o.streams > 0 ? o.streams / o.open_rate : o.warmup_s + o.duration_s;
    if (o.streams > 0 && o.delay_ms > 0) run_s += (o.events > 0 ? o.events : 50) * o.delay_ms / 1e3;
    r.deadline =
        r.t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(run_s));
    // The hard stop: whatever is still in flight then is cut and counted as truncated.
    net::steady_timer hard_stop(io, r.deadline + std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(o.timeout_s)));
    hard_stop.async_wait([&](auto) { io.stop(); });
    net::steady_timer measure_start(io, r.measure_from);
    measure_start.async_wait([&](auto) {
        r.at_measure.clear();
        for (int pid : o.pids) r.at_measure.push_back(read_proc(pid));
    });
    int total = o.streams > 0 ? o.streams : o.conns;
    r.active = total;
    auto on_done = [&](std::exception_ptr) {
        if (--r.active == 0) {
            r.finished = true;
            hard_stop.cancel();
            measure_start.cancel();
        }
    };
    for (int i = 0; i < total; ++i) {
        if (o.streams > 0)
            net::co_spawn(io, stream(r, i), on_done);
        else
            net::co_spawn(io, connection(r), on_done);
    }
    if (!o.pids.empty()) net::co_spawn(io, sample_memory(r), net::detached);
    io.run();
    auto end = Clock::now();
    if (r.at_measure.size() != o.pids.size()) r.at_measure = r.base;
    // Streams still open at the hard stop never finished.
    if (r.active > 0) {
        r.truncated += r.active;
        r.errors += r.active;
    }
    report(r, end);
    return r.errors > 0 ? 1 : 0;
}
