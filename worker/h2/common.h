#pragma once
// Pieces the two HTTP/2 bridges share (connection.h for clients, upstream.h for providers).

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <nghttp2/nghttp2.h>

namespace ccr::worker::h2 {

/// Wakes one waiting coroutine; a notify with nobody waiting is kept for the next wait.
class Signal {
  public:
    explicit Signal(boost::asio::io_context& ioc) : timer_(ioc) {}
    void notify() {
        pending_ = true;
        timer_.cancel();
    }
    boost::asio::awaitable<void> wait() {
        if (!pending_) {
            timer_.expires_at(boost::asio::steady_timer::time_point::max());
            co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        }
        pending_ = false;
    }

  private:
    boost::asio::steady_timer timer_;
    bool pending_ = false;
};

/// Fields HTTP/2 forbids (RFC 9113 §8.2.2): HTTP/1.1's framing and connection management, which
/// HTTP/2 does itself. Case-insensitive.
inline bool connection_specific(std::string_view name) {
    for (std::string_view f : {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}) {
        if (boost::beast::iequals(name, f)) return true;
    }
    return false;
}

/// Appends `n` as an HTTP/1.1 chunk-size line ("1a2b\r\n").
inline void append_chunk_size(std::string& out, std::size_t n) {
    char buf[20];
    int k = 0;
    char digits[20];
    do {
        const unsigned d = static_cast<unsigned>(n & 0xf);
        digits[k++] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
        n >>= 4;
    } while (n != 0);
    for (int i = 0; i < k; ++i) buf[i] = digits[k - 1 - i];
    out.append(buf, static_cast<std::size_t>(k));
    out += "\r\n";
}

/// Logs how a bridge's task ended, when by an exception (a bug: the worker keeps serving).
void log_task_end(std::exception_ptr e);

/// An HTTP/1.1 message read back from a socket pair: its start line, its fields (names
/// lower-cased, connection-specific ones left out, as HTTP/2 wants them) and its body with the
/// HTTP/1.1 framing (length or chunks) removed, appended to `*body`.
template <bool isRequest>
class Http1Reader : public boost::beast::http::basic_parser<isRequest> {
    using string_view = boost::beast::string_view;
    using error_code = boost::beast::error_code;

  public:
    Http1Reader() {
        this->eager(true);
        this->header_limit(1024 * 1024);
        this->body_limit(boost::none);
    }

    std::string method, target;  // a request's
    int status = 0;               // a response's
    std::vector<std::pair<std::string, std::string>> fields;
    std::string* body = nullptr;

  private:
    void on_request_impl(boost::beast::http::verb, string_view m, string_view t, int, error_code&) override {
        method = m;
        target = t;
    }
    void on_response_impl(int code, string_view, int, error_code&) override { status = code; }
    void on_field_impl(boost::beast::http::field, string_view name, string_view value, error_code&) override {
        if (connection_specific(name)) return;
        std::string n(name);
        for (char& c : n) {
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        }
        fields.emplace_back(std::move(n), std::string(value));
    }
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
    std::size_t on_body_impl(string_view b, error_code&) override {
        body->append(b.data(), b.size());
        return b.size();
    }
    void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, string_view b, error_code&) override {
        body->append(b.data(), b.size());
        return b.size();
    }
    void on_finish_impl(error_code&) override {}
};

/// A stream's outgoing body on its way into DATA frames: bytes read from the socket pair wait
/// here until the peer's flow-control window takes them.
struct OutgoingBody {
    explicit OutgoingBody(boost::asio::io_context& ioc) : room(ioc) {}
    std::string bytes;
    std::size_t off = 0;
    bool done = false;  // the message is complete: EOF after the last byte
    Signal room;        // notified as bytes leave

    std::size_t size() const { return bytes.size() - off; }
    /// An nghttp2 data provider reading this body (`source.ptr` is the OutgoingBody).
    nghttp2_data_provider provider() {
        nghttp2_data_provider p{};
        p.source.ptr = this;
        p.read_callback = &OutgoingBody::read;
        return p;
    }

