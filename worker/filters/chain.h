#pragma once
/// The filter chain, in its one order. On the head: request id, then auth (every route but the
/// liveness probes when auth is configured). Once the body is read, for relayed routes:
/// admission. The first filter that answers ends the chain.

#include "worker/filters/admission.h"
#include "worker/filters/filter.h"
#include "worker/request_body.h"
#include "worker/routes.h"

namespace ccr::worker {
struct RequestContext;
struct Runtime;
}

namespace ccr::worker::filters {

/// Runs on a request whose head has been read: fills ctx.request_id and ctx.credentials.
Verdict on_head(const Runtime& rt, const ClientRequest& req, Route route, RequestContext& ctx);

/// Runs on a relayed request whose body has been read.
Verdict on_body(Runtime& rt, RequestContext& ctx, AdmissionTicket& ticket);

}  // namespace ccr::worker::filters
