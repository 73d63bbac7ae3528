#include "worker/filters/admission.h"

#include <string>

#include "worker/runtime.h"
#include "worker/shared_state.h"

namespace ccr::worker::filters {

AdmissionTicket::~AdmissionTicket() {
    if (state_ != nullptr) state_->leave_relaying();
}

Verdict admit(Runtime& rt, AdmissionTicket& ticket) {
    const auto cap = rt.config->server.max_concurrent;
    if (!rt.shared->try_enter_relaying(cap)) {
        return Rejection{shared::Errc::unavailable, "server is at maximum capacity (server.max_concurrent " +
                                                        std::to_string(cap) + "), please retry later"};
    }
    ticket.state_ = rt.shared.get();
    return std::nullopt;
}

}  // namespace ccr::worker::filters
