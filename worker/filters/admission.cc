#include "worker/filters/admission.h"

#include <string>

#include "worker/runtime.h"

namespace ccr::worker::filters {

Verdict admit(Runtime& rt, AdmissionTicket& ticket) {
    // No cross-process state on the request path yet: each worker takes its share.
    if (const auto cap = rt.config->server.max_concurrent; cap > 0) {
        const auto per_worker = static_cast<std::size_t>((cap + rt.workers - 1) / rt.workers);
        if (rt.relaying >= per_worker) {
            return Rejection{shared::Errc::unavailable,
                             "server is at maximum capacity (server.max_concurrent " +
                                 std::to_string(cap) + "), please retry later"};
        }
    }
    ++rt.relaying;
    ticket.count_ = &rt.relaying;
    return std::nullopt;
}

}  // namespace ccr::worker::filters
