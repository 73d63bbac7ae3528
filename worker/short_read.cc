#include "worker/short_read.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/error.hpp>

namespace ccr::worker {

bool enable_drain_hint(boost::asio::ip::tcp::socket& socket) {
    const int on = 1;
    return ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_INQ, &on, sizeof on) == 0;
}

bool receive_noting_drain(int socket, void* data, std::size_t size, int flags, bool is_stream,
                          boost::system::error_code& ec, std::size_t& bytes_transferred, bool& drained) {
    iovec iov{data, size};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    for (;;) {
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        const ssize_t n = ::recvmsg(socket, &msg, flags);
        if (n < 0) {
            const int err = errno;
            if (err == EINTR) continue;
            if (err == EAGAIN || err == EWOULDBLOCK) return false;
            ec.assign(err, boost::asio::error::get_system_category());
            bytes_transferred = 0;
            return true;
        }
        ec.assign(0, ec.category());
        if (is_stream && n == 0) {
            ec = boost::asio::error::eof;
            bytes_transferred = 0;
            return true;
        }
        bytes_transferred = static_cast<std::size_t>(n);
        drained = false;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == IPPROTO_TCP && c->cmsg_type == TCP_CM_INQ &&
                c->cmsg_len >= CMSG_LEN(sizeof(int))) {
                int left = 0;
                std::memcpy(&left, CMSG_DATA(c), sizeof left);
                drained = left == 0;  // a pending FIN counts as 1 (the kernel's tcp_inq_hint)
            }
        }
        return true;
    }
}

}  // namespace ccr::worker
