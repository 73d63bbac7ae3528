// `cc-relay stats`, `status` and `reload` against a segment this test creates, with a forked
// process standing in for the master where one has to answer a signal.

#include <arpa/inet.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <thread>

#include "cli/commands.h"
#include "shared/stats/segment.h"
#include "tests/cli/cli_test_util.h"
#include "tests/shared/stats/segment_test_util.h"

namespace ccr::cli {
namespace {

namespace stats = shared::stats;
using testing::capture;
using testing::TempDir;

StatsOptions stats_options(const std::string& config, bool json = false, bool workers = false) {
    StatsOptions o;
    o.config_path = config;
    o.json = json;
    o.workers = workers;
    return o;
}

ReloadOptions reload_options(const std::string& config) {
    ReloadOptions o;
    o.config_path = config;
    o.timeout_s = 10;
    return o;
}

StatusOptions status_options(const std::string& config) {
    StatusOptions o;
    o.config_path = config;
    return o;
}

/// A loopback listener answering each connection with one fixed HTTP status.
class TinyHttp {
  public:
    explicit TinyHttp(int status) : status_(status) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0) {
            throw std::runtime_error("bind/listen failed");
        }
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~TinyHttp() {
        ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
        thread_.join();
        ::close(fd_);
    }
    int port() const { return port_; }

  private:
    void serve() {
        for (;;) {
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            std::string req;
            char buf[512];
            while (req.find("\r\n\r\n") == std::string::npos) {
                const ssize_t n = ::recv(c, buf, sizeof buf, 0);
                if (n <= 0) break;
                req.append(buf, static_cast<std::size_t>(n));
            }
            const std::string resp = "HTTP/1.1 " + std::to_string(status_) +
                                     " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
            ::close(c);
        }
    }
    int status_;
    int fd_ = -1;
    int port_ = 0;
    std::thread thread_;
};

class StatsCommandsTest : public ::testing::Test {
  protected:
    void SetUp() override { seg_ = stats::Segment::create(name_.get()); }
    void TearDown() override {
        if (fake_master_ > 0) {
            ::kill(fake_master_, SIGKILL);
            ::waitpid(fake_master_, nullptr, 0);
        }
    }

    std::string config(int port = 1, const std::string& extra = "") {
        const std::string path = dir_.file("config.yaml");
        testing::write_text(path, "server:\n  listen: \"127.0.0.1:" + std::to_string(port) +
                                      "\"\n  shm_name: " + name_.get() + "\n" + extra +
                                      "providers:\n  - name: anthropic\n    type: anthropic\n"
                                      "    enabled: true\n");
        return path;
    }
    void ready_worker(int slot, pid_t pid = ::getpid()) {
        auto& w = seg_->header().workers[slot];
        w.pid.store(pid);
        w.generation.store(1);
        w.state.store(static_cast<std::uint32_t>(stats::WorkerState::ready));
        w.started_unix_ms.store(stats::unix_ms_now());
    }
    /// A child that waits for SIGHUP and records `ok`/`message` as the reload outcome.
    void fork_fake_master(bool ok, const std::string& message) {
        sigset_t hup;
        sigemptyset(&hup);
        sigaddset(&hup, SIGHUP);
        sigset_t old;
        ::sigprocmask(SIG_BLOCK, &hup, &old);  // before fork: the child cannot miss it
        fake_master_ = ::fork();
        if (fake_master_ == 0) {
            int sig = 0;
            ::sigwait(&hup, &sig);
            auto mine = stats::Segment::open(name_.get(), true);
            mine->set_reload_result(ok, 5, message);
            ::pause();
            ::_exit(0);
        }
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        seg_->header().master_pid.store(fake_master_);
    }

    stats::testing::ScopedName name_;
    TempDir dir_;
    std::unique_ptr<stats::Segment> seg_;
    pid_t fake_master_ = 0;
};

TEST_F(StatsCommandsTest, StatsJsonReportsTheSegmentsCounters) {
    const int row = seg_->provider_row("anthropic");
    ready_worker(0);
    ready_worker(3);
    seg_->layout().counters[0][row].requests.store(40);
    seg_->layout().counters[3][row].requests.store(2);
    const auto out = capture([&] { return run_stats(stats_options(config(), true, false)); });
    ASSERT_EQ(out.code, 0) << out.err;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(out.out).get(doc), simdjson::SUCCESS) << out.out;
    EXPECT_EQ(doc["totals"]["requests"].get_uint64().value(), 42u);
    EXPECT_EQ(doc["workers"].get_array().value().size(), 2u);
    EXPECT_EQ(doc["master_pid"].get_int64().value(), ::getpid());
}

