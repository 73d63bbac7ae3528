#include "worker/transfer.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>

namespace ccr::worker {

Remaining::Remaining(std::span<const boost::asio::const_buffer> buffers, std::size_t skip) {
    for (const auto& b : buffers) {
        if (skip >= b.size()) {
            skip -= b.size();
            continue;
        }
        rest_.push_back(b + skip);
        skip = 0;
    }
}

std::optional<Remaining> write_now(boost::asio::ip::tcp::socket* socket,
                                   std::span<const boost::asio::const_buffer> buffers) {
    if (socket == nullptr || !socket->is_open()) return std::optional<Remaining>(std::in_place, buffers, 0);
    std::array<iovec, 16> iov;  // more pieces than this: the rest goes asynchronously
    const std::size_t n = std::min(buffers.size(), iov.size());
    std::size_t total = 0;
    for (std::size_t i = 0; i < n; ++i) {
        iov[i].iov_base = const_cast<void*>(buffers[i].data());
        iov[i].iov_len = buffers[i].size();
        total += buffers[i].size();
    }
    if (total == 0 && n == buffers.size()) return std::nullopt;  // nothing to write
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = n;
    const ssize_t sent = ::sendmsg(socket->native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent > 0 && static_cast<std::size_t>(sent) == total && n == buffers.size()) return std::nullopt;
    return std::optional<Remaining>(std::in_place, buffers, sent > 0 ? static_cast<std::size_t>(sent) : 0);
}

}  // namespace ccr::worker
