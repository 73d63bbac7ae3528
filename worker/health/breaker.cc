// The transitions of the breaker word (encoding: shared::stats::BreakerWord).

#include "worker/health/breaker.h"

#include <algorithm>

namespace ccr::worker::health {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;
using Word = shared::stats::BreakerWord;

Word open_at(std::int64_t now_ms, std::int64_t duration_ms) {
    return Word{BreakerState::open, 0, 0, now_ms + duration_ms};
}

}  // namespace

Breaker::Breaker(std::atomic<std::uint64_t>& word, const BreakerPolicy& policy)
    : word_(word), policy_(policy) {
    policy_.failure_threshold = std::clamp(policy_.failure_threshold, 1, kMaxCount);
    policy_.half_open_probes = std::clamp(policy_.half_open_probes, 1, kMaxCount);
    policy_.open_duration_ms = std::max<std::int64_t>(policy_.open_duration_ms, 0);
}

Breaker::Admission Breaker::allow(std::int64_t now_ms) {
    std::uint64_t old = word_.load(kRelaxed);
    for (;;) {
        const Word w = Word::decode(old);
        Word next = w;
        Transition t = Transition::none;
        switch (w.state) {
            case BreakerState::closed:
                return {true, Transition::none};
            case BreakerState::open:
                if (now_ms < w.time) return {false, Transition::none};
                next = Word{BreakerState::half_open, 0, 1, now_ms + policy_.open_duration_ms};
                t = Transition::half_opened;
                break;
            case BreakerState::half_open:
                if (w.admitted < policy_.half_open_probes) {
                    next.admitted = w.admitted + 1;
                } else if (now_ms >= w.time) {
                    // The round's probes never reported back: start another round.
                    next.admitted = 1;
                    next.time = now_ms + policy_.open_duration_ms;
                } else {
                    return {false, Transition::none};
                }
                break;
        }
        if (word_.compare_exchange_weak(old, next.encode(), kRelaxed)) return {true, t};
    }
}

Transition Breaker::on_success(std::int64_t /*now_ms*/) {
    std::uint64_t old = word_.load(kRelaxed);
    for (;;) {
        const Word w = Word::decode(old);
        Word next = w;
        Transition t = Transition::none;
        if (w.state == BreakerState::closed) {
            if (w.count == 0) return Transition::none;  // the common case writes nothing
            next.count = 0;
        } else if (w.state == BreakerState::half_open) {
            if (w.count + 1 >= policy_.half_open_probes) {
                next = Word{};
                t = Transition::closed;
            } else {
                next.count = w.count + 1;
            }
        } else {
            // Open: a late answer to a request admitted before the breaker opened proves
            // nothing about the provider now.
            return Transition::none;
        }
        if (word_.compare_exchange_weak(old, next.encode(), kRelaxed)) return t;
    }
}

Transition Breaker::on_failure(std::int64_t now_ms) {
    std::uint64_t old = word_.load(kRelaxed);
    for (;;) {
        const Word w = Word::decode(old);
        Word next = w;
        Transition t = Transition::none;
        if (w.state == BreakerState::closed) {
            if (w.count + 1 >= policy_.failure_threshold) {
                next = open_at(now_ms, policy_.open_duration_ms);
                t = Transition::opened;
            } else {
                next.count = w.count + 1;
            }
        } else if (w.state == BreakerState::half_open) {
            next = open_at(now_ms, policy_.open_duration_ms);
            t = Transition::reopened;
        } else {
            return Transition::none;  // already open: the window is not extended
        }
        if (word_.compare_exchange_weak(old, next.encode(), kRelaxed)) return t;
    }
}

Transition Breaker::force_half_open(std::int64_t now_ms) {
    std::uint64_t old = word_.load(kRelaxed);
    for (;;) {
        const Word w = Word::decode(old);
        if (w.state != BreakerState::open) return Transition::none;
        const Word next{BreakerState::half_open, 0, 0, now_ms + policy_.open_duration_ms};
        if (word_.compare_exchange_weak(old, next.encode(), kRelaxed)) {
            return Transition::half_opened;
        }
    }
}

BreakerState Breaker::state(std::int64_t now_ms) const {
    const Word w = Word::decode(word_.load(kRelaxed));
    // An open breaker whose window is over admits the next request: to a router it is
    // half-open already, though nobody has moved the word yet.
    if (w.state == BreakerState::open && now_ms >= w.time) return BreakerState::half_open;
    return w.state;
}

std::int64_t Breaker::open_until() const {
    const Word w = Word::decode(word_.load(kRelaxed));
    return w.state == BreakerState::open ? w.time : 0;
}

int Breaker::count() const { return Word::decode(word_.load(kRelaxed)).count; }

const char* transition_name(Transition t) {
    switch (t) {
        case Transition::none:
            return "none";
        case Transition::opened:
            return "opened";
        case Transition::half_opened:
            return "half_opened";
        case Transition::closed:
            return "closed";
        case Transition::reopened:
            return "reopened";
    }
    return "unknown";
}

}  // namespace ccr::worker::health
