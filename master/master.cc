#include "shared/util/proc_title.h"
#include "master/master.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include <optional>

#include "master/admin.h"
#include "master/notify.h"
#include "shared/config/config.h"
#include "shared/ledger/ledger.h"
#include "shared/log/log.h"
#include "shared/net/listen.h"
#include "shared/stats/segment.h"
#include "shared/stats/snapshot.h"
#include "shared/util/sanitizer.h"
#include "worker/server.h"
#include "worker/stats_sink.h"
#include "worker/tls_server.h"

namespace ccr::master {

namespace stats = shared::stats;
using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct Proc {
    pid_t pid = 0;
    int slot = 0;
    int socket = 0;  // index into the generation's sockets
    std::uint64_t generation = 0;
    bool draining = false;
    clock::time_point started;
};

struct Respawn {
    int slot;
    int socket;
    std::uint64_t generation;
    clock::time_point due;
};

std::string recorded_config_path(const std::string& path) {
    if (path.empty()) return "";
    std::error_code ec;
    const auto canonical =
        std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
    return ec ? path : canonical.string();
}

int cpu_count() {
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
}

void raise_nofile(const shared::ServerConfig& server) {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = server.max_open_files > 0 ? static_cast<rlim_t>(server.max_open_files) : rl.rlim_max;
    if (want > rl.rlim_max) want = rl.rlim_max;
    if (want <= rl.rlim_cur) return;
    rl.rlim_cur = want;
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        spdlog::warn("setrlimit(RLIMIT_NOFILE, {}) failed: {}", want, std::strerror(errno));
    } else {
        spdlog::info("open files limit raised to {} ({} concurrent streams per worker)", want, want / 2);
    }
}

class Master {
public:
    explicit Master(MasterOptions opts) : opts_(std::move(opts)) {}
    int run();

private:
    int worker_count(const shared::Config& cfg) const {
        if (opts_.workers > 0) return opts_.workers;
        return cfg.server.workers > 0 ? cfg.server.workers : cpu_count();
    }
    /// The command line's settings applied to a freshly loaded config (each generation's).
    shared::Config with_overrides(shared::Config cfg) const {
        if (opts_.log_bodies) cfg.logging.debug_options.log_request_body = true;
        return cfg;
    }
    /// Binds `count` more sockets for cfg's address. `probe`: first check that nothing else
    /// holds the address (false when adding sockets beside our own).
    bool bind_sockets(const shared::Config& cfg,
                      int count,
                      std::vector<int>& fds,
                      std::string& err,
                      bool probe = true);
    void spawn(int slot, int socket, std::uint64_t generation);
    int free_slot() const;
    void reap();
    void reload();
    bool wait_ready(std::uint64_t generation, int count, clock::duration limit);
    void signal_generation(std::uint64_t generation, int sig, bool mark_draining);
    void begin_stop(bool immediate);
    void cleanup();
    void close_listeners();
    /// Writes the bound address (port resolved) into the segment for `cc-relay status`.
    void record_listen();
    void register_providers(const shared::Config& cfg);
    std::vector<std::string> provider_names(const shared::Config& cfg) const;
    static std::vector<std::string> client_names(const shared::Config& cfg);

    MasterOptions opts_;
    std::string config_path_;
    std::shared_ptr<const shared::Config> cfg_;
    std::unique_ptr<stats::Segment> seg_;
    std::string shm_name_;
    std::string listen_;          // server.listen the sockets were bound for
    shared::ListenAddress bound_; // the address actually bound (port resolved)
    std::vector<int> fds_;        // the current generation's sockets, one per worker
    std::vector<int> retiring_;   // sockets a reload is about to close (not for new workers)
    std::uint64_t generation_ = 0;
    int count_ = 0;
    std::vector<Proc> procs_;
    // The admin listener's process (server.admin.listen): its socket, pid, and a due respawn.
    int admin_fd_ = -1;
    // server.tls.listen's socket, bound at the start and shared by every worker of every
    // generation (changing the address needs a restart; a reload does renew the certificate).
    int tls_fd_ = -1;
    std::string tls_listen_;
    pid_t admin_pid_ = 0;
    std::optional<clock::time_point> admin_respawn_;
    std::shared_ptr<const shared::Config> admin_cfg_;  // the config it was started with
    void spawn_admin();
    // The usage ledger (ledger.*): written from the segment at an interval and at stop.
    std::unique_ptr<shared::ledger::Ledger> ledger_;
    shared::ledger::Recorder recorder_;
    clock::time_point next_ledger_write_{};
    std::string ledger_last_error_;
    void open_ledger();
    void write_ledger();
    /// logging.output to a file: the master reopens it and tells every worker and the admin
    /// process to (SIGUSR1).
    void reopen_logs();
    std::vector<Respawn> respawns_;
    std::vector<int> crash_streak_ = std::vector<int>(stats::kMaxWorkers, 0);
    bool stopping_ = false;
    clock::time_point stop_deadline_;
    int interrupts_ = 0;
};

