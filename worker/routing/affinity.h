#pragma once
/// Session affinity for conversations that carry thinking signatures (step 4 of the request
/// path): which provider answered a session (X-Claude-Code-Session-Id) last, service-wide. A
/// fixed table of shared::stats::AffinityEntry (in the shared segment, or this process's memory),
/// open addressing over a short probe window, atomics only: a worker that dies mid-write leaves
/// at worst one entry that reads as empty. Entries expire after `ttl_ms`; a full window reuses
/// its oldest entry. Losing an entry costs only a preference, never a request.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "shared/clock.h"
#include "shared/stats/segment.h"

namespace ccr::worker::routing {

class AffinityTable {
  public:
    /// How long an entry counts after it was written.
    static constexpr std::int64_t kDefaultTtlMs = 60 * 60 * 1000;
    /// Entries probed from a hash's home slot.
    static constexpr std::size_t kProbe = 8;

    AffinityTable(std::span<shared::stats::AffinityEntry> entries,
                  const shared::Clock& clock,
                  std::int64_t ttl_ms = kDefaultTtlMs);

    /// The hash a session id is stored under (never 0). The same in every process of a build.
    static std::uint64_t hash(std::string_view session_id);

    /// The provider row last remembered for the session, unless it expired.
    std::optional<int> find(std::uint64_t session) const;
    /// Remembers `row` (0 <= row < 255) as the session's provider, now.
    void remember(std::uint64_t session, int row);

  private:
    std::uint64_t encode(std::uint64_t session, int row) const;
    /// The row of a value written for `session`, unless it is empty, another session's or old.
    std::optional<int> decode(std::uint64_t session, std::uint64_t value, std::int64_t now) const;

    std::span<shared::stats::AffinityEntry> entries_;
    const shared::Clock& clock_;
    std::int64_t ttl_ms_;
};

}  // namespace ccr::worker::routing
