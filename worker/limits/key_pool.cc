#include "worker/limits/key_pool.h"

#include <algorithm>
#include <limits>

#include "worker/insertion_sort.h"
#include "worker/limits/gcra.h"

namespace ccr::worker::limits {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

/// The configured limit; without one, what the upstream's headers said its limit is.
std::int64_t limit_of(std::int64_t configured, const std::atomic<std::int64_t>& learned) {
    return configured > 0 ? configured : learned.load(kRelaxed);
}

struct Buckets {
    Gcra rpm, itpm, otpm;
    explicit Buckets(const PoolKey& k)
        : rpm(k.row->rpm_tat, limit_of(k.limits.rpm, k.row->learned_rpm)),
          itpm(k.row->itpm_tat, limit_of(k.limits.itpm, k.row->learned_itpm)),
          otpm(k.row->otpm_tat, limit_of(k.limits.otpm, k.row->learned_otpm)) {}
};

double share(const Gcra& g, std::int64_t now_ms) {
    if (g.unlimited()) return 1.0;
    return static_cast<double>(g.available(now_ms)) / static_cast<double>(g.limit());
}

}  // namespace

KeyPool::KeyPool(std::vector<PoolKey> keys,
                 PoolStrategy strategy,
                 std::atomic<std::uint64_t>& cursor)
    : keys_(std::move(keys)), strategy_(strategy), cursor_(cursor) {}

std::int64_t KeyPool::ready_at_ms(int index,
                                  std::int64_t estimated_input,
                                  std::int64_t now_ms) const {
    const PoolKey& k = keys_[static_cast<std::size_t>(index)];
    const Buckets b(k);
    // Output tokens are not known before the answer: a key needs one unit of output capacity.
    return std::max({k.row->cooldown_until_ms.load(kRelaxed), now_ms, b.rpm.ready_at_ms(1, now_ms),
                     b.itpm.ready_at_ms(estimated_input, now_ms), b.otpm.ready_at_ms(1, now_ms)});
}

bool KeyPool::can_take(int index, std::int64_t estimated_input, std::int64_t now_ms) const {
    return ready_at_ms(index, estimated_input, now_ms) <= now_ms;
}

double KeyPool::free_share(int index, std::int64_t now_ms) const {
    const Buckets b(keys_[static_cast<std::size_t>(index)]);
    return std::min({share(b.rpm, now_ms), share(b.itpm, now_ms), share(b.otpm, now_ms)});
}

bool KeyPool::take(int index, std::int64_t estimated_input, std::int64_t now_ms) {
    const PoolKey& k = keys_[static_cast<std::size_t>(index)];
    if (k.row->cooldown_until_ms.load(kRelaxed) > now_ms) return false;
    Buckets b(k);
    if (b.otpm.available(now_ms) < 1 && !b.otpm.unlimited()) return false;
    if (!b.rpm.try_take(1, now_ms).ok) return false;
    if (!b.itpm.try_take(estimated_input, now_ms).ok) {
        b.rpm.charge(-1, now_ms);  // another process took the tokens first: give the request back
        return false;
    }
    k.row->requests.fetch_add(1, kRelaxed);
    return true;
}

KeyPool::Indices KeyPool::order(const Indices& eligible, std::int64_t now_ms, std::uint64_t random) {
    const std::size_t n = eligible.size();
    Indices out;
    out.reserve(n);
    std::size_t first = 0;
    switch (strategy_) {
        case PoolStrategy::round_robin:
        case PoolStrategy::least_loaded:
            first = static_cast<std::size_t>(cursor_.fetch_add(1, kRelaxed) % n);
            break;
        case PoolStrategy::random:
            first = static_cast<std::size_t>(random % n);
            break;
        case PoolStrategy::weighted: {
            std::uint64_t total = 0;
            for (int i : eligible)
                total += static_cast<std::uint64_t>(std::max(keys_[i].limits.weight, 0));
            if (total == 0) {
                first = static_cast<std::size_t>(random % n);
                break;
            }
            std::uint64_t r = random % total;
            for (std::size_t j = 0; j < n; ++j) {
                const auto w =
                    static_cast<std::uint64_t>(std::max(keys_[eligible[j]].limits.weight, 0));
                if (r < w) {
                    first = j;
                    break;
                }
                r -= w;
            }
            break;
        }
    }
    // The chosen one first, then the others in rotation (fallbacks when a race took its capacity).
    for (std::size_t j = 0; j < n; ++j) out.push_back(eligible[(first + j) % n]);
    if (strategy_ == PoolStrategy::least_loaded) {
        // Most free capacity first; the rotation above breaks ties, so equal keys share the load.
        boost::container::small_vector<double, kInline> free(keys_.size(), 0.0);
        for (int i : out) free[static_cast<std::size_t>(i)] = free_share(i, now_ms);
        insertion_sort(out.begin(), out.end(), [&](int a, int b) {
            return free[static_cast<std::size_t>(a)] > free[static_cast<std::size_t>(b)];
        });
    }
    return out;
}

