#pragma once
// Logging setup on top of spdlog: text or JSON lines, level from the config or the command line.
// Each process (master, every worker) calls setup_logging after fork, so no logger thread or file
// handle is shared across a fork.

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

#include "shared/config/config.h"

namespace ccr::shared {

/// Installs the default spdlog logger. `level_override` (from --log-level/--debug) wins over the
/// config when non-empty. `tag` names the process in every line ("master", "worker 3").
/// `startup`: when the output is a file, errors also go to stderr until end_startup_logging(), so
/// a start that fails (port in use, permission) says why on the terminal, not only in the file.
void setup_logging(const LoggingConfig& cfg,
                   const std::string& level_override,
                   std::string_view tag,
                   bool startup = false);

/// Errors go to the configured output only from now on (the service is up).
void end_startup_logging();

/// With `logging.output` a file: closes it and opens the path again (after logrotate renamed
/// it; SIGUSR1 and reloads call this). True when a file was reopened; a failure to reopen keeps
/// the old file and says so in it.
bool reopen_log_file();

/// The line layout: text `2026-11-28T07:01:02.123+00:00 I [worker 3] msg`, or one JSON object
/// `{"ts":...,"level":"info","proc":"worker 3","pid":N,"msg":...}` (local time, its UTC offset).
std::unique_ptr<spdlog::formatter> line_formatter(bool json, std::string_view tag);

/// Whether lines are JSON (logging.format: json).
bool log_is_json();
/// A message that starts with this byte is a list of JSON members (`"msg":"access","k":v,...`)
/// that JSON lines carry as fields of their own, not as one escaped string (log_access uses it).
inline constexpr char kJsonFieldsMarker = '\x1e';

/// True when `level` is a level name spdlog knows ("trace" .. "off").
bool valid_log_level(std::string_view level);

}  // namespace ccr::shared