bool Master::bind_sockets(const shared::Config& cfg,
                          int count,
                          std::vector<int>& fds,
                          std::string& err,
                          bool probe) {
    auto addr = shared::parse_listen(cfg.server.listen);
    if (!addr) {
        err = "invalid server.listen \"" + cfg.server.listen + "\"";
        return false;
    }
    if (probe && addr->port != 0 && !shared::address_free(addr->host, addr->port, err)) return false;
    std::vector<int> made;
    for (int i = 0; i < count; ++i) {
        int fd = shared::bind_listener(addr->host, addr->port, true, err);
        if (fd < 0) {
            for (int f : made) ::close(f);
            return false;
        }
        // Port 0 asks for an ephemeral port: the first socket picks it, the others join it.
        if (addr->port == 0) addr->port = shared::local_port(fd);
        made.push_back(fd);
    }
    bound_ = *addr;
    fds.insert(fds.end(), made.begin(), made.end());
    return true;
}

std::vector<std::string> Master::provider_names(const shared::Config& cfg) const {
    std::vector<std::string> names;
    for (const auto& p : cfg.providers) {
        if (p.enabled) names.push_back(p.name);
    }
    return names;
}

std::vector<std::string> Master::client_names(const shared::Config& cfg) {
    std::vector<std::string> names;
    for (const auto& c : cfg.clients) names.push_back(c.name);
    return names;
}

void Master::register_providers(const shared::Config& cfg) {
    const std::vector<std::string> names = provider_names(cfg);
    for (const auto& p : cfg.providers) {
        if (!p.enabled) continue;
        const int row = seg_->provider_row(p.name);
        if (row < 0)
            spdlog::warn("stats: provider table full ({} rows); {} is not counted", stats::kMaxProviders,
                         p.name);
        seg_->set_provider_type(row, p.type);  // for the admin API
    }
    // Rows of providers this config no longer has keep their counters and state, marked gone.
    seg_->retire_providers_except(names);
    // Key rows (limits, cooldowns) by fingerprint: the keys themselves never enter the segment.
    for (const auto& p : cfg.providers) {
        if (!p.enabled) continue;
        for (const auto& k : p.keys) {
            if (!k.key.empty() && seg_->key_row(p.name, stats::key_fingerprint(k.key)) < 0)
                spdlog::warn("stats: key table full ({} rows); a key of {} has no shared limits",
                             stats::kMaxKeys, p.name);
        }
    }
    // Client rows (limits and counters) by name, like providers: a removed client's row is kept,
    // marked gone, and comes back with its counters if the client does.
    const std::vector<std::string> clients = client_names(cfg);
    for (const auto& name : clients) {
        if (seg_->client_row(name) < 0)
            spdlog::warn("stats: client table full ({} rows); client {} is limited per worker and not counted",
                         stats::kMaxClients, name);
    }
    seg_->retire_clients_except(clients);
}

int Master::free_slot() const {
    for (int s = 0; s < stats::kMaxWorkers; ++s) {
        bool used = std::any_of(procs_.begin(), procs_.end(), [&](const Proc& p) { return p.slot == s; }) ||
                    std::any_of(respawns_.begin(), respawns_.end(),
                                [&](const Respawn& r) { return r.slot == s; });
        if (!used) return s;
    }
    return -1;
}

