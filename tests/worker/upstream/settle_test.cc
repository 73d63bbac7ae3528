// An attempt whose answer completed is settled (stats, breaker, limits: settle.h) before the
// answer's last bytes are written, so a client holding its whole answer finds every worker
// already knowing how it went. Checked with a real worker in a child process whose stats sink
// holds the worker inside attempt_finished until the test releases it: the end of the answer must
// not reach the client meanwhile. (Settled after the last write, the whole answer arrives while
// the sink is held, which is how the routing and health tests raced across workers.)

#include "worker/upstream/settle.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include "shared/config/config.h"
#include "worker/runtime.h"
#include "worker/server.h"

namespace ccr::worker::upstream {
namespace {

// Says (one byte on `settled`) that an attempt finished, then waits (bounded) for the test's byte
// on `release`.
class HoldingSink : public StatsSink {
public:
    HoldingSink(int settled, int release) : settled_(settled), release_(release) {}
    void attempt_started(int) override {}
    void attempt_finished(int, AttemptEnd, bool) override {
        const char b = 's';
        if (::write(settled_, &b, 1) != 1) return;
        pollfd p{release_, POLLIN, 0};
        if (::poll(&p, 1, 5000) == 1) {
            char r;
            (void)::read(release_, &r, 1);
        }
    }
    void request_finished(const Sample&) override {}

private:
    int settled_;
    int release_;
};

int listen_loopback(int& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return -1;
    port = ntohs(addr.sin_port);
    return fd;
}

int connect_loopback(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
    return fd;
}

bool readable(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1;
}

// Appends what `fd` has within `timeout_ms` (one read); false at the end of the stream or a timeout.
bool read_some(int fd, std::string& out, int timeout_ms) {
    if (!readable(fd, timeout_ms)) return false;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    out.append(buf, static_cast<std::size_t>(n));
    return true;
}

// Reads until `done(out)` holds, for at most ~5 s.
template <class Done>
std::string read_until(int fd, Done done) {
    std::string out;
    for (int i = 0; i < 50 && !done(out); ++i) read_some(fd, out, 100);
    return out;
}

bool head_and_body(const std::string& s) {
    const auto end = s.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const auto cl = s.find("Content-Length: ");
    if (cl == std::string::npos || cl > end) return true;
    return s.size() >= end + 4 + std::stoul(s.substr(cl + 16));
}

struct Answer {
    const char* name;
    std::string response;   // what the backend sends, in one write
    std::string last_bytes; // how the client's answer ends
    std::string status_line;
};

void PrintTo(const Answer& a, std::ostream* os) { *os << a.name; }

class SettleBeforeLastWrite : public ::testing::TestWithParam<Answer> {};

TEST_P(SettleBeforeLastWrite, TheEndOfTheAnswerWaitsForTheAttemptToBeSettled) {
    int backend_port = 0;
    int relay_port = 0;
    const int backend = listen_loopback(backend_port);
    const int relay = listen_loopback(relay_port);
    ASSERT_GE(backend, 0);
    ASSERT_GE(relay, 0);
    int settled[2];
    int release[2];
    ASSERT_EQ(::pipe(settled), 0);
    ASSERT_EQ(::pipe(release), 0);

    shared::Config cfg = shared::default_config();
    cfg.providers.front().base_url = "http://127.0.0.1:" + std::to_string(backend_port);
    cfg.logging.level = "off";
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        HoldingSink sink(settled[1], release[0]);
        WorkerOptions wo;
        wo.listen_fds = {relay};
        wo.stats = &sink;
        try {
            ::_exit(run_worker(std::make_shared<const shared::Config>(cfg), wo));
        } catch (...) {
            ::_exit(99);
        }
    }
    struct Reap {
        pid_t pid;
        ~Reap() {
            ::kill(pid, SIGKILL);
            int status = 0;
            ::waitpid(pid, &status, 0);
        }
    } reap{child};
    ::close(relay);

    const std::string body = R"({"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]})";
    const int client = connect_loopback(relay_port);
    ASSERT_GE(client, 0);
    const std::string request = "POST /v1/messages HTTP/1.1\r\nHost: relay\r\nx-api-key: sk-test\r\n"
                                "anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body;
    ASSERT_EQ(::write(client, request.data(), request.size()), static_cast<ssize_t>(request.size()));

    ASSERT_TRUE(readable(backend, 5000)) << "the relay never called the backend";
    const int up = ::accept(backend, nullptr, nullptr);
    ASSERT_GE(up, 0);
    const std::string forwarded = read_until(up, head_and_body);
    ASSERT_TRUE(head_and_body(forwarded)) << forwarded;
    const Answer& answer = GetParam();
    ASSERT_EQ(::write(up, answer.response.data(), answer.response.size()),
              static_cast<ssize_t>(answer.response.size()));

    // The worker is held in attempt_finished now: whatever it wrote before, not the answer's end.
    ASSERT_TRUE(readable(settled[0], 5000)) << "the attempt was never settled";
    std::string got;
    while (read_some(client, got, 200)) {
    }
    EXPECT_FALSE(got.ends_with(answer.last_bytes)) << "the whole answer reached the client before the attempt was settled";

    const char r = 'r';
    ASSERT_EQ(::write(release[1], &r, 1), 1);
    for (int i = 0; i < 50 && !got.ends_with(answer.last_bytes); ++i) read_some(client, got, 100);
    EXPECT_TRUE(got.starts_with(answer.status_line)) << got;
    EXPECT_TRUE(got.ends_with(answer.last_bytes)) << got;
    for (int fd : {client, up, backend, settled[0], settled[1], release[0], release[1]}) ::close(fd);
}

const std::string kJson = R"({"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"hello"}],)"
                          R"("model":"claude-sonnet-4-5","stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}})";
const std::string kError = R"({"type":"error","error":{"type":"invalid_request_error","message":"bad request"}})";
const std::string kEvents = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
                            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

std::string chunk(const std::string& s) {
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", s.size());
    return size + s + "\r\n";
}

INSTANTIATE_TEST_SUITE_P(
    Answers,
    SettleBeforeLastWrite,
    ::testing::Values(
        Answer{"json",
               "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(kJson.size()) +
                   "\r\n\r\n" + kJson,
               kJson, "HTTP/1.1 200"},
        Answer{"sse_chunked",
               "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
                   chunk(kEvents) + "0\r\n\r\n",
               "0\r\n\r\n", "HTTP/1.1 200"},
        Answer{"error_4xx",
               "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(kError.size()) + "\r\n\r\n" + kError,
               kError, "HTTP/1.1 400"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ccr::worker::upstream
