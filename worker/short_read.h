#pragma once
// A read buffer that teaches Asio's reactor what nginx knows: once a receive has left nothing in
// the socket, the next receive on it should wait for the socket's next readiness event instead
// of trying first.
//
// Asio's epoll reactor tries every operation on a socket before it queues it (a "speculative"
// receive), unless the last one on that socket reported `done_and_exhausted`; then it queues the
// operation without a system call and performs it when epoll reports the socket readable (edge
// triggered: bytes or a FIN arriving after the drain raise a new event). A stream receive reports
// `done_and_exhausted` only for the end of the stream, so after each answer the relay's next read
// (the upstream's answer after the request went out, the client's next request after the answer
// went out, the next piece of an event stream) was a `recv` that found nothing: ~1.2 of ~5.4
// system calls per small request, at ~1.4 µs each on the benchmark's VM (bench/analysis.md,
// row 33). nginx clears a socket's `ready` flag after a short read unless epoll reported the
// peer's FIN (EPOLLRDHUP; ngx_unix_recv) and makes none.
//
// A short receive alone does not mean the socket is drained: a FIN that came with the last bytes
// is still to be read (as the end of the stream) and raises no further event, so a read waiting
// for one would wait forever. Asio does not ask epoll for EPOLLRDHUP; the kernel says it instead:
// with TCP_INQ on (enable_drain_hint), each receive returns how much is left after it, and a
// pending FIN counts as something left (tcp_inq_hint). So `ShortReadDrains` reports
// `done_and_exhausted` exactly when the kernel said nothing is left, on a TCP socket that has the
// hint on; other sockets (a Unix socket pair, a socket without the hint) behave as Asio's own.
//
// Asio instantiates its receive operation for the buffer's type; the specialisation below is
// Asio's own but for the receive (recvmsg with room for the hint) and the exhausted rule. Only for
// Boost 1.81's epoll reactor (Debian 12's), whose internals it mirrors; elsewhere
// `ShortReadDrains` is an ordinary buffer (CCR_SHORT_READ_DRAINS is 0).

#include <cstddef>

#include <boost/asio/basic_stream_socket.hpp>  // first: the detail header below is not self-contained
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <boost/version.hpp>

namespace ccr::worker {

struct ShortReadDrains : boost::asio::mutable_buffer {
    explicit ShortReadDrains(boost::asio::mutable_buffer b) : boost::asio::mutable_buffer(b) {}
};

/// Turns on TCP_INQ (what is left after each receive) for ShortReadDrains' reads of `socket`.
/// False where the kernel refuses (the socket's reads then behave as Asio's own).
bool enable_drain_hint(boost::asio::ip::tcp::socket& socket);

/// Asio's non_blocking_recv1, but by recvmsg, reporting in `drained` whether the kernel said
/// nothing is left in the socket after this receive (false when it said nothing: no hint).
/// False: the receive would block.
bool receive_noting_drain(int socket, void* data, std::size_t size, int flags, bool is_stream,
                          boost::system::error_code& ec, std::size_t& bytes_transferred, bool& drained);

}  // namespace ccr::worker

#if BOOST_VERSION == 108100 && defined(__linux__) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT) && \
    !defined(BOOST_ASIO_DISABLE_EPOLL)
#define CCR_SHORT_READ_DRAINS 1

#include <boost/asio/detail/reactive_socket_recv_op.hpp>

namespace boost::asio::detail {

template <>
class reactive_socket_recv_op_base<ccr::worker::ShortReadDrains> : public reactor_op {
public:
    reactive_socket_recv_op_base(const boost::system::error_code& success_ec,
                                 socket_type socket,
                                 socket_ops::state_type state,
                                 const ccr::worker::ShortReadDrains& buffers,
                                 socket_base::message_flags flags,
                                 func_type complete_func)
        : reactor_op(success_ec, &reactive_socket_recv_op_base::do_perform, complete_func),
          socket_(socket),
          state_(state),
          buffers_(buffers),
          flags_(flags) {}

    static status do_perform(reactor_op* base) {
        auto* o = static_cast<reactive_socket_recv_op_base*>(base);
        const bool stream = (o->state_ & socket_ops::stream_oriented) != 0;
        bool drained = false;
        if (!ccr::worker::receive_noting_drain(o->socket_, o->buffers_.data(), o->buffers_.size(), o->flags_, stream,
                                               o->ec_, o->bytes_transferred_, drained))
            return not_done;
        // Asio's own rule (nothing received: the end of the stream, or an error), and the kernel's
        // word that nothing is left.
        return stream && (o->bytes_transferred_ == 0 || drained) ? done_and_exhausted : done;
    }

private:
    socket_type socket_;
    socket_ops::state_type state_;
    ccr::worker::ShortReadDrains buffers_;
    socket_base::message_flags flags_;
};

}  // namespace boost::asio::detail
#else
#define CCR_SHORT_READ_DRAINS 0
#endif
