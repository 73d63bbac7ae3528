// The client watch: started on the socket only once its request has run for kGrace, then a client
// that hangs up (before or after the start) closes the guarded upstream connection; a watch ended
// within the grace period never touches the socket; pipelined bytes are not a hang-up.
#include "worker/upstream/client_watch.h"

#include <chrono>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "tests/worker/loopback.h"
#include "worker/upstream/pool.h"

namespace ccr::worker::upstream {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// Runs `ioc` until `done()` or 2 s have passed.
template <class Done>
bool run_until(net::io_context& ioc, Done done) {
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (!done() && std::chrono::steady_clock::now() < until) {
        ioc.restart();
        ioc.run_for(5ms);
    }
    return done();
}

void run_for(net::io_context& ioc, std::chrono::milliseconds d) {
    ioc.restart();
    ioc.run_for(d);
}

TEST(ClientWatch, StartsOnTheSocketOnlyAfterTheGracePeriod) {
    net::io_context ioc;
    ClientWatches watches(ioc);
    auto c = testing::connect_loopback(ioc);
    ClientWatch watch(watches, c.near);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(watches.pending(), 1u);
    run_for(ioc, ClientWatches::kGrace / 2);
    if (std::chrono::steady_clock::now() - t0 < ClientWatches::kGrace) {
        EXPECT_FALSE(watch.started());
        EXPECT_EQ(watches.pending(), 1u);
    }
    ASSERT_TRUE(run_until(ioc, [&] { return watch.started(); }));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, ClientWatches::kGrace);
    EXPECT_EQ(watches.pending(), 0u);
    EXPECT_FALSE(watch.client_gone());
}

TEST(ClientWatch, OneEndedWithinTheGracePeriodNeverStarts) {
    net::io_context ioc;
    ClientWatches watches(ioc);
    auto c = testing::connect_loopback(ioc);
    {
        ClientWatch watch(watches, c.near);
        EXPECT_EQ(watches.pending(), 1u);
    }
    EXPECT_EQ(watches.pending(), 0u);
    // A later watch is still started in its turn (the timer armed for the first finds nothing due
    // and arms again for it).
    run_for(ioc, ClientWatches::kGrace / 2);
    ClientWatch later(watches, c.near);
    ASSERT_TRUE(run_until(ioc, [&] { return later.started(); }));
}

TEST(ClientWatch, AHangUpAfterTheStartClosesTheGuardedUpstreamConnection) {
    net::io_context ioc;
    ClientWatches watches(ioc);
    auto c = testing::connect_loopback(ioc);
    auto up = testing::connect_loopback(ioc);
    Conn conn;
    conn.plain.emplace(std::move(up.near));
    ClientWatch watch(watches, c.near);
    watch.guard(&conn);
    ASSERT_TRUE(run_until(ioc, [&] { return watch.started(); }));
    EXPECT_TRUE(conn.tcp().socket().is_open());
    c.far.close();
    ASSERT_TRUE(run_until(ioc, [&] { return watch.client_gone(); }));
    EXPECT_FALSE(conn.tcp().socket().is_open());
}

TEST(ClientWatch, AHangUpWithinTheGracePeriodIsSeenWhenTheWatchStarts) {
    net::io_context ioc;
    ClientWatches watches(ioc);
    auto c = testing::connect_loopback(ioc);
    ClientWatch watch(watches, c.near);
    c.far.close();
    run_for(ioc, 10ms);
    EXPECT_FALSE(watch.client_gone());  // not looked at yet
    ASSERT_TRUE(run_until(ioc, [&] { return watch.client_gone(); }));
    EXPECT_TRUE(watch.started());
}

TEST(ClientWatch, PipelinedBytesAreNotAHangUpAndStayUnread) {
    net::io_context ioc;
    ClientWatches watches(ioc);
    auto c = testing::connect_loopback(ioc);
    {
        ClientWatch watch(watches, c.near);
        net::write(c.far, net::buffer(std::string_view("POST /v1/messages")));
        ASSERT_TRUE(run_until(ioc, [&] { return watch.started(); }));
        run_for(ioc, 20ms);
        EXPECT_FALSE(watch.client_gone());
    }
    run_for(ioc, 10ms);  // the ended watch's cancelled receive completes
    char got[17];
    EXPECT_EQ(net::read(c.near, net::buffer(got)), sizeof got);
    EXPECT_EQ(std::string_view(got, sizeof got), "POST /v1/messages");
}

TEST(ClientWatch, WatchesStartInTheOrderTheirGracePeriodsEnd) {
    net::io_context ioc;
    ClientWatches watches(ioc);
    auto a = testing::connect_loopback(ioc);
    auto b = testing::connect_loopback(ioc);
    ClientWatch first(watches, a.near);
    run_for(ioc, ClientWatches::kGrace * 6 / 10);
    ClientWatch second(watches, b.near);
    const auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(run_until(ioc, [&] { return first.started(); }));
    if (std::chrono::steady_clock::now() - t1 < ClientWatches::kGrace) {
        EXPECT_FALSE(second.started());
        EXPECT_EQ(watches.pending(), 1u);
    }
    ASSERT_TRUE(run_until(ioc, [&] { return second.started(); }));
    EXPECT_EQ(watches.pending(), 0u);
}

}  // namespace
}  // namespace ccr::worker::upstream
