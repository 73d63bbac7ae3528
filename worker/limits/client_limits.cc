#include "worker/limits/client_limits.h"

#include <algorithm>

#include "worker/limits/budget.h"
#include "worker/limits/gcra.h"

namespace ccr::worker::limits {

ClientLimits::ClientLimits(shared::stats::ClientRow& row, const ClientPolicy& policy)
    : row_(row), policy_(policy) {}

ClientLimits::Admission ClientLimits::admit(std::int64_t estimated_tokens,
                                            const shared::Clock& clock) {
    const DailyBudget::Check day =
        DailyBudget(row_.budget, policy_.daily_token_budget).check(clock.unix_ms());
    if (!day.ok) return {false, Refusal::budget, day.retry_after_ms};
    const std::int64_t now = clock.mono_ms();
    Gcra rpm(row_.rpm_tat, policy_.rpm);
    if (const Gcra::Take t = rpm.try_take(1, now); !t.ok) {
        return {false, Refusal::rpm, t.retry_after_ms};
    }
    if (const Gcra::Take t = Gcra(row_.tpm_tat, policy_.tpm).try_take(estimated_tokens, now);
        !t.ok) {
        rpm.charge(-1, now);  // refused after all: the request was not made
        return {false, Refusal::tpm, t.retry_after_ms};
    }
    return {};
}

void ClientLimits::settle(std::int64_t estimated_tokens,
                          std::int64_t input_tokens,
                          std::int64_t output_tokens,
                          const shared::Clock& clock) {
    const std::int64_t used =
        std::max<std::int64_t>(input_tokens, 0) + std::max<std::int64_t>(output_tokens, 0);
    Gcra(row_.tpm_tat, policy_.tpm)
        .charge(used - std::max<std::int64_t>(estimated_tokens, 0), clock.mono_ms());
    DailyBudget(row_.budget, policy_.daily_token_budget).charge(used, clock.unix_ms());
}

}  // namespace ccr::worker::limits
