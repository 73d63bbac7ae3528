#pragma once
// A circuit breaker per provider over one word of the shared segment (ProviderState::breaker),
// moved by CAS so every worker sees the same state and exactly one process — the CAS winner —
// sees each transition (and logs it).
//
//   closed ──(failure_threshold consecutive failures)──► open
//   open ──(open_duration_ms elapsed: the first allow())──► half_open
//   half_open ──(half_open_probes successes)──► closed
//   half_open ──(a failure)──► open
//
// Half-open admits at most `half_open_probes` requests at a time; if none of them reports back
// within open_duration_ms (a client went away mid-probe), the next allow() starts a new round.

#include <atomic>
#include <cstdint>

#include "shared/stats/segment.h"

namespace ccr::worker::health {

using shared::stats::BreakerState;

/// What a call changed, seen by the one caller whose CAS made the change.
enum class Transition : std::uint8_t {
    none,
    opened,       // closed -> open
    half_opened,  // open -> half_open (window over, or an active health check succeeded)
    closed,       // half_open -> closed
    reopened,     // half_open -> open
};

/// Policy from health.circuit_breaker (plain numbers: the config structs live elsewhere).
struct BreakerPolicy {
    int failure_threshold = 5;  // 1..kMaxCount
    std::int64_t open_duration_ms = 30'000;
    int half_open_probes = 1;  // 1..kMaxCount
};

class Breaker {
  public:
    static constexpr int kMaxCount = shared::stats::BreakerWord::kMaxCount;

    /// `word` is ProviderState::breaker of the provider's row.
    Breaker(std::atomic<std::uint64_t>& word, const BreakerPolicy& policy);

    struct Admission {
        bool allowed = false;
        Transition transition = Transition::none;
    };
    /// May a request go to this provider now? false while open, and in half-open once the
    /// round's probes are out. The first caller after the open window moves it to half-open.
    Admission allow(std::int64_t now_ms);
    /// The request got an answer that counts as success.
    Transition on_success(std::int64_t now_ms);
    /// The request failed (5xx, 429, 529, connect/TLS error, timeout; not a client that left).
    Transition on_failure(std::int64_t now_ms);
    /// An active health check succeeded: an open breaker goes half-open at once.
    Transition force_half_open(std::int64_t now_ms);

    BreakerState state(std::int64_t now_ms) const;
    /// While open: when the open window ends (monotonic ms). 0 otherwise.
    std::int64_t open_until() const;
    /// Consecutive failures (closed) or successful probes (half-open).
    int count() const;

  private:
    std::atomic<std::uint64_t>& word_;
    BreakerPolicy policy_;
};

const char* transition_name(Transition t);

}  // namespace ccr::worker::health
