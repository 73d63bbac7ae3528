#pragma once
/// What an attempt teaches health, limits and the stats: the breaker's verdict, the key's cooldown,
/// learned limits and usage, the provider's in-flight count, its time to first byte and the
/// answer's cost. Settled once per attempt, and for a relayed answer that completed, before its
/// last bytes are written: a client that has its whole answer finds every worker already knowing
/// how it went (the next request's routing, `stats`, the circuits), whichever worker it reaches.

#include "worker/health/breaker.h"
#include "worker/upstream/exchange.h"

namespace ccr::worker {
class Provider;
struct RequestContext;
struct Runtime;
}  // namespace ccr::worker

namespace ccr::worker::upstream {

/// Settles `at` (once: sets `at.settled`). `client_gone`: the client left before its answer
/// ended, which teaches the breaker nothing about the provider.
void settle(Runtime& rt, Attempt& at, Outcome outcome, bool client_gone, RequestContext& ctx);

/// Logs a breaker transition (only the process whose change it was gets one: logged once).
void log_transition(const Provider& p, health::Transition t);

}  // namespace ccr::worker::upstream
