// `cc-relay reload`: SIGHUP to the running master, then wait for the outcome the master records
// in the segment and report it (shared/stats/reload_request.h; POST /admin/reload shares it).

#include <chrono>
#include <iostream>
#include <thread>
#include <variant>

#include "cli/commands.h"
#include "cli/instance.h"
#include "shared/config/config.h"
#include "shared/stats/reload_request.h"
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

    auto sent = stats::ReloadRequest::send(*seg, pid);
    if (auto* error = std::get_if<std::string>(&sent)) return fail(*error);
    const auto& request = std::get<stats::ReloadRequest>(sent);

    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::seconds(opts.timeout_s);
    while (clock::now() < deadline) {
        if (const auto outcome = request.poll()) {
            if (outcome->ok) {
                std::cout << outcome->text << "\n";
                return 0;
            }
            if (outcome->master_gone) return fail(outcome->text);
            std::cerr << outcome->text << "\n";
            return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return fail(request.timeout_text(opts.timeout_s));
}

}  // namespace ccr::cli
