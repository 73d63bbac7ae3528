// ShortReadDrains: after a receive that left nothing in the socket (the kernel's TCP_INQ hint),
// the next receive on it waits for its readiness event instead of trying first (a `recv` that
// finds nothing); a FIN still to be read is not nothing.
// The system calls are counted with the kernel's sys_enter_recvfrom tracepoint for this thread
// (perf_event_open); where perf cannot count tracepoints the counting tests are skipped, and say so.
#include "worker/short_read.h"

#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "tests/worker/loopback.h"

namespace ccr::worker {
namespace {

namespace net = boost::asio;

// This thread's receive system calls (recvfrom: Asio's; recvmsg: ShortReadDrains'), or why they
// cannot be counted.
class RecvCount {
public:
    RecvCount() {
        for (const char* call : {"recvfrom", "recvmsg"}) {
            long long id = -1;
            for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
                std::ifstream in(std::string(root) + "/events/syscalls/sys_enter_" + call + "/id");
                if (in >> id) break;
            }
            if (id < 0) {
                why_ = std::string("no syscalls:sys_enter_") + call + " tracepoint readable (tracefs)";
                return;
            }
            perf_event_attr attr{};
            attr.type = PERF_TYPE_TRACEPOINT;
            attr.size = sizeof attr;
            attr.config = static_cast<unsigned long long>(id);
            const int fd = static_cast<int>(::syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
            if (fd < 0) {
                why_ = std::string("perf_event_open: ") + std::strerror(errno);
                return;
            }
            fds_.push_back(fd);
        }
    }
    ~RecvCount() {
        for (int fd : fds_) ::close(fd);
    }
    const std::string& unavailable() const { return why_; }
    long long now() const {
        long long sum = 0;
        for (int fd : fds_) {
            long long n = 0;
            if (::read(fd, &n, sizeof n) != sizeof n) return -1;
            sum += n;
        }
        return sum;
    }

private:
    std::vector<int> fds_;
    std::string why_;
};

// Runs `ioc` until `done` (bounded: a read that never completes fails the test, not hangs it).
void run_until(net::io_context& ioc, const bool& done) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done && std::chrono::steady_clock::now() < until) ioc.run_one_for(std::chrono::milliseconds(50));
    ioc.restart();
}

struct Read {
    bool done = false;
    boost::system::error_code ec;
    std::size_t n = 0;
};

template <class Buffer>
void start_read(net::ip::tcp::socket& s, Buffer b, Read& r) {
    r = {};
    s.async_read_some(b, [&r](boost::system::error_code ec, std::size_t n) {
        r.ec = ec;
        r.n = n;
        r.done = true;
    });
}

// The receives it takes to read "world", sent only after the read started, on a socket whose
// last read ("hello" into 64 bytes) was short.
template <class MakeBuffer>
long long receives_after_a_short_read(MakeBuffer make, const RecvCount& count, bool hint = true) {
    net::io_context ioc;
    auto p = testing::connect_loopback(ioc);
    if (hint) {
        EXPECT_TRUE(enable_drain_hint(p.near));
    }
    char buf[64];
    Read r;
    net::write(p.far, net::buffer(std::string_view("hello")));
    start_read(p.near, make(net::buffer(buf)), r);
    run_until(ioc, r.done);
    EXPECT_EQ(r.n, 5u);

    const long long before = count.now();
    start_read(p.near, make(net::buffer(buf)), r);
    ioc.poll();
    ioc.restart();
    EXPECT_FALSE(r.done);  // nothing there yet
    net::write(p.far, net::buffer(std::string_view("world")));
    run_until(ioc, r.done);
    const long long receives = count.now() - before;
    EXPECT_TRUE(r.done);
    EXPECT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(std::string_view(buf, r.n), "world");
    return receives;
}

TEST(ShortReadDrains, TheReadAfterAShortOneWaitsForTheSocketInsteadOfTrying) {
    if (!CCR_SHORT_READ_DRAINS) GTEST_SKIP() << "not Boost 1.81's epoll reactor: an ordinary buffer here";
    RecvCount count;
    if (!count.unavailable().empty()) GTEST_SKIP() << "cannot count system calls: " << count.unavailable();
    // Asio's own buffer: a receive that finds nothing, then the one after the event.
    EXPECT_EQ(receives_after_a_short_read([](net::mutable_buffer b) { return b; }, count), 2);
    // After a short read: only the one after the event.
    EXPECT_EQ(receives_after_a_short_read([](net::mutable_buffer b) { return ShortReadDrains(b); }, count), 1);
    // Without the kernel's hint, as Asio's own.
    EXPECT_EQ(receives_after_a_short_read([](net::mutable_buffer b) { return ShortReadDrains(b); }, count, false), 2);
}

// A loopback connection whose near end has the hint on, read by ShortReadDrains into 64 bytes.
class Drains : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(enable_drain_hint(p.near)); }
    void send(std::string_view bytes) { net::write(p.far, net::buffer(bytes)); }
    void start() { start_read(p.near, ShortReadDrains(net::buffer(buf)), r); }
    /// Runs the reactor until the read is done (at most 5 s).
    void finish() { run_until(ioc, r.done); }
    std::string_view got() const { return {buf, r.n}; }

    net::io_context ioc;
    testing::Loopback p = testing::connect_loopback(ioc);
    char buf[64];
    Read r;
};

TEST_F(Drains, AFinThatCameWithTheLastBytesIsReadAtOnce) {
    // A read waits; the bytes and the FIN arrive together, raising one event, which the read
    // takes the bytes on. Nothing raises another, so the read after it must not wait for one.
    start();
    ioc.poll();
    ioc.restart();
    ASSERT_FALSE(r.done);
    send("bytes, then the end");
    p.far.shutdown(net::socket_base::shutdown_send);
    ::usleep(10000);  // both there before the event is taken
    finish();
    ASSERT_EQ(got(), "bytes, then the end");
    start();
    finish();
    ASSERT_TRUE(r.done) << "the end of the stream was never read";
    EXPECT_EQ(r.ec, net::error::eof);
}

TEST_F(Drains, BytesThatArrivedBeforeTheReadStartedAreRead) {
    // The edge they raised is pending in epoll: the queued read is performed when it is taken.
    send("hello");
    start();
    finish();
    ASSERT_EQ(got(), "hello");
    send("again");
    start();
    finish();
    ASSERT_TRUE(r.done);
    EXPECT_EQ(got(), "again");
}

TEST_F(Drains, AFullReadStillTriesTheNextAtOnce) {
    // 100 bytes into 64: the socket holds more, so the next read is tried before any wait and
    // completes without the reactor (one poll runs it).
    const std::string data(100, 'x');
    send(data);
    // The loopback delivers the 100 bytes at once; wait until they are all there.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (p.near.available() < data.size() && std::chrono::steady_clock::now() < until) ::usleep(1000);
    start();
    finish();
    ASSERT_EQ(r.n, 64u);
    start();
    ioc.poll();
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.n, 36u);
}

TEST_F(Drains, TheEndOfTheStreamAfterAShortReadIsSeen) {
    send("last");
    start();
    finish();
    ASSERT_EQ(got(), "last");
    start();
    p.far.close();
    finish();
    ASSERT_TRUE(r.done);
    EXPECT_EQ(r.ec, net::error::eof);
}

}  // namespace
}  // namespace ccr::worker
