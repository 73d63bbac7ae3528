#pragma once
// A connected pair of TCP sockets over 127.0.0.1, for unit tests of code that takes a socket.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace ccr::worker::testing {

struct Loopback {
    boost::asio::ip::tcp::socket near;  // the side under test (the relay's)
    boost::asio::ip::tcp::socket far;   // its peer (a client, an upstream)
};

inline Loopback connect_loopback(boost::asio::io_context& ioc) {
    using tcp = boost::asio::ip::tcp;
    tcp::acceptor acceptor(ioc, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket far(ioc);
    far.connect(acceptor.local_endpoint());
    return {acceptor.accept(), std::move(far)};
}

}  // namespace ccr::worker::testing
