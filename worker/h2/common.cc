#include "worker/h2/common.h"

#include <spdlog/spdlog.h>

namespace ccr::worker::h2 {

void log_task_end(std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        spdlog::error("h2: a task ended by an exception: {}", ex.what());
    }
}

}  // namespace ccr::worker::h2
