#include "worker/server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <stdexcept>

#include "worker/runtime.h"

namespace ccr::worker {
namespace {

using namespace std::chrono_literals;

// A sink whose heartbeat (called by the worker's own timer once it serves)
// throws: a bug after start-up, as a throwing set_option on the data path used
// to be.
class ThrowingHeartbeat : public StatsSink {
public:
  void attempt_started(int) override {}
  void attempt_finished(int, AttemptEnd, bool) override {}
  void request_finished(const Sample &) override {}
  void worker_ready() override { ready = true; }
  void worker_heartbeat() override {
    if (ready)
      throw std::runtime_error("injected failure after start-up");
  }
  bool ready = false;
};

int listening_socket() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 ||
      ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 16) != 0)
    return -1;
  return fd;
}

/// Runs `body` in a child process and returns its exit status, or -1 if it has
/// not exited within `limit` (then it is killed).
template <class F> int exit_status_of(F body, std::chrono::milliseconds limit) {
  const pid_t pid = ::fork();
  if (pid == 0)
    ::_exit(body());
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    ::usleep(10'000); // polling a child's exit with a deadline
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1;
}

TEST(RunWorker,
     AnExceptionAfterStartUpEndsTheWorkerWithACodeTheMasterRespawns) {
  const int rc = exit_status_of(
      [] {
        ThrowingHeartbeat sink;
        WorkerOptions wo;
        wo.listen_fds = {listening_socket()};
        wo.stats = &sink;
        try {
          return run_worker(
              std::make_shared<const shared::Config>(shared::default_config()),
              wo);
        } catch (...) {
          return 99; // escaped run_worker: the master would report a failed
                     // start-up
        }
      },
      10s);
  ASSERT_NE(rc, -1) << "the exception was swallowed: the worker kept running";
  EXPECT_EQ(rc, kExitCrashed);
  EXPECT_NE(rc, kExitStartupFailed);
}

TEST(RunWorker, ABadListeningSocketFailsTheStartUp) {
  WorkerOptions wo;
  wo.listen_fds = {-1};
  EXPECT_ANY_THROW(run_worker(
      std::make_shared<const shared::Config>(shared::default_config()), wo));
}

} // namespace
} // namespace ccr::worker
