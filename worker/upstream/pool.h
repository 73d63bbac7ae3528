#pragma once
// Step 5: the upstream client's connections. One pool per worker, keyed by origin; plain TCP or
// TLS (OpenSSL, SNI, hostname verification, system CA store or a provider's ca_file); a DNS
// cache; connect timeouts. Single-threaded like the rest of the worker: no locks.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <boost/system/error_code.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "worker/deadline_stream.h"
#include "worker/providers/provider.h"

namespace ccr::worker::h2 {
class Upstreams;
}

namespace ccr::worker::upstream {

/// One upstream connection: TCP or TLS over TCP, with its read buffer.
struct Conn {
    std::optional<DeadlineStream> plain;
    std::optional<boost::beast::ssl_stream<DeadlineStream>> tls;
    boost::beast::flat_buffer buffer;
    bool reused = false;  // came from the pool (may have been closed by the server meanwhile)
    bool bridged = false;  // one stream of an HTTP/2 connection (h2/upstream.h): never pooled
    std::chrono::steady_clock::time_point idle_since;

    DeadlineStream& tcp() { return tls ? tls->next_layer() : *plain; }
    void close();
    /// The TLS handshake chose h2 by ALPN.
    bool negotiated_h2();
};

class Pool {
public:
    explicit Pool(boost::asio::io_context& ioc);
    ~Pool();

    /// A connection to `origin`: an idle pooled one when available, else a new one (DNS through
    /// the cache, TCP connect and TLS handshake within `connect_timeout`). For an origin with
    /// `http2`, a stream on a shared HTTP/2 connection, unless the server chose HTTP/1.1.
    boost::asio::awaitable<std::unique_ptr<Conn>> acquire(const Origin& origin,
                                                          std::chrono::milliseconds connect_timeout,
                                                          bool fresh,
                                                          boost::system::error_code& ec);
    /// An idle pooled connection to `origin` that is still usable, without waiting; none for an
    /// HTTP/2 origin (acquire decides between its shared connection and HTTP/1.1).
    std::unique_ptr<Conn> take_idle(const Origin& origin);
    /// Returns a connection whose last response was read completely and may be reused.
    void release(const Origin& origin, std::unique_ptr<Conn> conn);
    /// Drops every idle connection (drain, reload).
    void clear();

    static constexpr std::size_t kMaxIdlePerOrigin = 256;
    static constexpr std::chrono::seconds kIdleTimeout{60};
    /// While connections are idle, every second the pool closes those the server has closed
    /// (nginx's keepalive close handler does it on the event; here a timer and a peek each) and
    /// those idle past kIdleTimeout, so no socket waits in CLOSE_WAIT for the origin's next request.
    static constexpr std::chrono::seconds kSweepInterval{1};
    static constexpr std::chrono::seconds kDnsTtl{30};

private:
    boost::asio::awaitable<std::unique_ptr<Conn>> connect(const Origin& origin,
                                                          std::chrono::milliseconds connect_timeout,
                                                          boost::system::error_code& ec);
    boost::asio::awaitable<std::unique_ptr<Conn>> acquire_h2(const Origin& origin,
                                                             std::chrono::milliseconds connect_timeout,
                                                             boost::system::error_code& ec);
    boost::asio::ssl::context& tls_context(const std::string& ca_file, boost::system::error_code& ec);
    boost::asio::awaitable<boost::asio::ip::tcp::resolver::results_type> resolve(
        const Origin& origin, boost::system::error_code& ec);
    std::unique_ptr<Conn> idle(const Origin& origin);  // the newest usable idle connection
    void arm_sweep();
    void sweep();

    struct DnsEntry {
        boost::asio::ip::tcp::resolver::results_type results;
        std::chrono::steady_clock::time_point expires;
    };

    // What makes two origins' connections interchangeable: Origin::key()'s parts, compared in
    // place, so finding an origin's idle connections builds no string per request.
    struct IdleKey {
        bool tls = false, http2 = false;
        std::uint16_t port = 0;
        std::string host, ca_file;
    };
    struct IdleKeyLess {
        using is_transparent = void;
        template <class A, class B>
        bool operator()(const A& a, const B& b) const {
            return parts(a) < parts(b);
        }
        template <class T>
        static auto parts(const T& o) {
            return std::tuple<bool, bool, std::uint16_t, std::string_view, std::string_view>(
                o.tls, o.http2, o.port, o.host, o.ca_file);
        }
    };

    boost::asio::io_context& ioc_;
    boost::asio::ip::tcp::resolver resolver_;
    std::map<IdleKey, std::vector<std::unique_ptr<Conn>>, IdleKeyLess> idle_;
    std::map<std::string, DnsEntry> dns_;
    std::map<std::string, std::unique_ptr<boost::asio::ssl::context>> tls_contexts_;
    std::unique_ptr<h2::Upstreams> h2_;
    boost::asio::steady_timer sweep_;
    bool sweep_armed_ = false;
    // The sweep's handler holds a weak reference: one already queued when the pool goes finds it
    // expired instead of a dangling `this`.
    std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace ccr::worker::upstream
