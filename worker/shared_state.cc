#include "worker/shared_state.h"

#include <spdlog/spdlog.h>

#include "worker/providers/provider.h"

namespace ccr::worker {

namespace stats = shared::stats;
constexpr auto kRelaxed = std::memory_order_relaxed;

limits::PoolStrategy pool_strategy(const std::string& name) {
    if (name == "round_robin") return limits::PoolStrategy::round_robin;
    if (name == "random") return limits::PoolStrategy::random;
    if (name == "weighted") return limits::PoolStrategy::weighted;
    return limits::PoolStrategy::least_loaded;
}

namespace {

// tpm_limit is the Go schema's deprecated single limit: half to input, half to output when
// neither of those is set.
limits::KeyLimits key_limits(const shared::KeyConfig& k) {
    limits::KeyLimits l;
    l.rpm = k.rpm_limit;
    l.itpm = k.itpm_limit;
    l.otpm = k.otpm_limit;
    if (l.itpm == 0 && l.otpm == 0 && k.tpm_limit > 0) {
        l.itpm = k.tpm_limit / 2;
        l.otpm = k.tpm_limit - l.itpm;
    }
    l.weight = k.weight > 0 ? k.weight : 1;
    return l;
}

}  // namespace

SharedState::SharedState(stats::Segment* seg,
                         int slot,
                         const shared::Config& cfg,
                         const Providers& providers,
                         const shared::Clock& clock)
    : seg_(seg), clock_(clock) {
    const auto& cb = cfg.health.circuit_breaker;
    policy_.failure_threshold = static_cast<int>(cb.failure_threshold);
    policy_.open_duration_ms = cb.open_duration_ms;
    policy_.half_open_probes = static_cast<int>(cb.half_open_probes);
    route_cursor_ = static_cast<int>(cfg.routing.kind) % stats::kRouteCursors;

    local_rows_ = std::make_unique<stats::ProviderState[]>(providers.size());
    for (std::size_t i = 0; i < providers.size(); ++i) {
        const int r = seg_ ? seg_->find_provider_row(providers[i]->name()) : -1;
        seg_rows_.push_back(r);
        rows_.push_back(r >= 0 ? &seg_->layout().providers[r] : &local_rows_[i]);
    }
    if (seg_ && slot >= 0 && slot < stats::kMaxWorkers) relaying_ = &seg_->layout().header.workers[slot].relaying;
    if (relaying_ == nullptr) relaying_ = &local_relaying_;

    if (seg_) {
        affinity_.emplace(std::span(seg_->layout().affinity), clock_);
    } else {
        constexpr std::size_t kLocalAffinity = 1024;
        local_affinity_ = std::make_unique<stats::AffinityEntry[]>(kLocalAffinity);
        affinity_.emplace(std::span(local_affinity_.get(), kLocalAffinity), clock_);
    }

    for (std::size_t i = 0; i < providers.size(); ++i) {
        const shared::ProviderConfig& pc = providers[i]->config();
        if (pc.keys.empty()) {
            pools_.push_back(nullptr);
            continue;
        }
        std::vector<limits::PoolKey> keys;
        for (const shared::KeyConfig& k : pc.keys) {
            const int kr = seg_ ? seg_->find_key_row(pc.name, stats::key_fingerprint(k.key)) : -1;
            stats::KeyRow* row = nullptr;
            if (kr >= 0) {
                row = &seg_->layout().keys[kr];
            } else {
                if (seg_) spdlog::warn("provider {}: a key has no row in the stats segment; its limits hold for this worker only", pc.name);
                local_keys_.push_back(std::make_unique<stats::KeyRow>());
                row = local_keys_.back().get();
            }
            keys.push_back({row, key_limits(k)});
        }
        pools_.push_back(std::make_unique<limits::KeyPool>(std::move(keys), pool_strategy(pc.pooling.strategy),
                                                           rows_[i]->key_cursor));
    }

    local_clients_ = std::make_unique<stats::ClientRow[]>(cfg.clients.size());
    clients_.reserve(cfg.clients.size());
    for (std::size_t i = 0; i < cfg.clients.size(); ++i) {
        const shared::ClientConfig& c = cfg.clients[i];
        const int r = seg_ ? seg_->find_client_row(c.name) : -1;
        if (seg_ && r < 0)
            spdlog::warn("client {} has no row in the stats segment; its limits hold for this worker only", c.name);
        stats::ClientRow& row = r >= 0 ? seg_->layout().clients[r] : local_clients_[i];
        clients_.emplace_back(row, limits::ClientPolicy{c.rpm_limit, c.tpm_limit, c.daily_token_budget});
    }
}

SharedState::~SharedState() = default;

stats::ProviderState& SharedState::row(int provider) const { return *rows_[static_cast<std::size_t>(provider)]; }

std::uint64_t SharedState::next_turn() {
    return seg_ ? seg_->next_route_turn(route_cursor_) : local_turn_.fetch_add(1, kRelaxed);
}

std::int64_t SharedState::in_flight(int provider) const {
    const int r = seg_rows_[static_cast<std::size_t>(provider)];
    return r >= 0 ? seg_->provider_in_flight(r) : 0;
}

std::uint64_t SharedState::recent_ttfb_us(int provider) const { return row(provider).ttfb_ewma_us.load(kRelaxed); }

void SharedState::record_ttfb(int provider, std::uint64_t us) {
    if (us == 0) return;
    stats::update_ewma(row(provider).ttfb_ewma_us, us);
    row(provider).ttfb_updated_mono_ms.store(clock_.mono_ms(), kRelaxed);
}

health::Breaker SharedState::breaker(int provider) { return health::Breaker(row(provider).breaker, policy_); }

health::BreakerState SharedState::breaker_state(int provider) const {
    return health::Breaker(row(provider).breaker, policy_).state(clock_.mono_ms());
}

bool SharedState::is_open(int provider) const { return breaker_state(provider) == health::BreakerState::open; }

bool SharedState::is_disabled(int provider) const { return row(provider).admin_disabled.load(kRelaxed) != 0; }

std::int64_t SharedState::open_until(int provider) const {
    return health::Breaker(row(provider).breaker, policy_).open_until();
}

limits::KeyPool* SharedState::key_pool(int provider) { return pools_[static_cast<std::size_t>(provider)].get(); }

limits::ClientLimits* SharedState::client_limits(int client) {
    if (client < 0 || static_cast<std::size_t>(client) >= clients_.size()) return nullptr;
    return &clients_[static_cast<std::size_t>(client)];
}

// The table holds segment rows (names, kept across reloads); without a segment, indices.
int SharedState::session_provider(std::string_view session_id) const {
    const std::optional<int> row = affinity_->find(routing::AffinityTable::hash(session_id));
    if (!row) return -1;
    if (!seg_) return *row < static_cast<int>(rows_.size()) ? *row : -1;
    for (std::size_t i = 0; i < seg_rows_.size(); ++i) {
        if (seg_rows_[i] == *row) return static_cast<int>(i);
    }
    return -1;
}

void SharedState::remember_session(std::string_view session_id, int provider) {
    const int row = seg_ ? seg_rows_[static_cast<std::size_t>(provider)] : provider;
    if (row >= 0) affinity_->remember(routing::AffinityTable::hash(session_id), row);
}

bool SharedState::try_enter_relaying(std::int64_t cap) {
    if (cap > 0) {
        const std::int64_t now = seg_ ? seg_->relaying_total() : relaying_->load(kRelaxed);
        // Workers check and add without a lock: at a burst the count may pass the cap by at most
        // the number of workers, never more.
        if (now >= cap) return false;
    }
    relaying_->fetch_add(1, kRelaxed);
    return true;
}

void SharedState::leave_relaying() { relaying_->fetch_sub(1, kRelaxed); }

}  // namespace ccr::worker
