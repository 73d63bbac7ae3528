#pragma once
// A worker process: one thread, one io_context, C++20 coroutines, no locks. It accepts on the
// listening sockets it was given (inherited from the master), serves every request on them end to
// end, and drains on SIGTERM/SIGINT (a second SIGINT or SIGQUIT ends it at once).

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "shared/config/config.h"

namespace ccr::worker {

class StatsSink;

struct WorkerOptions {
    std::vector<int> listen_fds;  // the worker's inherited listening sockets; its acceptors own them
    int slot = 0;
    int workers = 1;  // workers in the generation
    std::uint64_t generation = 0;
    StatsSink* stats = nullptr;
    std::function<void()> on_ready;       // after the acceptors are up
    std::function<void()> on_heartbeat;   // about once a second while running
};

/// Runs until drained. Returns the process exit code.
int run_worker(std::shared_ptr<const shared::Config> cfg, const WorkerOptions& opts);

}  // namespace ccr::worker
