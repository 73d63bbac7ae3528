#include "worker/stats_sink.h"

#include <cstdint>

namespace ccr::worker {

namespace stats = shared::stats;

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

void add(stats::Counter& c, std::uint64_t v) {
    if (v != 0) c.fetch_add(v, kRelaxed);
}

/// Token counts come from the upstream's JSON; a negative one (absent or bogus) counts as 0.
std::uint64_t tokens(std::int64_t v) { return v > 0 ? static_cast<std::uint64_t>(v) : 0; }

std::uint64_t micros(std::chrono::microseconds d) {
    return d.count() > 0 ? static_cast<std::uint64_t>(d.count()) : 0;
}

bool valid_slot(int slot) { return slot >= 0 && slot < stats::kMaxWorkers; }

/// A client that left before its answer ended (499): an abort, whatever status was under way.
bool aborted(const StatsSink::Sample& s) { return s.client_aborted || s.status == 499; }

/// The outcome and what was carried, on a provider's or a client's row (the same names in both
/// lists of counters.h).
template <typename Row>
void count_answer(Row& c, const StatsSink::Sample& s) {
    c.requests.fetch_add(1, kRelaxed);
    if (aborted(s)) {
        c.client_aborts.fetch_add(1, kRelaxed);
    } else if (s.status >= 200 && s.status < 300) {
        c.status_2xx.fetch_add(1, kRelaxed);
    } else if (s.status >= 400 && s.status < 500) {
        c.status_4xx.fetch_add(1, kRelaxed);
    } else if (s.status >= 500 && s.status < 600) {
        c.status_5xx.fetch_add(1, kRelaxed);
    }
    add(c.input_tokens, tokens(s.input_tokens));
    add(c.output_tokens, tokens(s.output_tokens));
    add(c.cache_read_tokens, tokens(s.cache_read));
    add(c.cache_creation_tokens, tokens(s.cache_creation));
    add(c.cost_micro_usd, s.cost_micro_usd);
}

}  // namespace

ShmStatsSink::ShmStatsSink(stats::Segment& seg,
                           int worker_slot,
                           const std::vector<std::string>& provider_names_by_index,
                           const std::vector<std::string>& client_names_by_index) {
    rows_.resize(provider_names_by_index.size(), nullptr);
    client_rows_.resize(client_names_by_index.size(), nullptr);
    if (!valid_slot(worker_slot)) return;
    stats::Layout& l = seg.layout();
    entry_ = &l.header.workers[worker_slot];
    entry_->served.store(0, kRelaxed);  // a predecessor's, like its in-flight counts
    seg.claim_slot(worker_slot);        // and its "relaying now" count
    for (std::size_t i = 0; i < provider_names_by_index.size(); ++i) {
        const int r = seg.find_provider_row(provider_names_by_index[i]);
        if (r >= 0) rows_[i] = &l.counters[worker_slot][r];
    }
    for (std::size_t i = 0; i < client_names_by_index.size(); ++i) {
        const int r = seg.find_client_row(client_names_by_index[i]);
        if (r >= 0) client_rows_[i] = &l.client_counters[worker_slot][r];
    }
    const int count = l.header.provider_count.load(std::memory_order_acquire);
    for (int r = 0; r < count && r < stats::kMaxProviders; ++r) {
        l.counters[worker_slot][r].in_flight.store(0, kRelaxed);
    }
    relay_row_ = &l.relay_counters[worker_slot];
}

stats::ProviderCounters* ShmStatsSink::row(int provider) const {
    if (provider < 0 || static_cast<std::size_t>(provider) >= rows_.size()) return nullptr;
    return rows_[static_cast<std::size_t>(provider)];
}

void ShmStatsSink::attempt_started(int provider) {
    if (stats::ProviderCounters* c = row(provider)) c->in_flight.fetch_add(1, kRelaxed);
}

void ShmStatsSink::attempt_finished(int provider, AttemptEnd end, bool failed_over) {
    stats::ProviderCounters* c = row(provider);
    if (c == nullptr) return;
    // Unsigned wrap-around: balanced with attempt_started, read back as signed by the reader.
    c->in_flight.fetch_sub(1, kRelaxed);
    switch (end) {
        case AttemptEnd::status_2xx: c->attempt_2xx.fetch_add(1, kRelaxed); break;
        case AttemptEnd::status_4xx: c->attempt_4xx.fetch_add(1, kRelaxed); break;
        case AttemptEnd::status_5xx: c->attempt_5xx.fetch_add(1, kRelaxed); break;
        case AttemptEnd::connect: c->attempt_connect.fetch_add(1, kRelaxed); break;
        case AttemptEnd::timeout: c->attempt_timeout.fetch_add(1, kRelaxed); break;
        case AttemptEnd::reset: c->attempt_reset.fetch_add(1, kRelaxed); break;
    }
    if (failed_over) c->failovers.fetch_add(1, kRelaxed);
}

void ShmStatsSink::request_finished(const Sample& s) {
    if (entry_ != nullptr && entry_->served.load(kRelaxed) == 0) entry_->served.store(1, kRelaxed);
    count_client(s);
    // A client that left before any answer is counted where it was waiting.
    const int under = s.answered_by >= 0 ? s.answered_by : (aborted(s) ? s.provider : -1);
    stats::ProviderCounters* c = under >= 0 ? row(under) : relay_row_;
    if (c == nullptr) return;
    count_answer(*c, s);
    add(c->bytes_in, s.bytes_in);
    add(c->bytes_out, s.bytes_out);
    // No first byte (refused, failed before the upstream answered): no time to first byte.
    if (s.ttfb.count() > 0) {
        c->ttfb_us[stats::bucket_of(micros(s.ttfb))].fetch_add(1, kRelaxed);
        add(c->ttfb_us_sum, micros(s.ttfb));
    }
    c->total_us[stats::bucket_of(micros(s.total))].fetch_add(1, kRelaxed);
    add(c->total_us_sum, micros(s.total));
    c->overhead_us[stats::bucket_of(micros(s.overhead))].fetch_add(1, kRelaxed);
    add(c->overhead_us_sum, micros(s.overhead));
}

void ShmStatsSink::count_client(const Sample& s) {
    if (s.client < 0 || static_cast<std::size_t>(s.client) >= client_rows_.size()) return;
    stats::ClientCounters* c = client_rows_[static_cast<std::size_t>(s.client)];
    if (c == nullptr) return;
    count_answer(*c, s);
    if (s.status == 429) c->rate_limited.fetch_add(1, kRelaxed);
}

void ShmStatsSink::set_state(stats::WorkerState state) {
    // Release, as the master's start-up and reload wait for `ready` with an acquire load.
    if (entry_ != nullptr)
        entry_->state.store(static_cast<std::uint32_t>(state), std::memory_order_release);
}

void ShmStatsSink::worker_ready() { set_state(stats::WorkerState::ready); }

void ShmStatsSink::worker_draining() { set_state(stats::WorkerState::draining); }

void ShmStatsSink::worker_heartbeat() {
    if (entry_ != nullptr) entry_->heartbeat_unix_ms.store(stats::unix_ms_now(), kRelaxed);
}

}  // namespace ccr::worker
