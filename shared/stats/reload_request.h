#pragma once
// Asking the running master for a reload and reading its outcome: SIGHUP, then wait for
// Header::reload_seq to reach a new even value and read what the master recorded. One protocol
// for `cc-relay reload` (cli/reload.cc, which sleeps between polls) and the admin API's
// POST /admin/reload (master/admin.cc, which polls on an Asio timer), so both give the same
// outcome and the same words.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "shared/stats/segment.h"

namespace ccr::shared::stats {

struct ReloadOutcome {
    bool ok = false;
    std::uint64_t generation = 0;  // ok: the new generation
    /// What `cc-relay reload` prints: "reloaded: generation N", "reload failed: <reason>", or
    /// (not ok, master_gone) "the master (pid N) exited during the reload".
    std::string text;
    bool master_gone = false;
};

class ReloadRequest {
  public:
    /// Sends SIGHUP to `pid` (the master that writes `seg`'s outcome). The request, or why it
    /// could not be sent in an operator's words (not running, permission denied, ...).
    static std::variant<ReloadRequest, std::string> send(const Segment& seg, std::int32_t pid);

    /// The outcome once the master recorded it (or exited); nullopt while it is working. The
    /// outcome is a shared-memory write with no notification: the caller polls this.
    std::optional<ReloadOutcome> poll() const;

    /// The words for a caller whose deadline passed with no outcome.
    std::string timeout_text(int seconds) const;

    std::int32_t pid() const { return pid_; }

  private:
    ReloadRequest(const Segment& seg, std::int32_t pid, std::uint64_t before)
        : seg_(&seg), pid_(pid), before_(before) {}
    const Segment* seg_;
    std::int32_t pid_;
    std::uint64_t before_;  // reload_seq when the signal was sent
};

}  // namespace ccr::shared::stats
