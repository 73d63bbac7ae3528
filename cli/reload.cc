// `cc-relay reload`: SIGHUP to the running master, then wait for the outcome the master records
// in the segment (Header::reload_seq moves to a new even value) and report it.

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/instance.h"
#include "shared/config/config.h"
#include "shared/stats/segment.h"

namespace ccr::cli {

namespace stats = shared::stats;

namespace {

int fail(const std::string& message) {
    std::cerr << "cc-relay: " << message << "\n";
    return 1;
}

}  // namespace

int run_reload(const ReloadOptions& opts) {
    Instance instance;
    try {
        instance = find_instance({opts.config_path, opts.listen, opts.shm});
    } catch (const shared::ConfigError&) {
        throw;  // main prints each diagnostic
    } catch (const std::exception& e) {
        // Without the segment there is no outcome to wait for: do not signal blindly.
        return fail(e.what());
    }
    const stats::Segment* seg = instance.segment.get();
    // The segment's master is the one that records the outcome; the pid file is the fallback
    // for a segment whose master pid is not (yet) recorded.
    std::int32_t pid = seg->header().master_pid.load(std::memory_order_relaxed);
    std::string from = "shared memory " + seg->name();
    if (!stats::process_alive(pid)) {
        if (auto p = read_pid_file(instance.pid_file)) {
            pid = *p;
            from = instance.pid_file;
        }
    }
    if (!stats::process_alive(pid)) {
        return fail("no running cc-relay master: pid " + std::to_string(pid) + " (from " + from +
                    ") is not running");
    }

    const std::uint64_t before = seg->header().reload_seq.load(std::memory_order_acquire);
    if (::kill(pid, SIGHUP) != 0) {
        const int err = errno;
        if (err == EPERM) {
            return fail("permission denied sending SIGHUP to the master (pid " +
                        std::to_string(pid) + "): run as the service's user or root");
        }
        return fail("kill(" + std::to_string(pid) + ", SIGHUP): " + std::strerror(err));
    }

    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::seconds(opts.timeout_s);
    while (clock::now() < deadline) {
        const std::uint64_t seq = seg->header().reload_seq.load(std::memory_order_acquire);
        if (seq != before && seq % 2 == 0) {
            const stats::Segment::ReloadResult r = seg->reload_result();
            if (r.ok == 1) {
                std::cout << "reloaded: generation " << r.generation << "\n";
                return 0;
            }
            std::cerr << "reload failed: " << r.message << "\n";
            return 1;
        }
        if (!stats::process_alive(pid)) {
            return fail("the master (pid " + std::to_string(pid) + ") exited during the reload");
        }
        // The outcome is a shared-memory write with no notification: poll it.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return fail("no reload outcome from the master (pid " + std::to_string(pid) + ") within " +
                std::to_string(opts.timeout_s) + " s; see its log");
}

}  // namespace ccr::cli
