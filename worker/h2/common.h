#pragma once
// Pieces the two HTTP/2 bridges share (connection.h for clients, upstream.h for providers).

#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

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
        if (name.size() != f.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < f.size() && same; ++i) {
            char c = name[i];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            same = c == f[i];
        }
        if (same) return true;
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

}  // namespace ccr::worker::h2
