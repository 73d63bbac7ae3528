#pragma once
// Finding the running instance a config describes, for `stats`, `status` and `reload`: its
// shared-memory segment and its master's pid.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "shared/config/config.h"
#include "shared/stats/segment.h"

namespace ccr::cli {

/// The instance's segment, read-only. Throws std::runtime_error with an actionable message.
std::unique_ptr<shared::stats::Segment> open_segment(const shared::Config& cfg);

/// The pid in `server.pid_file`, when it is set, readable and holds a positive number.
std::optional<std::int32_t> read_pid_file(const shared::Config& cfg);

}  // namespace ccr::cli