TEST_F(StatsCommandsTest, StatsTableHasATotalsRowAndWorkersOnRequest) {
    seg_->provider_row("anthropic");
    ready_worker(0);
    const auto out = capture([&] { return run_stats(stats_options(config(), false, true)); });
    ASSERT_EQ(out.code, 0) << out.err;
    EXPECT_NE(out.out.find("TOTAL"), std::string::npos) << out.out;
    EXPECT_NE(out.out.find("SLOT"), std::string::npos) << out.out;
}

TEST_F(StatsCommandsTest, StatsWithoutARunningInstanceSaysSo) {
    stats::Segment::remove(name_.get());
    try {
        run_stats(stats_options(config()));
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("no running cc-relay instance"), std::string::npos);
    }
}

TEST_F(StatsCommandsTest, ReloadPrintsTheGenerationTheMasterRecorded) {
    fork_fake_master(true, "");
    const auto out = capture([&] { return run_reload(reload_options(config())); });
    EXPECT_EQ(out.code, 0) << out.err;
    EXPECT_EQ(out.out, "reloaded: generation 5\n");
}

TEST_F(StatsCommandsTest, ReloadPrintsTheValidationErrorAndFails) {
    fork_fake_master(false, "config.yaml:3:5: unknown provider type \"nope\"");
    const auto out = capture([&] { return run_reload(reload_options(config())); });
    EXPECT_EQ(out.code, 1);
    EXPECT_EQ(out.err, "reload failed: config.yaml:3:5: unknown provider type \"nope\"\n");
}

TEST_F(StatsCommandsTest, ReloadUsesThePidFileWhenThereIsOne) {
    fork_fake_master(true, "");
    seg_->header().master_pid.store(0);
    const std::string pid_file = dir_.file("cc-relay.pid");
    testing::write_text(pid_file, std::to_string(fake_master_) + "\n");
    const auto out = capture(
        [&] { return run_reload(reload_options(config(1, "  pid_file: " + pid_file + "\n"))); });
    EXPECT_EQ(out.code, 0) << out.err;
}

TEST_F(StatsCommandsTest, ReloadWithoutALiveMasterFailsClearly) {
    const pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    ::waitpid(dead, nullptr, 0);
    seg_->header().master_pid.store(dead);
    const auto out = capture([&] { return run_reload(reload_options(config())); });
    EXPECT_EQ(out.code, 1);
    EXPECT_NE(out.err.find("no running cc-relay master: pid " + std::to_string(dead)),
              std::string::npos)
        << out.err;
}

TEST_F(StatsCommandsTest, StatusIsHealthyWhenMasterWorkersAndHealthAreAllWell) {
    TinyHttp http(200);
    seg_->header().configured_workers.store(2);
    ready_worker(0);
    ready_worker(1);
    const auto out = capture([&] { return run_status(status_options(config(http.port()))); });
    EXPECT_EQ(out.code, 0) << out.out << out.err;
    EXPECT_NE(out.out.find("workers:     2/2 ready"), std::string::npos) << out.out;
    EXPECT_NE(out.out.find("/health: 200"), std::string::npos) << out.out;
}

TEST_F(StatsCommandsTest, StatusFailsWhenAWorkerIsMissing) {
    TinyHttp http(200);
    seg_->header().configured_workers.store(2);
    ready_worker(0);
    const auto out = capture([&] { return run_status(status_options(config(http.port()))); });
    EXPECT_EQ(out.code, 1);
    EXPECT_NE(out.out.find("unhealthy: 1 of 2 workers ready"), std::string::npos) << out.out;
}

TEST_F(StatsCommandsTest, StatusFailsWhenHealthDoesNotAnswer200) {
    TinyHttp http(503);
    seg_->header().configured_workers.store(1);
    ready_worker(0);
    const auto out = capture([&] { return run_status(status_options(config(http.port()))); });
    EXPECT_EQ(out.code, 1);
    EXPECT_NE(out.out.find("answered 503"), std::string::npos) << out.out;
}

TEST_F(StatsCommandsTest, StatusFailsWhenNothingListens) {
    seg_->header().configured_workers.store(1);
    ready_worker(0);
    const auto out =
        capture([&] { return run_status(status_options(config(1))); });  // port 1: refused
    EXPECT_EQ(out.code, 1);
    EXPECT_NE(out.out.find("Connection refused"), std::string::npos) << out.out;
}

