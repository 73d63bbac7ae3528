#include "worker/upstream/pool.h"

#include "worker/alpn.h"
#include "worker/h2/upstream.h"
#include "worker/short_read.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

namespace ccr::worker::upstream {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

void Conn::close() {
    beast::error_code ignored;  // closing a dead socket may fail; nothing to do about it
    tcp().socket().close(ignored);
}

bool Conn::negotiated_h2() { return tls && alpn_chose_h2(tls->native_handle()); }

Pool::Pool(net::io_context& ioc)
    : ioc_(ioc), resolver_(ioc), h2_(std::make_unique<h2::Upstreams>(ioc)), sweep_(ioc) {}
Pool::~Pool() = default;

void Pool::clear() {
    idle_.clear();
    sweep_.cancel();
    sweep_armed_ = false;
    h2_->retire();
}

ssl::context& Pool::tls_context(const std::string& ca_file, boost::system::error_code& ec) {
    auto it = tls_contexts_.find(ca_file);
    if (it != tls_contexts_.end()) return *it->second;
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx->set_verify_mode(ssl::verify_peer);
    beast::error_code bec;
    if (ca_file.empty()) {
        ctx->set_default_verify_paths(bec);
    } else {
        ctx->load_verify_file(ca_file, bec);
    }
    if (bec) ec = bec;
    // Session tickets let reconnects to the same provider skip a full handshake.
    SSL_CTX_set_session_cache_mode(ctx->native_handle(), SSL_SESS_CACHE_CLIENT);
    return *tls_contexts_.emplace(ca_file, std::move(ctx)).first->second;
}

net::awaitable<tcp::resolver::results_type> Pool::resolve(const Origin& origin, boost::system::error_code& ec) {
    std::string key = origin.host + ":" + std::to_string(origin.port);
    auto now = std::chrono::steady_clock::now();
    if (auto it = dns_.find(key); it != dns_.end() && it->second.expires > now) {
        co_return it->second.results;
    }
    auto [rec, results] =
        co_await resolver_.async_resolve(origin.host, std::to_string(origin.port), kTuple);
    if (rec) {
        ec = rec;
        co_return tcp::resolver::results_type{};
    }
    dns_[key] = DnsEntry{results, now + kDnsTtl};
    co_return results;
}

namespace {

// A pooled connection the server closed while idle reads as EOF; check without blocking. Not
// for one idle under kRecentlyUsed: a server that closed it that soon is met by the exchange's
// retry on a fresh connection (retry_fresh), and the check is a system call per request.
constexpr std::chrono::milliseconds kRecentlyUsed{1000};
bool still_open(Conn& c) {
    char byte;
    ssize_t n = ::recv(c.tcp().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return false;                          // orderly close
    if (n > 0) return false;                           // unexpected bytes: not reusable
    return errno == EAGAIN || errno == EWOULDBLOCK;    // nothing to read: alive
}

// Whether an idle connection may still be handed out at `now` (acquire) or kept (the sweep).
bool reusable(Conn& c, std::chrono::steady_clock::time_point now) {
    const auto idle = now - c.idle_since;
    return idle < kRecentlyUsed || (idle < Pool::kIdleTimeout && still_open(c));
}

}  // namespace

net::awaitable<std::unique_ptr<Conn>> Pool::acquire_h2(const Origin& origin,
                                                       std::chrono::milliseconds connect_timeout,
                                                       boost::system::error_code& ec) {
    const std::string key = origin.key();
    auto stream = [&](net::ip::tcp::socket socket) {
        auto conn = std::make_unique<Conn>();
        conn->plain.emplace(std::move(socket));
        conn->bridged = true;
        conn->buffer.reserve(16 * 1024);
        return conn;
    };
    for (;;) {
        if (auto socket = h2_->open_stream(key)) co_return stream(std::move(*socket));
        if (!h2_->connecting(key)) break;
        // Another request is connecting to this origin: share its connection.
        if (auto failed = co_await h2_->wait_connect(key)) {
            ec = failed;
            co_return nullptr;
        }
        if (h2_->speaks_h1(key)) co_return nullptr;  // HTTP/1.1 after all: the caller connects
    }
    h2_->begin_connect(key);
    auto conn = co_await connect(origin, connect_timeout, ec);
    const bool h2 = conn && conn->negotiated_h2();
    h2_->end_connect(key, ec, conn && !h2);
    if (!h2) co_return conn;  // an error, or a server that chose HTTP/1.1: an ordinary connection
    h2_->adopt(key, std::make_unique<h2::Upstreams::TlsStream>(std::move(*conn->tls)));
    if (auto socket = h2_->open_stream(key)) co_return stream(std::move(*socket));
    ec = net::error::connection_aborted;
    co_return nullptr;
}

net::awaitable<std::unique_ptr<Conn>> Pool::acquire(const Origin& origin,
                                                    std::chrono::milliseconds connect_timeout,
                                                    bool fresh,
                                                    boost::system::error_code& ec) {
    ec.clear();
    if (origin.http2 && !h2_->speaks_h1(origin.key())) {
        auto conn = co_await acquire_h2(origin, connect_timeout, ec);
        if (conn || ec) co_return conn;
    }
    if (!fresh) {
        if (auto c = idle(origin)) co_return c;
    }
    co_return co_await connect(origin, connect_timeout, ec);
}

std::unique_ptr<Conn> Pool::take_idle(const Origin& origin) {
    return origin.http2 ? nullptr : idle(origin);
}

std::unique_ptr<Conn> Pool::idle(const Origin& origin) {
    auto it = idle_.find(origin);
    if (it == idle_.end()) return nullptr;
    const auto now = std::chrono::steady_clock::now();
    while (!it->second.empty()) {
        std::unique_ptr<Conn> c = std::move(it->second.back());
        it->second.pop_back();
        if (reusable(*c, now)) {
            c->reused = true;
            return c;
        }
    }
    return nullptr;
}

net::awaitable<std::unique_ptr<Conn>> Pool::connect(const Origin& origin,
                                                    std::chrono::milliseconds connect_timeout,
                                                    boost::system::error_code& ec) {
    auto conn = std::make_unique<Conn>();
    // Room for a response head and the first events in one read (Beast reads into free space).
    conn->buffer.reserve(16 * 1024);
    ssl::context* ctx = nullptr;
    if (origin.tls) {
        ctx = &tls_context(origin.ca_file, ec);
        if (ec) co_return nullptr;
        conn->tls.emplace(ioc_, *ctx);
    } else {
        conn->plain.emplace(ioc_);
    }
    auto results = co_await resolve(origin, ec);
    if (ec) co_return nullptr;

    DeadlineStream& stream = conn->tcp();
    stream.expires_after(connect_timeout);
    // Each address in turn (IPv6 and IPv4 for a name that has both) within the one timeout.
    boost::system::error_code cec = net::error::host_not_found;
    for (const auto& entry : results) {
        std::tie(cec) = co_await stream.async_connect(entry.endpoint(), kTuple);
        if (!cec || cec == beast::error::timeout) break;
    }
    if (cec) {
        ec = cec;
        co_return nullptr;
    }
    beast::error_code nodelay_ec;
    // Best effort, as for client sockets: without it the requests still go out, a little later.
    stream.socket().set_option(tcp::no_delay(true), nodelay_ec);
    if (!origin.tls) enable_drain_hint(stream.socket());  // best effort too (short_read.h)
    if (origin.tls) {
        SSL* ssl_handle = conn->tls->native_handle();
        // SNI only for names, not for IP literals (RFC 6066).
        beast::error_code addr_ec;
        net::ip::make_address(origin.host, addr_ec);
        if (addr_ec && !SSL_set_tlsext_host_name(ssl_handle, origin.host.c_str())) {
            ec = beast::error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category());
            co_return nullptr;
        }
        conn->tls->set_verify_callback(ssl::host_name_verification(origin.host));
        if (origin.http2) {
            static constexpr unsigned char kProtos[] = "\x02h2\x08http/1.1";
            ::SSL_set_alpn_protos(ssl_handle, kProtos, sizeof kProtos - 1);
        }
        auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, kTuple);
        if (hec) {
            ec = hec;
            co_return nullptr;
        }
    }
    stream.expires_never();
    co_return conn;
}