  private:
    static ssize_t read(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length, std::uint32_t* flags,
                        nghttp2_data_source* source, void*) {
        auto& b = *static_cast<OutgoingBody*>(source->ptr);
        const std::size_t n = std::min(length, b.size());
        std::memcpy(buf, b.bytes.data() + b.off, n);
        b.off += n;
        if (b.size() == 0) {
            b.bytes.clear();
            b.off = 0;
            if (b.done) {
                *flags |= NGHTTP2_DATA_FLAG_EOF;
            } else if (n == 0) {
                return NGHTTP2_ERR_DEFERRED;  // resumed when more is read from the pair
            }
        }
        b.room.notify();
        return static_cast<ssize_t>(n);
    }
};

/// A stream's incoming message on its way into the socket pair as HTTP/1.1: its head, its DATA
/// (in chunks when no length was given), and how many DATA bytes have not yet been given back
/// to the peer's flow-control window (they are once written into the pair).
struct IncomingBody {
    explicit IncomingBody(boost::asio::io_context& ioc) : ready(ioc) {}
    std::string bytes;
    std::size_t unconsumed = 0;
    bool chunked = false;
    Signal ready;  // notified as bytes arrive

    void append_data(const std::uint8_t* data, std::size_t len) {
        if (chunked) append_chunk_size(bytes, len);
        bytes.append(reinterpret_cast<const char*>(data), len);
        if (chunked) bytes += "\r\n";
        unconsumed += len;
        ready.notify();
    }
    void append_end() {
        if (chunked) bytes += "0\r\n\r\n";
        ready.notify();
    }
};

/// Writes `in` into `pair` as it fills until `over()` holds with nothing left to write (true),
/// or a write fails (false); DATA bytes written go back to stream `id`'s window, and `wake`
/// (the connection's writer) is told. Stops early once `dead` (the connection failed).
template <class Over>
boost::asio::awaitable<bool> feed_pair(boost::asio::local::stream_protocol::socket& pair,
                                       IncomingBody& in,
                                       nghttp2_session* session,
                                       const std::int32_t& id,
                                       const bool& dead,
                                       Signal& wake,
                                       Over over) {
    std::string sending;
    while (!dead) {
        if (in.bytes.empty()) {
            if (over()) co_return true;
            co_await in.ready.wait();
            continue;
        }
        sending.swap(in.bytes);
        const std::size_t consumed = std::exchange(in.unconsumed, 0);
        auto [ec, n] = co_await boost::asio::async_write(pair, boost::asio::buffer(sending),
                                                         boost::asio::as_tuple(boost::asio::use_awaitable));
        sending.clear();
        if (consumed > 0 && !dead) {
            nghttp2_session_consume(session, id, consumed);
            wake.notify();
        }
        if (ec) co_return false;
    }
    co_return true;
}

/// A header field for nghttp2 (copied by it).
inline nghttp2_nv field(std::string_view name, std::string_view value) {
    return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                      reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                      NGHTTP2_NV_FLAG_NONE};
}

/// Sends what nghttp2 has queued, up to about 64 KiB per write, until it has nothing more.
/// False when the session fails or the connection does.
template <class AsyncStream>
boost::asio::awaitable<bool> send_frames(AsyncStream& io, nghttp2_session* session, std::string& out) {
    constexpr std::size_t kWriteBatch = 64 * 1024;
    for (;;) {
        while (out.size() < kWriteBatch) {
            const std::uint8_t* data = nullptr;
            const ssize_t n = nghttp2_session_mem_send(session, &data);
            if (n < 0) co_return false;
            if (n == 0) break;
            out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
        }
        if (out.empty()) co_return true;
        auto [ec, written] =
            co_await boost::asio::async_write(io, boost::asio::buffer(out), boost::asio::as_tuple(boost::asio::use_awaitable));
        out.clear();
        if (ec) co_return false;
    }
}

}  // namespace ccr::worker::h2
