#pragma once
// Logging setup on top of spdlog: text or JSON lines, level from the config or the command line.
// Each process (master, every worker) calls setup_logging after fork, so no logger thread or file
// handle is shared across a fork.

#include <string>
#include <string_view>

#include "shared/config/config.h"

namespace ccr::shared {

/// Installs the default spdlog logger. `level_override` (from --log-level/--debug) wins over the
/// config when non-empty. `tag` names the process in every line ("master", "worker 3").
void setup_logging(const LoggingConfig& cfg, const std::string& level_override, std::string_view tag);

/// True when `level` is a level name spdlog knows ("trace" .. "off").
bool valid_log_level(std::string_view level);

}  // namespace ccr::shared
