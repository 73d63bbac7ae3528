// Several processes on one real segment: the limits and the breaker hold for the whole service,
// not per worker.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <vector>

#include "shared/clock.h"
#include "shared/stats/segment.h"
#include "tests/shared/stats/segment_test_util.h"
#include "worker/health/breaker.h"
#include "worker/limits/gcra.h"

namespace ccr::worker {
namespace {

using shared::stats::Segment;
using shared::stats::testing::ScopedName;

constexpr int kChildren = 4;

/// Forks kChildren processes that wait for a common start, run `body` (which returns a count)
/// and report it; returns the counts.
std::vector<std::int64_t> run_children(const std::function<std::int64_t()>& body) {
    int go[2];
    int results[2];
    EXPECT_EQ(::pipe(go), 0);
    EXPECT_EQ(::pipe(results), 0);
    std::vector<pid_t> pids;
    for (int i = 0; i < kChildren; ++i) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::close(go[1]);
            char c = 0;
            const bool started = ::read(go[0], &c, 1) == 1;
            const std::int64_t n = started ? body() : -1;
            ::_exit(::write(results[1], &n, sizeof n) == sizeof n ? 0 : 1);
        }
        pids.push_back(pid);
    }
    ::close(go[0]);
    ::close(results[1]);
    const char start[kChildren] = {};
    EXPECT_EQ(::write(go[1], start, sizeof start), static_cast<ssize_t>(sizeof start));
    ::close(go[1]);
    std::vector<std::int64_t> counts;
    for (int i = 0; i < kChildren; ++i) {
        std::int64_t n = 0;
        EXPECT_EQ(::read(results[0], &n, sizeof n), static_cast<ssize_t>(sizeof n));
        counts.push_back(n);
    }
    ::close(results[0]);
    for (pid_t pid : pids) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    return counts;
}

TEST(CrossProcess, AGcraLimitAdmitsExactlyTheLimitAcrossProcesses) {
    ScopedName name;
    auto master = Segment::create(name.get());
    const int row = master->key_row("anthropic", shared::stats::key_fingerprint("sk-test"));
    ASSERT_GE(row, 0);
    const shared::FakeClock clock;  // one instant: nothing refills while they race
    const std::vector<std::int64_t> admitted = run_children([&] {
        auto seg = Segment::open(name.get(), true);
        limits::Gcra rpm(seg->layout().keys[row].rpm_tat, 500);
        std::int64_t n = 0;
        for (int i = 0; i < 2'000; ++i) n += rpm.try_take(1, clock.mono_ms()).ok ? 1 : 0;
        return n;
    });
    std::int64_t total = 0;
    for (std::int64_t n : admitted) total += n;
    EXPECT_EQ(total, 500);
}

TEST(CrossProcess, ABreakerOpensOnceWithOneProcessSeeingTheTransition) {
    ScopedName name;
    auto master = Segment::create(name.get());
    const int row = master->provider_row("flaky");
    const shared::FakeClock clock;
    const std::vector<std::int64_t> transitions = run_children([&] {
        auto seg = Segment::open(name.get(), true);
        health::Breaker breaker(seg->layout().providers[row].breaker, {3, 30'000, 1});
        std::int64_t opened = 0;
        for (int i = 0; i < 500; ++i) {
            opened += breaker.on_failure(clock.mono_ms()) == health::Transition::opened ? 1 : 0;
        }
        return opened;
    });
    std::int64_t total = 0;
    for (std::int64_t n : transitions) total += n;
    EXPECT_EQ(total, 1);
    health::Breaker view(master->layout().providers[row].breaker, {3, 30'000, 1});
    EXPECT_EQ(view.state(clock.mono_ms()), health::BreakerState::open);
    EXPECT_EQ(view.open_until(), clock.mono_ms() + 30'000);
}

TEST(CrossProcess, OneProcessMovesAnExpiredBreakerToHalfOpen) {
    ScopedName name;
    auto master = Segment::create(name.get());
    const int row = master->provider_row("flaky");
    shared::FakeClock clock;
    health::Breaker(master->layout().providers[row].breaker, {1, 1'000, 2})
        .on_failure(clock.mono_ms());
    clock.advance(1'000);
    const std::vector<std::int64_t> results = run_children([&] {
        auto seg = Segment::open(name.get(), true);
        health::Breaker breaker(seg->layout().providers[row].breaker, {1, 1'000, 2});
        std::int64_t allowed = 0, half_opened = 0;
        for (int i = 0; i < 100; ++i) {
            const auto a = breaker.allow(clock.mono_ms());
            allowed += a.allowed ? 1 : 0;
            half_opened += a.transition == health::Transition::half_opened ? 1 : 0;
        }
        return allowed * 1000 + half_opened;
    });
    std::int64_t allowed = 0, half_opened = 0;
    for (std::int64_t r : results) {
        allowed += r / 1000;
        half_opened += r % 1000;
    }
    EXPECT_EQ(half_opened, 1);
    EXPECT_EQ(allowed, 2) << "the round's two probes, service-wide";
}

}  // namespace
}  // namespace ccr::worker
