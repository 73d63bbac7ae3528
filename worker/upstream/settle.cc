#include "worker/upstream/settle.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "worker/limits/key_pool.h"
#include "worker/providers/provider.h"
#include "worker/request.h"
#include "worker/runtime.h"
#include "worker/shared_state.h"

namespace ccr::worker::upstream {

namespace {

// A key's rest after an upstream 429 that gave no retry-after.
constexpr std::int64_t kDefaultCooldownMs = 30'000;

// How an attempt ended, for the stats: the answer's status class, or where the transport failed.
StatsSink::AttemptEnd attempt_end(const Attempt& at) {
    using End = StatsSink::AttemptEnd;
    if (at.status >= 500) return End::status_5xx;
    if (at.status >= 400) return End::status_4xx;
    if (at.status != 0) return End::status_2xx;
    if (at.error == shared::Errc::upstream_timeout) return End::timeout;
    return at.connected ? End::reset : End::connect;
}

// The answer's cost in USD-millionths (tokens times USD per million tokens), when the provider
// prices the model.
void set_cost(const Provider& p, std::string_view model, RequestRecord& r) {
    const std::string_view mapped = p.mapped_model(model);
    const shared::ModelPrice* price = p.config().price_for(mapped.empty() ? model : mapped);
    r.priced = price != nullptr;
    if (price == nullptr) return;
    auto t = [](std::int64_t n) { return static_cast<double>(std::max<std::int64_t>(n, 0)); };
    const double micro = t(r.input_tokens) * price->input_per_mtok + t(r.output_tokens) * price->output_per_mtok +
                         t(r.cache_read) * price->cache_read_per_mtok + t(r.cache_creation) * price->cache_write_per_mtok;
    r.cost_micro_usd = static_cast<std::uint64_t>(micro + 0.5);
}

}  // namespace

void settle(Runtime& rt, Attempt& at, Outcome outcome, bool client_gone, RequestContext& ctx) {
    at.settled = true;
    const Provider& p = at.provider;
    const int index = at.index;
    const std::int64_t now = rt.shared->clock().mono_ms();
    if (rt.stats) rt.stats->attempt_finished(index, attempt_end(at), outcome == Outcome::failover);
    if (limits::KeyPool* pool = rt.shared->key_pool(index)) {
        pool->learn(at.key, at.limits, now);
        if (at.status == 429) pool->cooldown(at.key, now + at.retry_after_ms.value_or(kDefaultCooldownMs));
        const bool answered = outcome == Outcome::relayed && at.status != 0;
        pool->settle(at.key, at.estimated_input, answered ? ctx.rec.input_tokens : 0,
                     answered ? ctx.rec.output_tokens : 0, now);
    }
    if (outcome == Outcome::local_answer) return;
    const bool failed = at.status == 429 || at.status >= 500 || at.status == 0 ||
                        (outcome == Outcome::relayed && ctx.rec.upstream_error);
    if (client_gone && (at.status == 0 || outcome == Outcome::relayed)) return;
    health::Breaker breaker = rt.shared->breaker(index);
    log_transition(p, failed ? breaker.on_failure(now) : breaker.on_success(now));
    if (!failed && outcome == Outcome::relayed) {
        rt.shared->record_ttfb(index, static_cast<std::uint64_t>(ctx.rec.ttfb.count()));
        set_cost(p, at.model, ctx.rec);
    }
}

void log_transition(const Provider& p, health::Transition t) {
    switch (t) {
        case health::Transition::none:
            return;
        case health::Transition::opened:
        case health::Transition::reopened:
            spdlog::warn("provider {}: circuit {} (requests skip it until it reopens)", p.name(),
                         health::transition_name(t));
            return;
        default:
            spdlog::info("provider {}: circuit {}", p.name(), health::transition_name(t));
            return;
    }
}

}  // namespace ccr::worker::upstream
