#pragma once
/// Filter: client limits. A relayed request authenticated by a client key (`clients:`) is counted
/// under that client and held to its rpm_limit, tpm_limit and daily_token_budget, service-wide
/// (the client's row in the shared segment). Its tokens are charged from an estimate when it is
/// admitted (body bytes / 4, as input) and settled with the answer's usage (input + output
/// tokens) when it ends. Over a limit: 429 rate_limit_error with Retry-After in seconds (for the
/// daily budget: until the next UTC midnight).

#include <cstdint>
#include <string>
#include <string_view>

#include "shared/clock.h"
#include "shared/config/config.h"
#include "worker/filters/filter.h"

namespace ccr::worker {
struct RequestContext;
struct RequestRecord;
struct Runtime;
namespace limits {
class ClientLimits;
}
}  // namespace ccr::worker

namespace ccr::worker::filters {

/// A request's charge against its client's limits; settled with the record's usage when the
/// request ends (the holder is destroyed).
class ClientCharge {
public:
    ClientCharge() = default;
    ClientCharge(const ClientCharge&) = delete;
    ClientCharge& operator=(const ClientCharge&) = delete;
    ~ClientCharge();

private:
    friend Verdict charge_client(limits::ClientLimits& limits,
                                 std::string_view name,
                                 const RequestRecord& rec,
                                 const shared::Clock& clock,
                                 ClientCharge& charge);
    limits::ClientLimits* limits_ = nullptr;
    const RequestRecord* rec_ = nullptr;  // read for its usage when the request ends
    const shared::Clock* clock_ = nullptr;
    std::int64_t estimate_ = 0;
};

/// Charges a request (its record's bytes_in / 4 as input tokens) to a client's limits, or
/// rejects it with 429 and Retry-After when a limit is reached. `name`: the client's, for the
/// message. `rec` must outlive `charge`.
Verdict charge_client(limits::ClientLimits& limits,
                      std::string_view name,
                      const RequestRecord& rec,
                      const shared::Clock& clock,
                      ClientCharge& charge);

/// Why a client whose allowed_providers serve none of a request's candidates gets 403
/// permission_error: the relay could serve it, the client's policy does not let it.
std::string not_allowed_message(const shared::ClientConfig& client, std::string_view model);

/// The filter: for a request authenticated by a client key, marks its record as the client's
/// (ctx.rec.client, for the stats) and charges it; other requests pass untouched.
Verdict limit_client(Runtime& rt, RequestContext& ctx, ClientCharge& charge);

}  // namespace ccr::worker::filters
