#pragma once
// How the request path writes: as much per system call as the socket takes, and without Asio's
// machinery when the socket takes it all at once.
//
// Asio's async_read and async_write move at most 64 KiB per system call (transfer_all's cap).
// With `all_at_once` as the completion condition each call moves as much as the socket takes:
// a 500 KiB request body goes out in one or two sendmsg calls instead of eight, and a relayed
// piece of 64 KiB and its chunk framing in one.

#include <cstddef>
#include <limits>
#include <optional>
#include <span>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/system/error_code.hpp>

namespace ccr::worker {

struct AllAtOnce {
    std::size_t operator()(const boost::system::error_code& ec, std::size_t) const {
        return ec ? 0 : std::numeric_limits<std::size_t>::max();
    }
};
inline constexpr AllAtOnce all_at_once{};

/// `buffers` less their first `skip` bytes, for the write of the rest.
class Remaining {
  public:
    Remaining(std::span<const boost::asio::const_buffer> buffers, std::size_t skip);
    std::span<const boost::asio::const_buffer> span() const { return {rest_.data(), rest_.size()}; }

  private:
    boost::container::small_vector<boost::asio::const_buffer, 8> rest_;
};

/// Writes to a plain TCP socket what it takes now, without waiting (one `sendmsg` with
/// MSG_DONTWAIT): nothing is returned when it took everything, else what is left for an
/// asynchronous write to wait out (or to report the error: a failed or closed socket takes
/// nothing here). A null `socket` (a TLS stream) takes nothing. A relayed request's head and
/// body, and an answer's pieces, nearly always fit the socket's send buffer whole: this spares
/// each of those writes Asio's write operation, its completion through the scheduler and the
/// coroutine's suspension and resumption (about 1 600 instructions), for the same one system
/// call as Asio's own first attempt. A read at once after a write that went out whole would
/// mostly fail (the peer has not answered yet): the callers' reads that follow wait for epoll
/// instead where the socket is known to be empty (short_read.h; bench/analysis.md, rows 29-33).
std::optional<Remaining> write_now(boost::asio::ip::tcp::socket* socket,
                                   std::span<const boost::asio::const_buffer> buffers);

}  // namespace ccr::worker
