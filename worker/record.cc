#include "worker/record.h"

#include <spdlog/spdlog.h>

#include "shared/log/log.h"
#include "shared/util/json.h"
#include "worker/request.h"

namespace ccr::worker {

namespace {

double ms(std::chrono::microseconds us) { return static_cast<double>(us.count()) / 1000.0; }

// The access line's fields as JSON members (README, "Log fields"): names and types are stable.
std::string json_access(const RequestContext& ctx) {
    const RequestRecord& r = ctx.rec;
    std::string out(1, shared::kJsonFieldsMarker);
    out.reserve(512);
    auto text = [&out](std::string_view key, std::string_view value, bool null_if_empty = false) {
        out += ",\"";
        out += key;
        out += "\":";
        if (null_if_empty && value.empty()) {
            out += "null";
        } else {
            shared::append_json_string(out, value);
        }
    };
    auto number = [&out](std::string_view key, auto value) {
        out += ",\"";
        out += key;
        out += "\":";
        out += fmt::format("{}", value);
    };
    out += "\"msg\":\"access\"";
    text("request_id", ctx.request_id);
    text("client", ctx.client);
    text("client_name", r.client_name, true);
    text("method", ctx.method);
    text("path", ctx.target);
    text("provider", r.provider_name, true);
    text("model", r.model, true);
    out += r.stream ? ",\"stream\":true" : ",\"stream\":false";
    number("status", r.status);
    out += r.client_aborted ? ",\"client_aborted\":true" : ",\"client_aborted\":false";
    number("failovers", r.failovers);
    number("bytes_in", r.bytes_in);
    number("bytes_out", r.bytes_out);
    number("input_tokens", r.input_tokens);
    number("output_tokens", r.output_tokens);
    number("cache_read_tokens", r.cache_read);
    number("cache_creation_tokens", r.cache_creation);
    out += fmt::format(",\"cost_usd\":{:.6f}", static_cast<double>(r.cost_micro_usd) / 1e6);
    out += fmt::format(",\"ttfb_ms\":{:.3f},\"duration_ms\":{:.3f}", ms(r.ttfb), ms(r.total));
    return out;
}

}  // namespace

void log_access(const RequestContext& ctx) {
    if (!spdlog::should_log(spdlog::level::info)) return;
    if (shared::log_is_json()) {
        spdlog::info(json_access(ctx));
        return;
    }
    const RequestRecord& r = ctx.rec;
    auto or_dash = [](std::string_view s) { return s.empty() ? std::string_view("-") : s; };
    spdlog::info(
        "access rid={} client={} client_name={} method={} path={} provider={} model={} stream={} status={} bytes_in={} "
        "bytes_out={} in_tok={} out_tok={} cache_read={} cache_create={} failovers={} ttfb_ms={:.2f} "
        "dur_ms={:.2f}",
        ctx.request_id, ctx.client, or_dash(r.client_name), ctx.method, ctx.target, or_dash(r.provider_name), or_dash(r.model),
        r.stream ? 1 : 0, r.status, r.bytes_in, r.bytes_out, r.input_tokens, r.output_tokens,
        r.cache_read, r.cache_creation, r.failovers, ms(r.ttfb), ms(r.total));
}

}  // namespace ccr::worker