KeyPool::Pick KeyPool::acquire(std::int64_t estimated_input,
                               std::int64_t now_ms,
                               std::uint64_t random) {
    Pick pick;
    if (keys_.empty()) return pick;
    Indices eligible;
    std::int64_t earliest = std::numeric_limits<std::int64_t>::max();
    for (int i = 0; i < static_cast<int>(keys_.size()); ++i) {
        const std::int64_t ready = ready_at_ms(i, estimated_input, now_ms);
        if (ready <= now_ms) {
            eligible.push_back(i);
        } else {
            earliest = std::min(earliest, ready);
        }
    }
    if (!eligible.empty()) {
        for (int i : order(eligible, now_ms, random)) {
            if (take(i, estimated_input, now_ms)) {
                pick.index = i;
                return pick;
            }
        }
        // Every eligible key was taken by others meanwhile: they are the next to free up.
        for (int i : eligible)
            earliest = std::min(earliest, ready_at_ms(i, estimated_input, now_ms));
        if (earliest <= now_ms) earliest = now_ms + 1;
    }
    pick.retry_at_ms = earliest;
    return pick;
}

void KeyPool::settle(int index,
                     std::int64_t estimated_input,
                     std::int64_t input_tokens,
                     std::int64_t output_tokens,
                     std::int64_t now_ms) {
    if (index < 0 || static_cast<std::size_t>(index) >= keys_.size()) return;
    Buckets b(keys_[static_cast<std::size_t>(index)]);
    if (input_tokens >= 0) b.itpm.charge(input_tokens - estimated_input, now_ms);
    if (output_tokens > 0) b.otpm.charge(output_tokens, now_ms);
}

void KeyPool::cooldown(int index, std::int64_t until_ms) {
    if (index < 0 || static_cast<std::size_t>(index) >= keys_.size()) return;
    shared::stats::KeyRow& row = *keys_[static_cast<std::size_t>(index)].row;
    row.rate_limited.fetch_add(1, kRelaxed);
    std::int64_t old = row.cooldown_until_ms.load(kRelaxed);
    while (old < until_ms &&
           !row.cooldown_until_ms.compare_exchange_weak(old, until_ms, kRelaxed)) {
    }
}

void KeyPool::learn(int index, const RateLimitReport& report, std::int64_t now_ms) {
    if (index < 0 || static_cast<std::size_t>(index) >= keys_.size()) return;
    const PoolKey& k = keys_[static_cast<std::size_t>(index)];
    // The limits first: a key without configured limits is then limited by what it learned.
    if (report.requests.limit > 0) k.row->learned_rpm.store(report.requests.limit, kRelaxed);
    if (report.input_tokens.limit > 0)
        k.row->learned_itpm.store(report.input_tokens.limit, kRelaxed);
    if (report.output_tokens.limit > 0)
        k.row->learned_otpm.store(report.output_tokens.limit, kRelaxed);
    Buckets b(k);
    const auto apply = [&](Gcra& g, const LimitReport& r) {
        if (r.remaining >= 0) g.learn(r.remaining, r.reset_at_ms, now_ms);
    };
    apply(b.rpm, report.requests);
    apply(b.itpm, report.input_tokens);
    apply(b.otpm, report.output_tokens);
    k.row->learned_mono_ms.store(now_ms, kRelaxed);
}

}  // namespace ccr::worker::limits
