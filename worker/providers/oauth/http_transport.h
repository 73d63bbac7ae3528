#pragma once
// The token requests' real transport: one connection from the worker's upstream pool per request
// (Connection: close), Beast over plain TCP or TLS.

#include <chrono>
#include <string>

#include "worker/providers/oauth/token_source.h"

namespace ccr::worker::upstream {
class Pool;
}

namespace ccr::worker::oauth {

/// Bound on one token request, connect included.
inline constexpr std::chrono::milliseconds kTokenRequestTimeout{30'000};
/// Largest token reply read.
inline constexpr std::size_t kMaxTokenReply = 1 << 20;

/// A Transport over `pool` (which must outlive it). TLS verifies against `ca_file` (empty: the
/// system store); `connect_timeout` bounds DNS + TCP + TLS (server.connect_timeout_ms), `total`
/// the whole exchange.
Transport make_pool_transport(upstream::Pool& pool,
                              std::string ca_file,
                              std::chrono::milliseconds connect_timeout,
                              std::chrono::milliseconds total = kTokenRequestTimeout);

}  // namespace ccr::worker::oauth
