// Worker main loop. Single-threaded by design: one io_context per process, coroutines for every
// connection, no strands, mutexes or atomics outside the shared-memory segment.
#include "worker/server.h"

#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <sys/socket.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "shared/log/log.h"
#include "worker/health/checker.h"
#include "worker/runtime.h"
#include "worker/session.h"
#include "worker/tls_server.h"

namespace ccr::worker {

namespace net = boost::asio;
using tcp = net::ip::tcp;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

namespace {

// The worker's io_context, able to destroy what is still pending before the objects those
// coroutines refer to go: an immediate stop (SIGQUIT, a second SIGINT), a crash or the end of a
// drain's grace leaves sessions suspended, and their frames' destructors touch the Runtime, which
// is declared after the io_context and so dies first (that was a SIGSEGV at every such exit).
class WorkerContext : public net::io_context {
public:
    using net::io_context::io_context;
    /// Destroys every pending handler and coroutine frame now (the services stay until the
    /// destructor, which repeats the shutdown harmlessly).
    void destroy_pending() { shutdown(); }
};

// Completion of a session coroutine: an exception that escaped it (the session logs what it can
// tie to a request id) ends that connection only; the worker serves on.
void session_done(std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        spdlog::error("session ended by an exception: {}", ex.what());
    } catch (...) {
        spdlog::error("session ended by an unknown exception");
    }
}

// Completion of the worker's own loops (accept, heartbeat): they must not fail, so an exception
// leaves ioc.run() and the worker exits for a respawn (kExitCrashed).
void loop_done(std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
}

net::awaitable<void> accept_loop(Runtime& rt, tcp::acceptor& acceptor, bool tls) {
    std::chrono::steady_clock::time_point last_refusal_log{};
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(kTuple);
        if (ec) {
            if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
            // EMFILE and friends: back off briefly instead of spinning on the error.
            spdlog::warn("accept() failed: {}", ec.message());
            net::steady_timer t(rt.ioc, std::chrono::milliseconds(50));
            co_await t.async_wait(kTuple);
            continue;
        }
        const auto cap = rt.config->server.max_connections;
        if (!rt.draining && rt.live_sessions() >= static_cast<std::size_t>(cap) && !rt.evict_idle_connection()) {
            if (tls) continue;  // closed: an answer would first need a TLS handshake
            if (const auto now = std::chrono::steady_clock::now(); now - last_refusal_log >= std::chrono::seconds(1)) {
                last_refusal_log = now;  // once a second at most: this is what a flood looks like
                spdlog::warn("server.max_connections ({}) reached with every connection serving a request: "
                             "new connections get 529", cap);
            }
            net::co_spawn(rt.ioc, refuse_session(std::move(socket), cap), session_done);
            continue;
        }
        net::co_spawn(rt.ioc, run_session(rt, std::move(socket), tls), session_done);
        // A drain may have begun after this accept was done (one done at once, the queue holding
        // a connection, completes through the scheduler). The connection is served all the same
        // (its answer carries Connection: close): its client may have sent its request already,
        // and dropping it would be a reset. co_spawn ran the session up to its first wait just
        // now, so it is counted before the drain can see no session left. Then the loop ends:
        // the drain closed the acceptor.
        if (rt.draining) co_return;
    }
}

// server.cpu_affinity: worker `index` onto the index-th of the CPUs this process may use (the
// master's set, inherited at fork), wrapping around when there are more workers than CPUs.
void pin_to_cpu(int index) {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) == 0) {
        spdlog::warn("server.cpu_affinity: cannot read this worker's CPU set: {}", std::strerror(errno));
        return;
    }
    int skip = index % CPU_COUNT(&allowed);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &allowed) || skip-- > 0) continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (::sched_setaffinity(0, sizeof one, &one) != 0) {
            spdlog::warn("server.cpu_affinity: cannot pin worker {} to CPU {}: {}", index, cpu, std::strerror(errno));
        } else {
            spdlog::debug("worker {} pinned to CPU {}", index, cpu);
        }
        return;
    }
}

// For `cc-relay stats` and status: the worker is alive, draining or not, until it exits (the
// io_context is stopped explicitly, so this timer holds nothing up).
net::awaitable<void> heartbeat(Runtime& rt, StatsSink& sink) {
    net::steady_timer t(rt.ioc);
    for (;;) {
        sink.worker_heartbeat();
        t.expires_after(std::chrono::seconds(1));
        auto [ec] = co_await t.async_wait(kTuple);
        if (ec) co_return;  // cancelled: the io_context is going away
    }
}

}  // namespace

