#include "worker/record.h"

#include <spdlog/spdlog.h>

#include "shared/log/fields.h"
#include "worker/request.h"

namespace ccr::worker {

namespace {

double ms(std::chrono::microseconds us) { return static_cast<double>(us.count()) / 1000.0; }

}  // namespace

// Names and types are stable (README, "Log fields"); the text line keeps its older short names.
shared::LogFields access_fields(const RequestContext& ctx) {
    const RequestRecord& r = ctx.rec;
    shared::LogFields f("access");
    f.text("request_id", "rid", ctx.request_id)
        .text("client", "client", ctx.client)
        .text("client_name", "client_name", r.client_name, true)
        .text("method", "method", ctx.method)
        .text("path", "path", ctx.target)
        .text("provider", "provider", r.provider_name, true)
        .text("model", "model", r.model, true)
        .flag("stream", "stream", r.stream)
        .number("status", "status", r.status)
        .flag("client_aborted", "", r.client_aborted)
        .number("attempts", "attempts", r.provider >= 0 ? r.failovers + 1 : 0)
        .number("failovers", "failovers", r.failovers)
        .number("bytes_in", "bytes_in", static_cast<std::int64_t>(r.bytes_in))
        .number("bytes_out", "bytes_out", static_cast<std::int64_t>(r.bytes_out))
        .number("input_tokens", "in_tok", r.input_tokens)
        .number("output_tokens", "out_tok", r.output_tokens)
        .number("cache_read_tokens", "cache_read", r.cache_read)
        .number("cache_creation_tokens", "cache_create", r.cache_creation);
    if (r.priced) {
        f.decimal("cost_usd", "", static_cast<double>(r.cost_micro_usd) / 1e6, 6);
    } else {
        f.null("cost_usd");
    }
    f.decimal("ttfb_ms", "ttfb_ms", ms(r.ttfb)).decimal("duration_ms", "dur_ms", ms(r.total));
    // In text only when there is one: most lines have none.
    f.text("error", r.error.empty() ? "" : "error", r.error, true);
    return f;
}

void log_access(const RequestContext& ctx) {
    if (!spdlog::should_log(spdlog::level::info)) return;
    shared::log_fields(spdlog::level::info, access_fields(ctx));
}

}  // namespace ccr::worker