void Pool::release(const Origin& origin, std::unique_ptr<Conn> conn) {
    if (conn->bridged) return;  // its stream is over; the HTTP/2 connection stays
    auto it = idle_.find(origin);
    if (it == idle_.end()) {
        IdleKey key{origin.tls, origin.http2, origin.port, origin.host, origin.ca_file};
        it = idle_.try_emplace(std::move(key)).first;
    }
    auto& list = it->second;
    if (list.size() >= kMaxIdlePerOrigin) return;  // closes it
    conn->tcp().expires_never();
    conn->idle_since = std::chrono::steady_clock::now();
    conn->buffer.clear();
    list.push_back(std::move(conn));
    if (!sweep_armed_) arm_sweep();
}

void Pool::arm_sweep() {
    sweep_armed_ = true;
    sweep_.expires_after(kSweepInterval);
    sweep_.async_wait([this, alive = std::weak_ptr<char>(alive_)](const boost::system::error_code& ec) {
        if (ec || alive.expired()) return;
        sweep();
    });
}

void Pool::sweep() {
    sweep_armed_ = false;
    const auto now = std::chrono::steady_clock::now();
    bool any_left = false;
    for (auto& [key, list] : idle_) {
        std::erase_if(list, [&](const std::unique_ptr<Conn>& c) { return !reusable(*c, now); });
        any_left = any_left || !list.empty();
    }
    if (any_left) arm_sweep();
}

}  // namespace ccr::worker::upstream
