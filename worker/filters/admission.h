#pragma once
/// Filter: admission. `server.max_concurrent` caps the relayed requests in flight; beyond it a
/// request gets 503 with Retry-After so SDKs back off. Shared evenly by the workers for now
/// (ceil(max / workers) each).

#include <cstddef>

#include "worker/filters/filter.h"

namespace ccr::worker {
struct Runtime;
}

namespace ccr::worker::filters {

/// A relayed request's place in the count; released when the request ends.
class AdmissionTicket {
public:
    AdmissionTicket() = default;
    AdmissionTicket(const AdmissionTicket&) = delete;
    AdmissionTicket& operator=(const AdmissionTicket&) = delete;
    ~AdmissionTicket() {
        if (count_ != nullptr) --*count_;
    }

private:
    friend Verdict admit(Runtime& rt, AdmissionTicket& ticket);
    std::size_t* count_ = nullptr;
};

/// Takes a place for a relayed request, or rejects it when the cap is reached.
Verdict admit(Runtime& rt, AdmissionTicket& ticket);

}  // namespace ccr::worker::filters