TEST_F(StatsCommandsTest, StatusWithoutASegmentSaysNotRunningWithExit3) {
    stats::Segment::remove(name_.get());
    const auto out = capture([&] { return run_status(status_options(config())); });
    EXPECT_EQ(out.code, kStatusNotRunning);
    EXPECT_EQ(out.out, "status: not running\n");
    EXPECT_NE(out.err.find("shared memory " + name_.get() + " not found"), std::string::npos)
        << out.err;
}

TEST_F(StatsCommandsTest, StatusSaysUnknownWhenTheSegmentExistsButCannotBeRead) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
    // The segment is root's, mode 0640: nobody may not read it.
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    if (child == 0) {
        ::close(fds[0]);
        const gid_t groups[] = {65534};
        if (::setgroups(1, groups) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(9);
        StatusOptions o;
        o.shm = name_.get();
        const auto out = capture([&] { return run_status(o); });
        const std::string text = std::to_string(out.code) + "\n" + out.out + out.err;
        _exit(::write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()) ? 0
                                                                                             : 8);
    }
    ::close(fds[1]);
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
        text.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_EQ(text.substr(0, 2), std::to_string(kStatusUnknown) + "\n") << text;
    EXPECT_NE(text.find("status: unknown: the instance's shared memory exists but this user may "
                        "not read it"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("permission denied opening shared memory " + name_.get()),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("not running"), std::string::npos) << text;
}

TEST_F(StatsCommandsTest, StatsByShmNameReadsNoConfig) {
    ready_worker(0);
    seg_->header().generation.store(4242);  // tells this segment from any other
    StatsOptions o = stats_options("");
    o.json = true;
    o.shm = name_.get().substr(1);  // as listed in /dev/shm, without the slash
    const auto out = capture([&] { return run_stats(o); });
    ASSERT_EQ(out.code, 0) << out.err;
    EXPECT_NE(out.out.find("{\"generation\": 4242,"), std::string::npos) << out.out;
}

TEST_F(StatsCommandsTest, StatsByListenFindsAnInstanceWithItsOwnSegmentName) {
    ready_worker(0);
    seg_->header().generation.store(4242);
    // No /cc-relay-1: the segment is found by the address its master recorded.
    stats::Segment::remove("/cc-relay-1");
    stats::copy_fixed(seg_->header().listen, "127.0.0.1:1");
    StatsOptions o = stats_options("");
    o.json = true;
    o.listen = "127.0.0.1:1";
    const auto out = capture([&] { return run_stats(o); });
    ASSERT_EQ(out.code, 0) << out.err;
    EXPECT_NE(out.out.find("{\"generation\": 4242,"), std::string::npos) << out.out;

    o.listen = "127.0.0.1:2";
    EXPECT_THROW(run_stats(o), stats::SegmentError);
}

TEST_F(StatsCommandsTest, CommandsNeedNoneOfTheServicesSecrets) {
    ::unsetenv("CCR_TEST_UNSET_SECRET");
    const std::string cfg = config(1, "  auth:\n    api_key: ${CCR_TEST_UNSET_SECRET}\n");
    EXPECT_EQ(capture([&] { return run_stats(stats_options(cfg, true)); }).code, 0);
    fork_fake_master(true, "");
    const auto out = capture([&] { return run_reload(reload_options(cfg)); });
    EXPECT_EQ(out.code, 0) << out.err;
    EXPECT_EQ(out.out, "reloaded: generation 5\n");
}

TEST_F(StatsCommandsTest, AConfigWhoseAddressChangedStillFindsTheInstanceServingIt) {
    ready_worker(0);
    seg_->header().generation.store(4242);
    // The file names no segment and its port has no segment; the master records the file.
    const std::string path = dir_.file("edited.yaml");
    testing::write_text(path, "server:\n  listen: 127.0.0.1:2\n");
    stats::Segment::remove("/cc-relay-2");
    stats::copy_fixed(seg_->header().config_path, std::filesystem::weakly_canonical(path).string());
    const auto out = capture([&] { return run_stats(stats_options(path, true)); });
    ASSERT_EQ(out.code, 0) << out.err;
    EXPECT_NE(out.out.find("{\"generation\": 4242,"), std::string::npos) << out.out;

    // A master that is gone no longer claims the file.
    const pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    ::waitpid(dead, nullptr, 0);
    seg_->header().master_pid.store(dead);
    EXPECT_THROW(run_stats(stats_options(path, true)), stats::SegmentError);
}

TEST_F(StatsCommandsTest, OnlyOneWayOfNamingTheInstanceIsAccepted) {
    StatsOptions o = stats_options(config());
    o.shm = name_.get();
    try {
        run_stats(o);
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "--config, --listen and --shm each name the instance: give one");
    }
}

}  // namespace
}  // namespace ccr::cli
