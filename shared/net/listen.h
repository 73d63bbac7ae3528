#pragma once
// Listening sockets: bound by the master (or `serve` in one process) and inherited by workers.

#include <cstdint>
#include <string>

namespace ccr::shared {

/// Binds and listens on host:port (host may be a name, an IPv4 or IPv6 literal; empty: all
/// interfaces). With `reuseport` several sockets may share the address (SO_REUSEPORT), one per
/// worker. Returns the fd, or -1 with `err` naming the address and the failing call.
int bind_listener(const std::string& host, std::uint16_t port, bool reuseport, std::string& err);

/// Whether host:port can be bound exclusively right now. SO_REUSEPORT would let a second instance
/// (same user) silently share a port in use, so the master checks with a plain bind first.
bool address_free(const std::string& host, std::uint16_t port, std::string& err);

/// The port a socket is bound to (resolves port 0 after bind).
std::uint16_t local_port(int fd);

}  // namespace ccr::shared
