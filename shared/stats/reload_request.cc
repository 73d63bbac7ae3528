#include "shared/stats/reload_request.h"

#include <signal.h>

#include <cerrno>
#include <cstring>

namespace ccr::shared::stats {

std::variant<ReloadRequest, std::string> ReloadRequest::send(const Segment& seg, std::int32_t pid) {
    if (!process_alive(pid))
        return "no running cc-relay master: pid " + std::to_string(pid) + " is not running";
    // Read before signalling: an outcome recorded after this value is ours.
    const std::uint64_t before = seg.header().reload_seq.load(std::memory_order_acquire);
    if (::kill(pid, SIGHUP) != 0) {
        const int err = errno;
        if (err == EPERM) {
            return "permission denied sending SIGHUP to the master (pid " + std::to_string(pid) +
                   "): run as the service's user or root";
        }
        return "kill(" + std::to_string(pid) + ", SIGHUP): " + std::strerror(err);
    }
    return ReloadRequest(seg, pid, before);
}

std::optional<ReloadOutcome> ReloadRequest::poll() const {
    const std::uint64_t seq = seg_->header().reload_seq.load(std::memory_order_acquire);
    if (seq != before_ && seq % 2 == 0) {
        const Segment::ReloadResult r = seg_->reload_result();
        if (r.ok == 1)
            return ReloadOutcome{true, r.generation,
                                 "reloaded: generation " + std::to_string(r.generation)};
        return ReloadOutcome{false, r.generation, "reload failed: " + r.message};
    }
    if (!process_alive(pid_)) {
        return ReloadOutcome{
            false, 0, "the master (pid " + std::to_string(pid_) + ") exited during the reload",
            true};
    }
    return std::nullopt;
}

std::string ReloadRequest::timeout_text(int seconds) const {
    return "no reload outcome from the master (pid " + std::to_string(pid_) + ") within " +
           std::to_string(seconds) + " s; see its log";
}

}  // namespace ccr::shared::stats
