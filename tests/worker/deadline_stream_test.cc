#include "worker/deadline_stream.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace ccr::worker {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// A connected loopback pair: `stream` under test, `peer` a plain socket.
struct Pair {
    net::io_context ioc;
    tcp::acceptor acceptor{ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
    std::optional<DeadlineStream> stream;
    tcp::socket peer{ioc};

    Pair() {
        tcp::socket s(ioc);
        s.connect(acceptor.local_endpoint());
        acceptor.accept(peer);
        stream.emplace(std::move(s));
    }
};

struct ReadResult {
    bool done = false;
    boost::system::error_code ec;
    std::size_t n = 0;
    clock::time_point at;
};

void start_read(Pair& p, std::array<char, 16>& buf, ReadResult& r) {
    p.stream->async_read_some(net::buffer(buf), [&r](boost::system::error_code ec, std::size_t n) {
        r = {true, ec, n, clock::now()};
    });
}

TEST(DeadlineStream, APendingReadEndsWithTimeoutAtTheDeadline) {
    Pair p;
    std::array<char, 16> buf;
    ReadResult r;
    const auto start = clock::now();
    p.stream->expires_after(50ms);
    start_read(p, buf, r);
    p.ioc.run_for(2s);
    ASSERT_TRUE(r.done);
    EXPECT_EQ(r.ec, boost::beast::error::timeout);
    EXPECT_GE(r.at - start, 50ms);
    EXPECT_LT(r.at - start, 1s);
    EXPECT_FALSE(p.stream->socket().is_open());
}

TEST(DeadlineStream, EveryOperationAfterATimeoutEndsWithTimeout) {
    Pair p;
    std::array<char, 16> buf;
    ReadResult r;
    p.stream->expires_after(10ms);
    start_read(p, buf, r);
    p.ioc.run_for(2s);
    ASSERT_EQ(r.ec, boost::beast::error::timeout);

    p.ioc.restart();
    bool wrote = false;
    boost::system::error_code wec;
    p.stream->async_write_some(net::buffer("x", 1), [&](boost::system::error_code ec, std::size_t) {
        wrote = true;
        wec = ec;
    });
    bool connected = false;
    boost::system::error_code cec;
    p.stream->async_connect(p.acceptor.local_endpoint(), [&](boost::system::error_code ec) {
        connected = true;
        cec = ec;
    });
    p.ioc.run_for(2s);
    ASSERT_TRUE(wrote);
    EXPECT_EQ(wec, boost::beast::error::timeout);
    ASSERT_TRUE(connected);
    EXPECT_EQ(cec, boost::beast::error::timeout);
}

TEST(DeadlineStream, ALaterDeadlineSetWhileTheTimerIsArmedHoldsTheReadUntilIt) {
    // The timer armed for the first deadline fires, finds the later one and re-arms for it.
    Pair p;
    std::array<char, 16> buf;
    ReadResult r;
    const auto start = clock::now();
    p.stream->expires_after(30ms);
    p.stream->expires_after(300ms);
    start_read(p, buf, r);
    p.ioc.run_for(2s);
    ASSERT_TRUE(r.done);
    EXPECT_EQ(r.ec, boost::beast::error::timeout);
    EXPECT_GE(r.at - start, 300ms);
}

TEST(DeadlineStream, AnEarlierDeadlineTakesEffectForAReadAlreadyPending) {
    Pair p;
    std::array<char, 16> buf;
    ReadResult r;
    const auto start = clock::now();
    p.stream->expires_after(1h);
    start_read(p, buf, r);
    p.ioc.run_for(20ms);
    EXPECT_FALSE(r.done);
    p.stream->expires_after(30ms);
    p.ioc.run_for(2s);
    ASSERT_TRUE(r.done);
    EXPECT_EQ(r.ec, boost::beast::error::timeout);
    EXPECT_LT(r.at - start, 1s);
}

TEST(DeadlineStream, NoDeadlineLeavesAPendingReadAloneAndDataCompletesIt) {
    Pair p;
    std::array<char, 16> buf;
    ReadResult r;
    p.stream->expires_after(20ms);
    p.stream->expires_never();
    start_read(p, buf, r);
    p.ioc.run_for(150ms);
    EXPECT_FALSE(r.done) << "read ended: " << r.ec.message();
    net::write(p.peer, net::buffer("hello", 5));
    p.ioc.run_for(2s);
    ASSERT_TRUE(r.done);
    EXPECT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.n, 5u);
    EXPECT_TRUE(p.stream->socket().is_open());
}

TEST(DeadlineStream, ReadsAndWritesBeforeTheDeadlineAreUntouched) {
    Pair p;
    p.stream->expires_after(100ms);
    bool wrote = false;
    p.stream->async_write_some(
        net::buffer("ping", 4),
        [&](boost::system::error_code ec, std::size_t n) { wrote = !ec && n == 4; });
    p.ioc.run_for(50ms);
    EXPECT_TRUE(wrote);
    std::array<char, 4> got;
    net::read(p.peer, net::buffer(got));
    EXPECT_EQ(std::string_view(got.data(), 4), "ping");
}

TEST(DeadlineStream, DestroyingTheStreamCancelsItsTimer) {
    // A far deadline's wait would keep the io_context busy (and the state alive) for an hour.
    Pair p;
    p.stream->expires_after(1h);
    p.stream.reset();
    p.acceptor.close();
    p.peer.close();
    const auto start = clock::now();
    p.ioc.run_for(2s);
    EXPECT_LT(clock::now() - start, 1s);
    EXPECT_TRUE(p.ioc.stopped());
}

}  // namespace
}  // namespace ccr::worker
