#pragma once
// A worker process: one thread, one io_context, C++20 coroutines, no locks. It accepts on the
// listening sockets it was given (inherited from the master), serves every request on them end to
// end, and drains: SIGTERM/SIGINT is a stop (idle connections close at once), kRetireSignal is a
// reload's drain (idle connections answer their next request with Connection: close); a second
// SIGINT or SIGQUIT ends it at once.

#include <csignal>
#include <cstdint>
#include <memory>
#include <vector>

#include "shared/config/config.h"

namespace ccr::shared::stats {
class Segment;
}

namespace ccr::worker {

class StatsSink;

struct WorkerOptions {
    std::vector<int> listen_fds;  // the worker's inherited listening sockets; its acceptors own them
    int tls_listen_fd = -1;       // server.tls.listen's socket (shared by every worker), or -1
    int slot = 0;
    int index = 0;    // the worker's index in its generation (0..workers-1; kept by a respawn)
    int workers = 1;  // workers in the generation
    std::uint64_t generation = 0;
    StatsSink* stats = nullptr;  // also told when the worker is ready, alive and draining
    shared::stats::Segment* segment = nullptr;  // service-wide state (breakers, limits); may be null
};

/// Sent by the master to the old generation after a reload: drain without closing idle
/// connections (a stop sends SIGTERM).
constexpr int kRetireSignal = SIGUSR2;

/// Exit codes. kExitStartupFailed is for a worker whose start-up failed: the master does not
/// respawn it (nginx's rule), so nothing after start-up may use it.
constexpr int kExitDrained = 0;
constexpr int kExitCrashed = 1;
constexpr int kExitStartupFailed = 2;

/// Runs until drained. Returns the process exit code; throws only before it starts serving.
int run_worker(std::shared_ptr<const shared::Config> cfg, const WorkerOptions& opts);

}  // namespace ccr::worker
