// `cc-relay stats`, `status` and `reload` against a segment this test creates, with a forked
// process standing in for the master where one has to answer a signal.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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
    const auto out = capture([&] {
        return run_reload(reload_options(config(1, "  pid_file: " + pid_file + "\n")));
    });
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
    const auto out = capture([&] { return run_status(status_options(config(1))); });  // port 1: refused
    EXPECT_EQ(out.code, 1);
    EXPECT_NE(out.out.find("Connection refused"), std::string::npos) << out.out;
}

}  // namespace
}  // namespace ccr::cli
