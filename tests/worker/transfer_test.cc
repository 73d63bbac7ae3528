// write_now: what a plain socket takes at once is written without the io_context running; what it
// does not take (a full send buffer, a closed socket, a TLS stream's null socket) is left, exactly,
// for the asynchronous write.
#include "worker/transfer.h"

#include <sys/socket.h>

#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "tests/worker/loopback.h"

namespace ccr::worker {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string joined(std::span<const net::const_buffer> buffers) {
    std::string out;
    for (const auto& b : buffers) out.append(static_cast<const char*>(b.data()), b.size());
    return out;
}

TEST(Remaining, SkipsWholeAndPartBuffers) {
    const std::string a = "HTTP/1.1 200 OK\r\n\r\n", b = "5\r\n", c = "hello", d = "\r\n";
    const std::array<net::const_buffer, 4> bufs{net::buffer(a), net::buffer(b), net::buffer(c), net::buffer(d)};
    const std::string all = a + b + c + d;
    for (std::size_t skip = 0; skip <= all.size(); ++skip) {
        const Remaining rest(bufs, skip);
        EXPECT_EQ(joined(rest.span()), all.substr(skip)) << skip;
        for (const auto& piece : rest.span()) EXPECT_GT(piece.size(), 0u) << skip;
    }
}

TEST(WriteNow, WritesWhatFitsWithoutTheEventLoop) {
    net::io_context ioc;
    auto p = testing::connect_loopback(ioc);
    const std::string head = "POST /v1/messages HTTP/1.1\r\nContent-Length: 5\r\n\r\n", body = "{\"a\"}";
    const std::array<net::const_buffer, 2> bufs{net::buffer(head), net::buffer(body)};
    EXPECT_FALSE(write_now(&p.near, bufs).has_value());  // all taken
    std::string got(head.size() + body.size(), '\0');
    net::read(p.far, net::buffer(got));  // there without ioc.run()
    EXPECT_EQ(got, head + body);
    EXPECT_EQ(ioc.poll(), 0u);  // and nothing was queued
}

TEST(WriteNow, NothingToWriteIsDone) {
    net::io_context ioc;
    auto p = testing::connect_loopback(ioc);
    const std::array<net::const_buffer, 1> empty{net::const_buffer()};
    EXPECT_FALSE(write_now(&p.near, empty).has_value());
}

TEST(WriteNow, ATlsStreamOrAClosedSocketLeavesEverything) {
    net::io_context ioc;
    auto p = testing::connect_loopback(ioc);
    const std::string text = "data: {}\n\n";
    const std::array<net::const_buffer, 1> bufs{net::buffer(text)};
    auto rest = write_now(nullptr, bufs);
    ASSERT_TRUE(rest.has_value());
    EXPECT_EQ(joined(rest->span()), text);
    p.near.close();
    rest = write_now(&p.near, bufs);
    ASSERT_TRUE(rest.has_value());
    EXPECT_EQ(joined(rest->span()), text);
}

TEST(WriteNow, AFullSendBufferLeavesTheRestForTheAsynchronousWrite) {
    net::io_context ioc;
    auto p = testing::connect_loopback(ioc);
    int size = 64 * 1024;  // the kernel doubles it; far less than the text either way
    ::setsockopt(p.near.native_handle(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    ::setsockopt(p.far.native_handle(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    std::string text(2 << 20, '\0');
    for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + i % 26);
    const std::array<net::const_buffer, 2> bufs{net::buffer(text.data(), 1000),
                                                net::buffer(text.data() + 1000, text.size() - 1000)};
    auto rest = write_now(&p.near, bufs);
    ASSERT_TRUE(rest.has_value());
    const std::size_t left = net::buffer_size(rest->span());
    EXPECT_GT(left, 0u);
    EXPECT_LT(left, text.size());
    std::string got(text.size(), '\0');
    bool wrote = false;
    net::async_write(p.near, rest->span(), [&](boost::system::error_code ec, std::size_t n) {
        EXPECT_FALSE(ec);
        EXPECT_EQ(n, left);
        wrote = true;
    });
    net::async_read(p.far, net::buffer(got), [](boost::system::error_code ec, std::size_t) { EXPECT_FALSE(ec); });
    ioc.run();
    EXPECT_TRUE(wrote);
    EXPECT_TRUE(got == text);
}

TEST(WriteNow, APeerThatLeftLeavesTheErrorToTheAsynchronousWrite) {
    net::io_context ioc;
    auto p = testing::connect_loopback(ioc);
    p.far.set_option(net::socket_base::linger(true, 0));
    p.far.close();  // reset: a write now fails (no SIGPIPE: the test process would die)
    const std::string text = "event: ping\n\n";
    const std::array<net::const_buffer, 1> bufs{net::buffer(text)};
    std::optional<Remaining> rest;
    for (int i = 0; i < 100 && !rest; ++i) rest = write_now(&p.near, bufs);  // the reset lands
    ASSERT_TRUE(rest.has_value());
    EXPECT_EQ(joined(rest->span()), text);
    boost::system::error_code got;
    net::async_write(p.near, rest->span(), [&](boost::system::error_code ec, std::size_t) { got = ec; });
    ioc.run();
    EXPECT_TRUE(got);
}

}  // namespace
}  // namespace ccr::worker
