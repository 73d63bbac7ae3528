#pragma once
// The server side of server.tls: a TLS context for the HTTPS listener, built by each worker when
// it starts (so a reload's new generation reads a renewed certificate) and by the master to
// check the files before it forks.

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "shared/config/config.h"

namespace ccr::worker {

/// TLS 1.2 or later, the certificate chain and key of `tls`; by ALPN, h2 when `http2` is on and
/// the client offers it, else HTTP/1.1. Null with `err` saying which file and why when they
/// cannot be used.
std::unique_ptr<boost::asio::ssl::context> make_server_tls(const shared::TlsListenConfig& tls,
                                                           bool http2,
                                                           std::string& err);

}  // namespace ccr::worker
