#pragma once
/// Filter: admission. `server.max_concurrent` caps the relayed requests in flight over the whole
/// service (every worker's count, in the shared segment); beyond it a request gets 503 with
/// Retry-After so SDKs back off. A worker that dies leaks nothing: its slot's count is zeroed
/// when the slot is taken again.

#include "worker/filters/filter.h"

namespace ccr::worker {
struct Runtime;
class SharedState;
}  // namespace ccr::worker

namespace ccr::worker::filters {

/// A relayed request's place in the count; given back when the request ends.
class AdmissionTicket {
public:
    AdmissionTicket() = default;
    AdmissionTicket(const AdmissionTicket&) = delete;
    AdmissionTicket& operator=(const AdmissionTicket&) = delete;
    ~AdmissionTicket();

private:
    friend Verdict admit(Runtime& rt, AdmissionTicket& ticket);
    SharedState* state_ = nullptr;
};

/// Takes a place for a relayed request, or rejects it when the cap is reached.
Verdict admit(Runtime& rt, AdmissionTicket& ticket);

}  // namespace ccr::worker::filters
