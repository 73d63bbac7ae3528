#pragma once
// systemd readiness notification without depending on libsystemd: a datagram to $NOTIFY_SOCKET
// (a path, or an abstract socket when it starts with '@'). No-op when the variable is unset.

#include <string_view>

namespace ccr::master {

/// Sends `state` (e.g. "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=..."). Never blocks: returns
/// false (and logs a warning) when $NOTIFY_SOCKET is set but the message could not be sent now.
bool sd_notify(std::string_view state);

}  // namespace ccr::master
