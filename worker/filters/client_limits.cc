#include "worker/filters/client_limits.h"

#include <string>

#include <spdlog/spdlog.h>

#include "worker/limits/client_limits.h"
#include "worker/request.h"
#include "worker/runtime.h"
#include "worker/shared_state.h"

namespace ccr::worker::filters {

namespace {

std::int64_t whole_seconds(std::int64_t ms) { return ms <= 0 ? 1 : (ms + 999) / 1000; }

std::string refusal_message(std::string_view name,
                            const limits::ClientPolicy& policy,
                            const limits::ClientLimits::Admission& a) {
    using Refusal = limits::ClientLimits::Refusal;
    const std::string who = "client \"" + std::string(name) + "\"";
    const std::string wait = std::to_string(whole_seconds(a.retry_after_ms)) + " s";
    switch (a.refusal) {
        case Refusal::rpm:
            return who + " is over its rpm_limit (" + std::to_string(policy.rpm) +
                   " requests per minute); retry in " + wait;
        case Refusal::tpm:
            return who + " is over its tpm_limit (" + std::to_string(policy.tpm) +
                   " tokens per minute); retry in " + wait;
        case Refusal::budget:
            return who + " has used its daily_token_budget (" +
                   std::to_string(policy.daily_token_budget) +
                   " tokens per UTC day); it renews at 00:00 UTC, in " + wait;
        case Refusal::none:
            break;
    }
    return who + " is over a limit; retry in " + wait;
}

}  // namespace

ClientCharge::~ClientCharge() {
    if (limits_ != nullptr) limits_->settle(estimate_, rec_->input_tokens, rec_->output_tokens, *clock_);
}

Verdict charge_client(limits::ClientLimits& limits,
                      std::string_view name,
                      const RequestRecord& rec,
                      const shared::Clock& clock,
                      ClientCharge& charge) {
    // About four bytes of JSON per token, as the key pools and cost_based routing estimate.
    const auto estimate = static_cast<std::int64_t>(rec.bytes_in / 4);
    const limits::ClientLimits::Admission a = limits.admit(estimate, clock);
    if (!a.ok) {
        return Rejection{shared::Errc::rate_limited, refusal_message(name, limits.policy(), a),
                         "Retry-After: " + std::to_string(whole_seconds(a.retry_after_ms)) + "\r\n"};
    }
    charge.limits_ = &limits;
    charge.rec_ = &rec;
    charge.clock_ = &clock;
    charge.estimate_ = estimate;
    return std::nullopt;
}

std::string not_allowed_message(const shared::ClientConfig& client, std::string_view model) {
    std::string names;
    for (const std::string& n : client.allowed_providers) names += (names.empty() ? "" : ", ") + n;
    return "client \"" + client.name + "\" may not use any provider that serves model \"" +
           std::string(model) + "\" (its allowed_providers: " + names + ")";
}

Verdict limit_client(Runtime& rt, RequestContext& ctx, ClientCharge& charge) {
    const int client = ctx.credentials.client;
    if (ctx.credentials.grant != AuthGrant::client || client < 0) return std::nullopt;
    limits::ClientLimits* limits = rt.shared->client_limits(client);
    if (limits == nullptr) return std::nullopt;  // not reached: one per configured client
    const std::string_view name = rt.config->clients[static_cast<std::size_t>(client)].name;
    ctx.rec.client = client;
    Verdict no = charge_client(*limits, name, ctx.rec, rt.shared->clock(), charge);
    // The access line already shows the 429; the reason is for debugging.
    if (no) spdlog::debug("rid={} refused: {}", ctx.request_id, no->message);
    return no;
}

}  // namespace ccr::worker::filters
