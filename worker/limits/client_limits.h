#pragma once
// The limits of one client of `clients:` (rpm_limit, tpm_limit, daily_token_budget), over its
// shared row (ClientRow), for the client-limits filter: admit() before the request goes on,
// settle() with the answer's usage.

#include <cstdint>

#include "shared/clock.h"
#include "shared/stats/segment.h"

namespace ccr::worker::limits {

/// From clients[] (plain numbers; 0: no limit).
struct ClientPolicy {
    std::int64_t rpm = 0;
    std::int64_t tpm = 0;  // input + output tokens per minute
    std::int64_t daily_token_budget = 0;
};

class ClientLimits {
  public:
    ClientLimits(shared::stats::ClientRow& row, const ClientPolicy& policy);

    enum class Refusal { none, rpm, tpm, budget };
    struct Admission {
        bool ok = true;
        Refusal refusal = Refusal::none;
        std::int64_t retry_after_ms = 0;  // when !ok: the `retry-after` (budget: next UTC midnight)
    };
    /// Takes one request and `estimated_tokens` (the request's input estimate) if every limit
    /// allows it; takes nothing otherwise.
    Admission admit(std::int64_t estimated_tokens, const shared::Clock& clock);
    /// The answer's usage: corrects the token bucket (estimate vs input + output) and charges the
    /// day's budget. Negative counts are unknown and count as 0.
    void settle(std::int64_t estimated_tokens,
                std::int64_t input_tokens,
                std::int64_t output_tokens,
                const shared::Clock& clock);

    const ClientPolicy& policy() const { return policy_; }

  private:
    shared::stats::ClientRow& row_;
    ClientPolicy policy_;
};

}  // namespace ccr::worker::limits
