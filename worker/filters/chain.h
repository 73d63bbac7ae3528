#pragma once
/// The filter chain, in its one order. On the head: request id, then auth (every route but the
/// liveness probes when auth is configured). Once the body is read, for relayed routes:
/// admission, then client limits. The first filter that answers ends the chain.

#include "worker/filters/admission.h"
#include "worker/filters/client_limits.h"
#include "worker/filters/filter.h"
#include "worker/client_request.h"
#include "worker/routes.h"

namespace ccr::worker {
struct RequestContext;
struct Runtime;
}

namespace ccr::worker::filters {

/// Runs on a request whose head has been read: fills ctx.request_id and ctx.credentials.
Verdict on_head(const Runtime& rt, const ClientRequest& req, Route route, RequestContext& ctx);

/// What the body filters hold for a relayed request, given back when it ends (the client's charge
/// is settled first, with the answer's usage; then the place in max_concurrent is freed).
struct BodyHolds {
    AdmissionTicket admission;
    ClientCharge client;
};

/// Runs on a relayed request whose body has been read.
Verdict on_body(Runtime& rt, RequestContext& ctx, BodyHolds& holds);

}  // namespace ccr::worker::filters