int run_worker(std::shared_ptr<const shared::Config> cfg, const WorkerOptions& opts) {
    // Request bodies of 50-500 KiB come and go with every request. glibc's defaults gave each
    // one back to the kernel when freed (the heap trimmed by brk, or an mmap'd chunk unmapped)
    // and took it again, page faults and zero-filled pages included, for the next: 0.7 brk per
    // 500 KiB request. Keep up to 16 MiB of freed heap for reuse; only bodies over 4 MiB are
    // mapped on their own. (glibc's allocator only: tcmalloc, the default build's
    // (CMakeLists.txt, CCR_ALLOCATOR), ignores mallopt; it keeps freed spans and returns them to
    // the kernel gradually.)
    ::mallopt(M_MMAP_THRESHOLD, 4 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 16 << 20);
    if (cfg->server.cpu_affinity) pin_to_cpu(opts.index);
    // One thread runs this io_context, so its reactor needs no locking (the resolver's helper
    // thread only posts completions through the scheduler, which keeps its own lock).
    WorkerContext ioc(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO);
    Runtime rt(ioc, std::move(cfg), opts.segment, opts.slot);
    rt.stats = opts.stats;
    rt.workers = std::max(opts.workers, 1);

    std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
    for (int fd : opts.listen_fds) {
        // The worker's copy of the master's socket (inherited at fork): closing it on drain
        // leaves the master's copy, and so the accept queue, to the next generation.
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
        auto proto = ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4();
        acceptors.push_back(std::make_unique<tcp::acceptor>(ioc, proto, fd));
    }
    const std::size_t plain_acceptors = acceptors.size();
    if (opts.tls_listen_fd >= 0) {
        // One socket for every worker (accepts are shared out by the kernel): HTTPS is for the
        // hosts whose clients are not local, and it keeps reloads simple, as it never changes.
        std::string err;
        rt.tls = make_server_tls(rt.config->server.tls, rt.config->server.enable_http2, err);
        if (!rt.tls) throw std::runtime_error(err);
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        ::getsockname(opts.tls_listen_fd, reinterpret_cast<sockaddr*>(&ss), &len);
        acceptors.push_back(std::make_unique<tcp::acceptor>(
            ioc, ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), opts.tls_listen_fd));
    }
    rt.on_drain_start = [&] {
        for (auto& a : acceptors) {
            boost::system::error_code ignored;  // already closed is fine
            a->close(ignored);
        }
        if (rt.stats) rt.stats->worker_draining();
    };

    net::signal_set signals(ioc, SIGTERM, SIGINT, SIGQUIT);
    signals.add(kRetireSignal);
    // SIGUSR1: the master asks for the log file to be reopened (logrotate).
    net::signal_set reopen(ioc, SIGUSR1);
    std::function<void(const boost::system::error_code&, int)> on_reopen = [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        shared::reopen_log_file();
        reopen.async_wait(on_reopen);
    };
    reopen.async_wait(on_reopen);
    int interrupts = 0;
    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            if (sig == SIGQUIT || (sig == SIGINT && ++interrupts > 1)) {
                spdlog::info("signal {}: stopping now", sig);
                ioc.stop();
                return;
            }
            if (sig == SIGINT) interrupts = 1;
            const bool stop = sig != kRetireSignal;
            spdlog::info("signal {}: draining for a {} ({} connection(s) open, window {} ms)", sig,
                         stop ? "stop" : "reload", rt.sessions, rt.config->server.drain_timeout_ms);
            rt.start_drain(std::chrono::milliseconds(rt.config->server.drain_timeout_ms), stop);
            signals.async_wait(on_signal);
        };
    signals.async_wait(on_signal);

    for (std::size_t i = 0; i < acceptors.size(); ++i) {
        net::co_spawn(ioc, accept_loop(rt, *acceptors[i], i >= plain_acceptors), loop_done);
    }
    // Active health checks: one worker per generation sends them, not every worker.
    if (opts.index == 0 && rt.config->health.health_check.enabled && !rt.providers.empty()) {
        net::co_spawn(ioc, health::run_health_checks(rt), loop_done);
    }
    if (rt.stats) {
        net::co_spawn(ioc, heartbeat(rt, *rt.stats), loop_done);
        rt.stats->worker_ready();
    }
    // Serving from here on: an exception is a crash, not a failed start-up (which the master
    // would not respawn), and errors go to the configured log only.
    shared::end_startup_logging();
    int rc = kExitDrained;
    try {
        ioc.run();
    } catch (const std::exception& e) {
        spdlog::critical("worker {} crashed: {}", rt.slot, e.what());
        rc = kExitCrashed;
    } catch (...) {
        spdlog::critical("worker {} crashed: unknown exception", rt.slot);
        rc = kExitCrashed;
    }
    ioc.destroy_pending();  // while rt, the acceptors and the signal set still live
    return rc;
}

}  // namespace ccr::worker
