#pragma once
// Asio's async_read and async_write move at most 64 KiB per system call (transfer_all's cap).
// With `all_at_once` as the completion condition each call moves as much as the socket takes:
// a 500 KiB request body goes out in one or two sendmsg calls instead of eight, and a relayed
// piece of 64 KiB and its chunk framing in one.

#include <cstddef>
#include <limits>

#include <boost/system/error_code.hpp>

namespace ccr::worker {

struct AllAtOnce {
    std::size_t operator()(const boost::system::error_code& ec, std::size_t) const {
        return ec ? 0 : std::numeric_limits<std::size_t>::max();
    }
};
inline constexpr AllAtOnce all_at_once{};

}  // namespace ccr::worker