// In a child the master just forked (a worker, the admin process): signals were blocked for the
// master's sigtimedwait loop; the child takes them through its io_context. If the master dies,
// the child drains rather than lingering. A log reopen (SIGUSR1) that arrives before the child's
// signal_set takes it must not kill it. No core dumps and no ptrace by other users: the child's
// memory holds provider keys and request bodies.
void become_child(const std::string& title) {
    sigset_t none;
    sigemptyset(&none);
    ::signal(SIGUSR1, SIG_IGN);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    ::prctl(PR_SET_DUMPABLE, 0);
    shared::set_proc_title(title);
}

void Master::spawn(int slot, int socket, std::uint64_t generation) {
    auto& entry = seg_->header().workers[slot];
    entry.pid.store(0, std::memory_order_relaxed);
    entry.generation.store(generation, std::memory_order_relaxed);
    entry.state.store(static_cast<std::uint32_t>(stats::WorkerState::starting), std::memory_order_release);
    entry.started_unix_ms.store(stats::unix_ms_now(), std::memory_order_relaxed);
    const int fd = fds_[static_cast<std::size_t>(socket) % fds_.size()];
    auto cfg = cfg_;
    const std::string level = opts_.log_level;
    std::vector<std::string> names = provider_names(*cfg);
    const int workers = worker_count(*cfg);

    pid_t pid = ::fork();
    if (pid < 0) {
        spdlog::error("fork() failed: {}", std::strerror(errno));
        respawns_.push_back({slot, socket, generation, clock::now() + 1s});
        return;
    }
    if (pid == 0) {
        become_child("cc-relay: worker " + std::to_string(slot) + " gen " + std::to_string(generation));
        // Keep only this worker's socket: a listening socket that some process holds but never
        // accepts on swallows the connections the kernel hashes to it.
        for (const auto* list : {&fds_, &retiring_}) {
            for (int other : *list) {
                if (other != fd) ::close(other);
            }
        }
        if (admin_fd_ >= 0) ::close(admin_fd_);
        int rc = worker::kExitStartupFailed;
        try {
            // Start-up errors also on stderr (a file log alone would hide why a start failed);
            // run_worker ends that once it serves.
            shared::setup_logging(cfg->logging, level, "worker " + std::to_string(slot), true);
            worker::ShmStatsSink sink(*seg_, slot, names, client_names(*cfg));
            worker::WorkerOptions wo;
            wo.listen_fds = {fd};
            wo.tls_listen_fd = tls_fd_;
            wo.slot = slot;
            wo.index = socket;  // the socket index is the worker's index in its generation
            wo.workers = workers;
            wo.generation = generation;
            wo.stats = &sink;  // also keeps the slot's row: ready, heartbeat, served, draining
            wo.segment = seg_.get();
            rc = worker::run_worker(cfg, wo);
        } catch (const std::exception& e) {
            // run_worker throws only before it serves: a worker whose initialisation fails exits
            // kExitStartupFailed and is not respawned (nginx's rule).
            spdlog::critical("worker {} failed to start: {}", slot, e.what());
            rc = worker::kExitStartupFailed;
        }
        spdlog::default_logger()->flush();
        shared::check_leaks_before_exit();
        ::_exit(rc);
    }
    entry.pid.store(pid, std::memory_order_release);
    procs_.push_back(Proc{pid, slot, socket, generation, false, clock::now()});
    spdlog::debug("worker {} started (pid {}, generation {})", slot, pid, generation);
}

void Master::open_ledger() {
    if (!cfg_->ledger.enabled) return;
    const std::string path = cfg_->ledger.path.empty() ? shared::ledger::default_path() : cfg_->ledger.path;
    try {
        ledger_ = shared::ledger::Ledger::open_for_writing(path);
        next_ledger_write_ = clock::now() + std::chrono::milliseconds(cfg_->ledger.interval_ms);
        spdlog::info("usage ledger: {}", path);
    } catch (const std::exception& e) {
        spdlog::warn("{}; usage is not recorded (ledger.path, or ledger.enabled: false)", e.what());
    }
}

