#pragma once
// A client connection as the request path sees it: plain TCP (server.listen) or TLS over TCP
// (server.tls.listen). One concrete type with Beast's stream interface, so the session, the
// relay and the error writers are written once; the plain path pays one branch per operation.
// Include it only where the client is read or written (it brings in OpenSSL's headers); other
// headers declare `class ClientStream;`.

#include <chrono>
#include <optional>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "worker/alpn.h"
#include "worker/deadline_stream.h"

namespace ccr::worker {

class ClientStream {
  public:
    using executor_type = DeadlineStream::executor_type;
    using tls_stream = boost::beast::ssl_stream<DeadlineStream>;

    /// TLS over the socket with `tls`, else plain TCP.
    ClientStream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context* tls) {
        if (tls) {
            tls_.emplace(std::move(socket), *tls);
        } else {
            plain_.emplace(std::move(socket));
        }
    }

    executor_type get_executor() { return tcp().get_executor(); }
    bool is_tls() const { return tls_.has_value(); }
    /// The TLS handshake chose HTTP/2 by ALPN (offered only when server.enable_http2 is on).
    bool negotiated_h2() { return tls_ && alpn_chose_h2(tls_->native_handle()); }
    tls_stream& tls() { return *tls_; }
    DeadlineStream& tcp() { return tls_ ? tls_->next_layer() : *plain_; }
    boost::asio::ip::tcp::socket& socket() { return tcp().socket(); }
    /// The socket when the connection is plain TCP (written to directly: transfer.h), else null.
    boost::asio::ip::tcp::socket* plain_socket() { return plain_ ? &plain_->socket() : nullptr; }

    // Timeouts and closing act on the TCP connection under TLS too.
    void expires_at(std::chrono::steady_clock::time_point t) { tcp().expires_at(t); }
    void expires_after(std::chrono::steady_clock::duration d) { tcp().expires_after(d); }
    void expires_never() { tcp().expires_never(); }
    void cancel() { tcp().cancel(); }
    void close() { tcp().close(); }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
        return plain_->async_read_some(buffers, std::forward<Token>(token));
    }
    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
        return plain_->async_write_some(buffers, std::forward<Token>(token));
    }

  private:
    std::optional<DeadlineStream> plain_;
    std::optional<tls_stream> tls_;
};

}  // namespace ccr::worker
