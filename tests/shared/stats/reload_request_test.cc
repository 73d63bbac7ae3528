#include "shared/stats/reload_request.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/shared/stats/segment_test_util.h"

namespace ccr::shared::stats {
namespace {

using testing::ScopedName;

/// A child standing in for the master: it ignores SIGHUP (so the signal is delivered and
/// survived) and waits to be killed. The pipe makes sure SIGHUP is ignored before it is sent.
class FakeMaster {
  public:
    FakeMaster() {
        int fds[2];
        EXPECT_EQ(::pipe(fds), 0);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::signal(SIGHUP, SIG_IGN);
            char c = 'r';
            (void)!::write(fds[1], &c, 1);
            for (;;) ::pause();
        }
        ::close(fds[1]);
        char c;
        EXPECT_EQ(::read(fds[0], &c, 1), 1);
        ::close(fds[0]);
    }
    ~FakeMaster() { stop(); }
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = 0;
    }
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = 0;
};

TEST(ReloadRequest, IsNotSentToAMasterThatIsNotRunning) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    FakeMaster master;
    const pid_t pid = master.pid();
    master.stop();
    auto sent = ReloadRequest::send(*seg, pid);
    ASSERT_TRUE(std::holds_alternative<std::string>(sent));
    EXPECT_EQ(std::get<std::string>(sent),
              "no running cc-relay master: pid " + std::to_string(pid) + " is not running");
}

TEST(ReloadRequest, WaitsForAnOutcomeRecordedAfterTheSignal) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    seg->set_reload_result(false, 1, "an older failure");  // before the request: not its outcome
    FakeMaster master;
    auto sent = ReloadRequest::send(*seg, master.pid());
    ASSERT_TRUE(std::holds_alternative<ReloadRequest>(sent));
    const auto& request = std::get<ReloadRequest>(sent);
    EXPECT_FALSE(request.poll().has_value());
    seg->set_reload_result(true, 7, "reloaded");
    const auto outcome = request.poll();
    ASSERT_TRUE(outcome.has_value());
    EXPECT_TRUE(outcome->ok);
    EXPECT_EQ(outcome->generation, 7u);
    EXPECT_EQ(outcome->text, "reloaded: generation 7");
}

TEST(ReloadRequest, ReportsAFailureInCcRelayReloadsWords) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    FakeMaster master;
    const auto request = std::get<ReloadRequest>(ReloadRequest::send(*seg, master.pid()));
    seg->set_reload_result(false, 3, "config.yaml:2:3: routing.strategy: unknown");
    const auto outcome = request.poll();
    ASSERT_TRUE(outcome.has_value());
    EXPECT_FALSE(outcome->ok);
    EXPECT_FALSE(outcome->master_gone);
    EXPECT_EQ(outcome->text, "reload failed: config.yaml:2:3: routing.strategy: unknown");
}

TEST(ReloadRequest, ReportsAMasterThatExitedWithoutAnOutcome) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    FakeMaster master;
    const pid_t pid = master.pid();
    const auto request = std::get<ReloadRequest>(ReloadRequest::send(*seg, pid));
    master.stop();
    const auto outcome = request.poll();
    ASSERT_TRUE(outcome.has_value());
    EXPECT_TRUE(outcome->master_gone);
    EXPECT_EQ(outcome->text,
              "the master (pid " + std::to_string(pid) + ") exited during the reload");
    EXPECT_EQ(request.timeout_text(5), "no reload outcome from the master (pid " +
                                           std::to_string(pid) + ") within 5 s; see its log");
}

}  // namespace
}  // namespace ccr::shared::stats
