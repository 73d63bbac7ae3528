#include "worker/record.h"

#include <spdlog/spdlog.h>

#include "worker/request.h"

namespace ccr::worker {

void log_access(const RequestContext& ctx) {
    if (!spdlog::should_log(spdlog::level::info)) return;
    const RequestRecord& r = ctx.rec;
    auto ms = [](std::chrono::microseconds us) { return static_cast<double>(us.count()) / 1000.0; };
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