void Master::write_ledger() {
    if (!ledger_ || !seg_) return;
    next_ledger_write_ = clock::now() + std::chrono::milliseconds(cfg_->ledger.interval_ms);
    try {
        ledger_->add(recorder_.deltas(stats::take_snapshot(*seg_), stats::unix_ms_now()));
        recorder_.commit();
        ledger_last_error_.clear();
    } catch (const std::exception& e) {
        // Once per distinct failure (a full disk would say so every minute otherwise); the next
        // write covers this interval too.
        if (ledger_last_error_ != e.what()) spdlog::warn("{}", e.what());
        ledger_last_error_ = e.what();
    }
}

void Master::reopen_logs() {
    if (!shared::reopen_log_file()) return;
    spdlog::info("log file reopened");
    for (const Proc& p : procs_) ::kill(p.pid, SIGUSR1);
    if (admin_pid_ > 0) ::kill(admin_pid_, SIGUSR1);
}

void Master::spawn_admin() {
    admin_respawn_.reset();
    if (admin_fd_ < 0 || stopping_) return;
    if (!admin_cfg_) admin_cfg_ = cfg_;
    auto cfg = admin_cfg_;
    const std::string level = opts_.log_level;
    pid_t pid = ::fork();
    if (pid < 0) {
        spdlog::error("fork() failed for the admin process: {}", std::strerror(errno));
        admin_respawn_ = clock::now() + 1s;
        return;
    }
    if (pid == 0) {
        become_child("cc-relay: admin");
        for (const auto* list : {&fds_, &retiring_}) {
            for (int fd : *list) ::close(fd);
        }
        if (tls_fd_ >= 0) ::close(tls_fd_);
        int rc = 1;
        try {
            // Logging as the current generation has it; server.admin as at the start (the
            // listener's socket is that config's; changing it needs a restart).
            shared::setup_logging(cfg_->logging, level, "admin", false);
            rc = run_admin(admin_fd_, cfg, shm_name_);
        } catch (const std::exception& e) {
            spdlog::critical("admin process failed: {}", e.what());
        }
        spdlog::default_logger()->flush();
        shared::check_leaks_before_exit();
        ::_exit(rc);
    }
    admin_pid_ = pid;
    spdlog::debug("admin process started (pid {})", pid);
}

