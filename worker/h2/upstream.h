#pragma once
// HTTP/2 to providers that set `http2: true` (https only; h2 is chosen by ALPN, and a provider
// that picks HTTP/1.1 keeps getting HTTP/1.1 connections). Each worker multiplexes its requests
// to such an origin over as few connections as the server's SETTINGS_MAX_CONCURRENT_STREAMS
// allow, instead of one TLS connection per request in flight.
//
// The bridge mirrors the inbound one (connection.h): the pool hands the exchange an ordinary
// connection, one end of a socket pair; the exchange writes its HTTP/1.1 request and reads an
// HTTP/1.1 answer there, and this side carries them as one stream of a shared connection. So
// failover, error mapping, the SSE tap and every timeout work unchanged.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include "worker/deadline_stream.h"
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/error_code.hpp>

namespace ccr::worker::h2 {

class ClientSession;

class Upstreams {
  public:
    using TlsStream = boost::beast::ssl_stream<DeadlineStream>;

    explicit Upstreams(boost::asio::io_context& ioc);
    ~Upstreams();

    /// The exchange's end of a new stream on a connection to `key` with room for one more, or
    /// none when there is no such connection.
    std::optional<boost::asio::ip::tcp::socket> open_stream(const std::string& key);
    /// Takes a connection whose TLS handshake chose h2 as a new connection to `key`.
    void adopt(const std::string& key, std::unique_ptr<TlsStream> tls);

    // Connection set-up is single-flight per origin: while one request connects, the others
    // wait for its outcome instead of opening a connection each.
    bool connecting(const std::string& key) const;
    void begin_connect(const std::string& key);
    /// `h1`: the server chose HTTP/1.1 by ALPN; the origin gets HTTP/1.1 connections from then on.
    void end_connect(const std::string& key, boost::system::error_code ec, bool h1);
    /// Waits for the connect in progress; its error, if it failed.
    boost::asio::awaitable<boost::system::error_code> wait_connect(const std::string& key);
    bool speaks_h1(const std::string& key) const { return h1_.contains(key); }

    /// A drain: no new streams on the current connections; each closes when its streams end.
    void retire();

    /// Connections opened and streams carried since start (for the tests' measurement).
    std::uint64_t connections_opened() const { return connections_opened_; }

  private:
    struct Connecting {
        std::shared_ptr<boost::asio::steady_timer> done;  // cancelled when the connect ends
        boost::system::error_code result;
        bool active = false;
    };

    boost::asio::io_context& ioc_;
    std::map<std::string, std::vector<std::shared_ptr<ClientSession>>> sessions_;
    std::map<std::string, Connecting> connecting_;
    std::map<std::string, bool> h1_;
    std::uint64_t connections_opened_ = 0;
};

}  // namespace ccr::worker::h2
