#include "shared/clock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

namespace ccr::shared {
namespace {

TEST(SystemClock, WallTimeIsTheUnixEpochInMilliseconds) {
    using namespace std::chrono;
    const auto expected = duration_cast<milliseconds>(system_clock::now().time_since_epoch());
    EXPECT_NEAR(static_cast<double>(shared::system_clock().unix_ms()),
                static_cast<double>(expected.count()), 1000.0);
}

TEST(SystemClock, MonotonicTimeIsTheSameInAChildProcess) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const std::int64_t before = system_clock().mono_ms();
    const pid_t pid = ::fork();
    if (pid == 0) {
        const std::int64_t t = system_clock().mono_ms();
        ::_exit(::write(fds[1], &t, sizeof t) == sizeof t ? 0 : 1);
    }
    std::int64_t child = 0;
    ASSERT_EQ(::read(fds[0], &child, sizeof child), static_cast<ssize_t>(sizeof child));
    ::waitpid(pid, nullptr, 0);
    ::close(fds[0]);
    ::close(fds[1]);
    const std::int64_t after = system_clock().mono_ms();
    EXPECT_GE(child, before);
    EXPECT_LE(child, after);
}

TEST(FakeClock, MovesOnlyWhenTold) {
    FakeClock c(100, 5'000);
    EXPECT_EQ(c.mono_ms(), 100);
    EXPECT_EQ(c.unix_ms(), 5'000);
    c.advance(50);
    EXPECT_EQ(c.mono_ms(), 150);
    EXPECT_EQ(c.unix_ms(), 5'050);
    c.set_unix_ms(1);
    c.set_mono_ms(2);
    EXPECT_EQ(c.unix_ms(), 1);
    EXPECT_EQ(c.mono_ms(), 2);
}

}  // namespace
}  // namespace ccr::shared