void Master::reap() {
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        if (pid == admin_pid_) {
            admin_pid_ = 0;
            if (!stopping_) {
                spdlog::error("admin process (pid {}) exited; respawning in 1 s", pid);
                admin_respawn_ = clock::now() + 1s;
            }
            continue;
        }
        auto it = std::find_if(procs_.begin(), procs_.end(), [&](const Proc& p) { return p.pid == pid; });
        if (it == procs_.end()) continue;
        Proc proc = *it;
        procs_.erase(it);
        auto& entry = seg_->header().workers[proc.slot];
        if (entry.pid.load() == pid) {
            entry.state.store(static_cast<std::uint32_t>(stats::WorkerState::exited));
        }
        const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (proc.draining || stopping_ || proc.generation != generation_) {
            spdlog::debug("worker {} (pid {}) exited after drain", proc.slot, pid);
            continue;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == worker::kExitStartupFailed) {
            spdlog::critical("worker {} (pid {}) failed during initialisation; not respawning", proc.slot, pid);
            continue;
        }
        // An unexpected exit: respawn, backing off while it keeps crashing.
        int& streak = crash_streak_[proc.slot];
        streak = (clock::now() - proc.started > 10s) ? 1 : streak + 1;
        auto delay = std::min<clock::duration>(100ms * (1 << std::min(streak - 1, 8)), 30s);
        entry.restarts.fetch_add(1);
        entry.state.store(static_cast<std::uint32_t>(stats::WorkerState::backoff));
        if (WIFSIGNALED(status)) {
            spdlog::error("worker {} (pid {}) killed by signal {}; respawning in {} ms", proc.slot, pid,
                          WTERMSIG(status),
                          std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
        } else {
            spdlog::error("worker {} (pid {}) exited with status {}{}; respawning in {} ms", proc.slot, pid,
                          WIFEXITED(status) ? WEXITSTATUS(status) : -1, clean ? " unexpectedly" : "",
                          std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
        }
        respawns_.push_back({proc.slot, proc.socket, proc.generation, clock::now() + delay});
    }
}

void Master::signal_generation(std::uint64_t generation, int sig, bool mark_draining) {
    for (auto& p : procs_) {
        if (p.generation != generation) continue;
        ::kill(p.pid, sig);
        if (mark_draining) {
            p.draining = true;
            seg_->header().workers[p.slot].state.store(
                static_cast<std::uint32_t>(stats::WorkerState::draining));
        }
    }
}

bool Master::wait_ready(std::uint64_t generation, int count, clock::duration limit) {
    const auto deadline = clock::now() + limit;
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    while (clock::now() < deadline) {
        int ready = 0;
        for (const auto& p : procs_) {
            if (p.generation == generation &&
                seg_->header().workers[p.slot].state.load(std::memory_order_acquire) ==
                    static_cast<std::uint32_t>(stats::WorkerState::ready))
                ++ready;
        }
        if (ready >= count) return true;
        timespec ts{0, 20'000'000};
        if (::sigtimedwait(&chld, nullptr, &ts) == SIGCHLD) {
            reap();
            // A new worker that died while starting fails the whole generation.
            auto alive = std::count_if(procs_.begin(), procs_.end(),
                                       [&](const Proc& p) { return p.generation == generation; });
            if (alive < count) return false;
        }
    }
    return false;
}

void Master::reload() {
    sd_notify("RELOADING=1");
    spdlog::info("SIGHUP: reloading {}", config_path_.empty() ? "<built-in>" : config_path_);
    std::shared_ptr<const shared::Config> next;
    try {
        next = std::make_shared<const shared::Config>(with_overrides(
            config_path_.empty() ? shared::default_config() : shared::load_config_file(config_path_)));
    } catch (const std::exception& e) {
        spdlog::error("reload rejected, keeping generation {}: {}", generation_, e.what());
        seg_->set_reload_result(false, generation_, e.what());
        sd_notify("READY=1");
        return;
    }
    for (const auto& w : next->warnings) spdlog::warn("{}", w);
    if (next->server.tls.listen != tls_listen_) {
        spdlog::warn("server.tls.listen changes take effect at the next restart (HTTPS stays {})",
                     tls_listen_.empty() ? std::string("off") : "on " + tls_listen_);
        auto kept = std::make_shared<shared::Config>(*next);
        kept->server.tls = cfg_->server.tls;
        next = std::move(kept);
    } else if (!tls_listen_.empty()) {
        // The new generation loads the certificate as it starts; a file it could not use would
        // fail every new worker, so the reload is refused here with the reason instead.
        std::string err;
        if (!worker::make_server_tls(next->server.tls, false, err)) {
            spdlog::error("reload rejected, keeping generation {}: {}", generation_, err);
            seg_->set_reload_result(false, generation_, err);
            sd_notify("READY=1");
            return;
        }
    }
    const int count = worker_count(*next);
    if (count > stats::kMaxWorkers / 2) {
        std::string msg = "server.workers " + std::to_string(count) + " exceeds " +
                          std::to_string(stats::kMaxWorkers / 2) + " (two generations must fit the worker table)";
        seg_->set_reload_result(false, generation_, msg);
        spdlog::error("reload rejected: {}", msg);
        sd_notify("READY=1");
        return;
    }
    if (next->server.stats_group != cfg_->server.stats_group) {
        try {
            seg_->set_group(next->server.stats_group);
        } catch (const std::exception& e) {
            seg_->set_reload_result(false, generation_, e.what());
            spdlog::error("reload rejected: {}", e.what());
            sd_notify("READY=1");
            return;
        }
    }
    // Sockets: keep every socket that still serves the same address (closing a reuseport socket
    // drops the connections queued on it); bind new ones only for a new address or more workers.
    std::vector<int> old_fds = fds_;
    std::vector<int> fds;
    std::vector<int> to_close;
    const shared::ListenAddress old_bound = bound_;
    std::string err;
    if (next->server.listen == listen_) {
        fds.assign(old_fds.begin(), old_fds.begin() + std::min<std::size_t>(old_fds.size(), count));
        to_close.assign(old_fds.begin() + static_cast<long>(fds.size()), old_fds.end());
        if (static_cast<int>(fds.size()) < count) {
            shared::Config same = *next;
            same.server.listen = (bound_.host.find(':') != std::string::npos ? "[" + bound_.host + "]" : bound_.host) +
                                 ":" + std::to_string(bound_.port);
            if (!bind_sockets(same, count - static_cast<int>(fds.size()), fds, err, false)) {
                seg_->set_reload_result(false, generation_, err);
                spdlog::error("reload rejected: {}", err);
                sd_notify("READY=1");
                return;
            }
        }
    } else {
        if (!bind_sockets(*next, count, fds, err)) {
            bound_ = old_bound;
            seg_->set_reload_result(false, generation_, err);
            spdlog::error("reload rejected: {}", err);
            sd_notify("READY=1");
            return;
        }
        to_close = old_fds;
        spdlog::info("listen address changed: {} -> {}", listen_, next->server.listen);
    }

    // Compared with what the admin process runs (its config from the start), not the previous
    // generation's: a reload back to the running settings has nothing to warn about.
    const shared::AdminConfig& running_admin = admin_cfg_ ? admin_cfg_->server.admin : shared::AdminConfig{};
    if (next->server.admin != running_admin)
        spdlog::warn("server.admin changes take effect at the next restart (the admin listener keeps {}{})",
                     running_admin.listen.empty() ? std::string("off") : running_admin.listen,
                     running_admin.bearer_token.empty() ? "" : " and its bearer token");
    const std::uint64_t old_generation = generation_;
    auto old_cfg = cfg_;
    cfg_ = next;
    fds_ = fds;
    retiring_ = to_close;
    register_providers(*cfg_);
    const std::uint64_t gen = generation_ + 1;
    generation_ = gen;  // reap() treats other generations as draining
    for (int i = 0; i < count; ++i) {
        int slot = free_slot();
        if (slot < 0) break;
        spawn(slot, i, gen);
    }
    if (!wait_ready(gen, count, 15s)) {
        spdlog::error("reload failed: generation {} did not become ready; keeping generation {}", gen,
                      old_generation);
        signal_generation(gen, SIGKILL, true);
        for (int fd : fds)
            if (std::find(old_fds.begin(), old_fds.end(), fd) == old_fds.end()) ::close(fd);
        fds_ = old_fds;
        retiring_.clear();
        if (next->server.stats_group != old_cfg->server.stats_group) {
            try {
                seg_->set_group(old_cfg->server.stats_group);
            } catch (const std::exception& e) {
                spdlog::error("stats segment group not restored: {}", e.what());
            }
        }
        cfg_ = old_cfg;
        bound_ = old_bound;
        generation_ = old_generation;
        seg_->set_reload_result(false, old_generation,
                                "new workers did not become ready (see the service log)");
        sd_notify("READY=1");
        return;
    }
    // Not SIGTERM: that is a stop, which closes idle keep-alive connections at once; a retiring
    // worker answers their next request with Connection: close instead (DESIGN.md).
    signal_generation(old_generation, worker::kRetireSignal, true);
    for (int fd : to_close) ::close(fd);
    retiring_.clear();
    listen_ = cfg_->server.listen;
    record_listen();
    count_ = count;
    seg_->header().generation.store(gen);
    seg_->header().configured_workers.store(count);
    seg_->set_reload_result(true, gen, "reloaded");
    if (next->ledger.enabled != old_cfg->ledger.enabled || next->ledger.path != old_cfg->ledger.path) {
        // What the old file is owed goes there first; the new one starts from this reading
        // (the recorder's base is the segment, which a reload keeps).
        if (ledger_) write_ledger();
        ledger_.reset();
        if (!next->ledger.enabled) spdlog::info("usage ledger: off");
        open_ledger();
    }
    spdlog::info("reloaded: generation {} with {} worker(s); generation {} draining", gen, count,
                 old_generation);
    sd_notify("READY=1");
}

void Master::begin_stop(bool immediate) {
    if (immediate) {
        spdlog::info("stopping now");
        if (!stopping_) sd_notify("STOPPING=1");
        stopping_ = true;
        respawns_.clear();
        if (admin_pid_ > 0) ::kill(admin_pid_, SIGTERM);
        for (auto& p : procs_) ::kill(p.pid, SIGQUIT);
        stop_deadline_ = clock::now() + 2s;
        close_listeners();
        return;
    }
    if (stopping_) return;
    stopping_ = true;
    sd_notify("STOPPING=1");
    respawns_.clear();
    if (admin_pid_ > 0) ::kill(admin_pid_, SIGTERM);  // nothing to drain: scrapes are retried
    const auto window = std::chrono::milliseconds(cfg_->server.drain_timeout_ms);
    spdlog::info("draining {} worker(s) for up to {} ms", procs_.size(), window.count());
    for (auto& p : procs_) {
        ::kill(p.pid, SIGTERM);
        p.draining = true;
    }
    // Workers end their own window; the margin covers their exit. Once the workers close their
    // acceptors the sockets are gone, so new connections are refused rather than queued.
    stop_deadline_ = clock::now() + window + 2s;
    close_listeners();
}

void Master::record_listen() {
    std::string host = bound_.host.find(':') != std::string::npos ? "[" + bound_.host + "]" : bound_.host;
    std::snprintf(seg_->header().listen, sizeof seg_->header().listen, "%s:%u", host.c_str(),
                  static_cast<unsigned>(bound_.port));
}

void Master::close_listeners() {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
}

void Master::cleanup() {
    close_listeners();
    if (admin_fd_ >= 0) ::close(admin_fd_);
    admin_fd_ = -1;
    if (tls_fd_ >= 0) ::close(tls_fd_);
    tls_fd_ = -1;
    if (seg_) {
        stats::Segment::remove(shm_name_);
        seg_.reset();
    }
    if (cfg_ && !cfg_->server.pid_file.empty()) ::unlink(cfg_->server.pid_file.c_str());
}

int Master::run() {
    shared::Config loaded;
    try {
        auto path = shared::discover_config_path(opts_.config_path);
        config_path_ = path.value_or("");
        loaded = path ? shared::load_config_file(*path) : shared::default_config();
    } catch (const std::exception& e) {
        std::cerr << "cc-relay: " << e.what() << "\n";
        return 1;
    }
    cfg_ = std::make_shared<const shared::Config>(with_overrides(std::move(loaded)));
    shared::set_proc_title("cc-relay: master " + (config_path_.empty() ? std::string("<built-in>") : config_path_));
    // Until the workers are up, errors also reach the terminal when the log goes to a file.
    shared::setup_logging(cfg_->logging, opts_.log_level, "master", true);
    for (const auto& w : cfg_->warnings) spdlog::warn("{}", w);
    count_ = worker_count(*cfg_);
    if (count_ > stats::kMaxWorkers / 2) {
        spdlog::error("server.workers {} exceeds {}", count_, stats::kMaxWorkers / 2);
        return 1;
    }
    raise_nofile(cfg_->server);

    // Signals are taken synchronously by sigtimedwait: no handlers, no async-signal-safety traps.
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR1}) sigaddset(&set, s);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);

    std::string err;
    if (!bind_sockets(*cfg_, count_, fds_, err)) {
        spdlog::error("{}", err);
        return 1;
    }
    if (!cfg_->server.admin.listen.empty()) {
        const auto addr = shared::parse_listen(cfg_->server.admin.listen);
        admin_fd_ = addr ? shared::bind_listener(addr->host, addr->port, false, err) : -1;
        if (admin_fd_ < 0) {
            spdlog::error("server.admin.listen {}: {}", cfg_->server.admin.listen, err);
            for (int fd : fds_) ::close(fd);
            return 1;
        }
    }
    if (!cfg_->server.tls.listen.empty()) {
        const auto addr = shared::parse_listen(cfg_->server.tls.listen);
        if (!worker::make_server_tls(cfg_->server.tls, false, err)) {
            tls_fd_ = -1;
        } else {
            tls_fd_ = addr ? shared::bind_listener(addr->host, addr->port, false, err) : -1;
        }
        if (tls_fd_ < 0) {
            spdlog::error("server.tls.listen {}: {}", cfg_->server.tls.listen, err);
            for (int fd : fds_) ::close(fd);
            if (admin_fd_ >= 0) ::close(admin_fd_);
            return 1;
        }
        tls_listen_ = cfg_->server.tls.listen;
    }
    listen_ = cfg_->server.listen;
    // An ephemeral port (tests) names its segment after the port it got.
    shm_name_ = cfg_->server.shm_name.empty() ? "/cc-relay-" + std::to_string(bound_.port)
                                              : cfg_->server.shm_name;
    try {
        seg_ = stats::Segment::create(shm_name_, cfg_->server.stats_group);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        for (int fd : fds_) ::close(fd);
        return 1;
    }
    auto& h = seg_->header();
    h.master_pid.store(::getpid());
    h.configured_workers.store(count_);
    // Absolute and with symlinks resolved: `cc-relay reload/stats/status --config FILE` look
    // through the segments for the one serving FILE, which still finds this instance after
    // server.listen or server.shm_name is edited in it.
    stats::copy_fixed(h.config_path, recorded_config_path(config_path_));
    record_listen();
    register_providers(*cfg_);
    if (!cfg_->server.pid_file.empty()) {
        std::ofstream(cfg_->server.pid_file) << ::getpid() << "\n";
    }

    generation_ = 1;
    h.generation.store(generation_);
    for (int i = 0; i < count_; ++i) spawn(i, i, generation_);
    spawn_admin();
    open_ledger();
    std::string host = bound_.host.empty() ? "0.0.0.0" : bound_.host;
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    if (wait_ready(generation_, count_, 15s)) {
        if (tls_fd_ >= 0) {
            const auto tls_addr = shared::parse_listen(tls_listen_);
            std::string tls_host = tls_addr->host.empty() ? "0.0.0.0" : tls_addr->host;
            if (tls_host.find(':') != std::string::npos) tls_host = "[" + tls_host + "]";
            spdlog::info("cc-relay {} listening on https://{}:{} (server.tls)", CCR_VERSION, tls_host,
                         shared::local_port(tls_fd_));
        }
        spdlog::info("cc-relay {} listening on http://{}:{} with {} worker(s) (config: {}, stats: {})",
                     CCR_VERSION, host, bound_.port, count_, cfg_->source, shm_name_);
        shared::end_startup_logging();
        sd_notify("READY=1");
    } else {
        spdlog::error("workers did not become ready; stopping");
        begin_stop(true);
    }

    while (true) {
        if (stopping_ && procs_.empty() && admin_pid_ == 0) break;
        auto now = clock::now();
        if (stopping_ && now >= stop_deadline_) {
            spdlog::warn("drain window over: killing {} worker(s)", procs_.size());
            for (auto& p : procs_) ::kill(p.pid, SIGKILL);
            if (admin_pid_ > 0) ::kill(admin_pid_, SIGKILL);
            while (!procs_.empty()) {
                int status;
                pid_t pid = ::waitpid(-1, &status, 0);
                if (pid < 0) break;
                std::erase_if(procs_, [&](const Proc& p) { return p.pid == pid; });
                if (pid == admin_pid_) admin_pid_ = 0;
            }
            break;
        }
        if (admin_respawn_ && *admin_respawn_ <= now && !stopping_) spawn_admin();
        if (ledger_ && now >= next_ledger_write_) write_ledger();
        // Respawns that are due.
        for (auto it = respawns_.begin(); it != respawns_.end();) {
            if (it->due <= now && !stopping_) {
                Respawn r = *it;
                it = respawns_.erase(it);
                if (r.generation == generation_) spawn(r.slot, r.socket, r.generation);
            } else {
                ++it;
            }
        }
        timespec ts{0, 200'000'000};
        siginfo_t info{};
        int sig = ::sigtimedwait(&set, &info, &ts);
        switch (sig) {
            case SIGCHLD:
                reap();
                break;
            case SIGHUP:
                // A reload also reopens the log (logrotate's postrotate may use either signal).
                reopen_logs();
                if (!stopping_) reload();
                break;
            case SIGUSR1:
                reopen_logs();
                break;
            case SIGTERM:
                begin_stop(false);
                break;
            case SIGINT:
                begin_stop(++interrupts_ > 1);
                break;
            case SIGQUIT:
                begin_stop(true);
                break;
            default:
                break;
        }
    }
    write_ledger();  // the workers are gone: their last counts are in the segment
    spdlog::info("stopped");
    cleanup();
    return 0;
}

}  // namespace

int run_master(const MasterOptions& opts) { return Master(opts).run(); }

}  // namespace ccr::master
