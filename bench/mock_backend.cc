// ccr-bench-backend: a fast mock of the Anthropic Messages API for the benchmarks. It sits where
// the real provider would, behind cc-relay or nginx, and is also measured on its own (the
// physical limit of the machine).
//
//   POST /v1/messages               JSON Message of --json-bytes, or SSE when the body says
//                                   "stream":true (--events deltas plus the full envelope)
//   POST /v1/messages/count_tokens  {"input_tokens":N}
//
// Per request, `x-bench-delay-ms` and `x-bench-events` override --event-delay-ms and --events so
// that one backend serves every scenario. One process per core (or --procs), each with its own
// SO_REUSEPORT listener and a single-threaded io_context; no locks anywhere.

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/http_util.h"

namespace ccr::bench {
namespace {

namespace net = boost::asio;
using net::ip::tcp;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);
constexpr size_t kMaxRequest = 4 * 1024 * 1024;

struct Settings {
    int port = 19000;
    int procs = 0;
    int events = 50;
    int event_delay_ms = 0;
    size_t json_bytes = 1024;
};

std::string chunk(std::string_view data) {
    char size[32];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    std::string out(size, static_cast<size_t>(n));
    out.append(data);
    out.append("\r\n");
    return out;
}

/// Every answer is built once at startup; a request only picks and writes bytes.
struct Answers {
    std::string json;          // full response incl. head
    std::string count_tokens;  // full response incl. head
    std::string not_found;
    std::string sse_head;   // status line + headers
    std::string sse_open;   // chunk: message_start, content_block_start, ping
    std::string sse_delta;  // chunk: one content_block_delta
    std::string sse_close;  // chunk: content_block_stop, message_delta, message_stop + last chunk
    std::string sse_full;   // head + open + events x delta + close, for the default count

    explicit Answers(const Settings& s) {
        std::string text = "Hello from ccr-bench-backend. ";
        std::string body_start =
            R"({"id":"msg_bench01","type":"message","role":"assistant","model":"claude-sonnet-4-5",)"
            R"("content":[{"type":"text","text":")";
        std::string body_end =
            R"("}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":25,)"
            R"("output_tokens":40,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}})";
        size_t fixed = body_start.size() + body_end.size();
        std::string filler;
        while (fixed + filler.size() < s.json_bytes) filler += text;
        if (fixed + filler.size() > s.json_bytes && s.json_bytes > fixed) {
            filler.resize(s.json_bytes - fixed);
        }
        std::string body = body_start + filler + body_end;
        json =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nrequest-id: req_bench\r\n"
            "Content-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body;
        std::string ct = R"({"input_tokens":1234})";
        count_tokens = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(ct.size()) + "\r\n\r\n" + ct;
        std::string nf =
            R"({"type":"error","error":{"type":"not_found_error","message":"Not found"}})";
        not_found = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(nf.size()) + "\r\n\r\n" + nf;
        sse_head =
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            "request-id: req_bench\r\nTransfer-Encoding: chunked\r\n\r\n";
        sse_open = chunk(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"
            "\"msg_bench01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
            "\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"
            "\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
            "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
            "event: ping\ndata: {\"type\": \"ping\"}\n\n");
        sse_delta = chunk(
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
            "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello from the bench \"}}\n\n");
        sse_close = chunk(
                        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
                        "\"index\":0}\n\n"
                        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":"
                        "{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":"
                        "{\"output_tokens\":50}}\n\n"
                        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n") +
                    "0\r\n\r\n";
        sse_full = sse_head + sse_open;
        for (int i = 0; i < s.events; ++i) sse_full += sse_delta;
        sse_full += sse_close;
    }
};

// Whether the body's "stream" member is true: the first "stream" followed by a colon decides.
// A search for the name, which the bench bodies give early: a search of every byte for
// `"stream":true` (two spellings) cost a 500 KiB streaming=false body ~0.5 ms of the backend's
// time, enough to make the backend, not the proxies, what scenario 3 measured.
bool wants_stream(std::string_view body) {
    constexpr std::string_view kName = "\"stream\"";
    constexpr std::string_view kBlank = " \t\r\n";  // JSON's whitespace
    constexpr auto npos = std::string_view::npos;
    for (size_t at = body.find(kName); at != npos; at = body.find(kName, at + 1)) {
        size_t i = body.find_first_not_of(kBlank, at + kName.size());
        if (i == npos || body[i] != ':') continue;
        i = body.find_first_not_of(kBlank, i + 1);
        return i != npos && body.substr(i, 4) == "true";
    }
    return false;
}

// A growable receive buffer whose growth leaves the new bytes as they are (std::string's resize
// writes zeros: another 500 KiB memset per large request).
class Buffer {
  public:
    explicit Buffer(size_t n) : data_(new char[n]), size_(n) {}
    char* data() { return data_.get(); }
    size_t size() const { return size_; }
    /// At least `n` bytes; the first `keep` are kept.
    void grow(size_t n, size_t keep) {
        if (n <= size_) return;
        std::unique_ptr<char[]> bigger(new char[n]);
        std::memcpy(bigger.get(), data_.get(), keep);
        data_ = std::move(bigger);
        size_ = n;
    }

  private:
    std::unique_ptr<char[]> data_;
    size_t size_;
};

net::awaitable<bool> write_all(tcp::socket& s, std::string_view data) {
    auto [ec, n] = co_await net::async_write(s, net::buffer(data), kTuple);
    co_return !ec;
}

net::awaitable<bool> stream_slowly(tcp::socket& s, const Answers& a, int events, int delay_ms) {
    std::string first = a.sse_head + a.sse_open;
    if (!co_await write_all(s, first)) co_return false;
    net::steady_timer timer(s.get_executor());
    for (int i = 0; i < events; ++i) {
        if (delay_ms > 0) {
            timer.expires_after(std::chrono::milliseconds(delay_ms));
            auto [ec] = co_await timer.async_wait(kTuple);
            if (ec) co_return false;
        }
        if (!co_await write_all(s, a.sse_delta)) co_return false;
    }
    co_return co_await write_all(s, a.sse_close);
}

/// Reads one request; returns the number of buffer bytes it used (head + body), 0 on EOF or error.
/// `body` gets the decoded body (a view into `buf` unless the request was chunked).
net::awaitable<size_t> read_request(tcp::socket& s,
                                    Buffer& buf,
                                    size_t& have,
                                    Head& head,
                                    std::string& chunked_body,
                                    std::string_view& body) {
    size_t head_end;
    for (;;) {
        head_end = std::string_view(buf.data(), have).find("\r\n\r\n");
        if (head_end != std::string_view::npos) break;
        if (have == buf.size()) {
            if (buf.size() >= 64 * 1024) co_return 0;  // absurd head
            buf.grow(buf.size() * 2, have);
        }
        auto [ec, n] =
            co_await s.async_read_some(net::buffer(buf.data() + have, buf.size() - have), kTuple);
        if (ec) co_return 0;
        have += n;
    }
    head = parse_head(std::string_view(buf.data(), head_end));
    size_t start = head_end + 4;
    if (!head.chunked) {
        size_t len = head.content_length < 0 ? 0 : static_cast<size_t>(head.content_length);
        if (start + len > kMaxRequest) co_return 0;
        buf.grow(start + len, have);
        while (have < start + len) {
            auto [ec, n] = co_await s.async_read_some(
                net::buffer(buf.data() + have, buf.size() - have), kTuple);
            if (ec) co_return 0;
            have += n;
        }
        // Growing the buffer moved it: take the head's views again.
        head = parse_head(std::string_view(buf.data(), head_end));
        body = std::string_view(buf.data() + start, len);
        co_return start + len;
    }
    ChunkDecoder dec;
    chunked_body.clear();
    size_t pos = start;
    for (;;) {
        int64_t used = dec.feed(std::string_view(buf.data() + pos, have - pos),
                                [&](std::string_view d) { chunked_body.append(d); });
        if (used < 0 || chunked_body.size() > kMaxRequest) co_return 0;
        pos += static_cast<size_t>(used);
        if (dec.done()) break;
        // Everything buffered was consumed: drop the raw chunk bytes already decoded.
        std::memmove(buf.data() + start, buf.data() + pos, have - pos);
        have = start + (have - pos);
        pos = start;
        if (have == buf.size()) buf.grow(buf.size() * 2, have);
        auto [ec, n] =
            co_await s.async_read_some(net::buffer(buf.data() + have, buf.size() - have), kTuple);
        if (ec) co_return 0;
        have += n;
    }
    head = parse_head(std::string_view(buf.data(), head_end));
    body = chunked_body;
    co_return pos;
}

net::awaitable<void> session(tcp::socket s, const Settings& cfg, const Answers& a) {
    boost::system::error_code ignored;
    s.set_option(tcp::no_delay(true), ignored);  // best effort: only latency depends on it
    Buffer buf(16 * 1024);  // grown to the largest request, for the connection's life
    std::string chunked_body;
    size_t have = 0;
    for (;;) {
        Head head;
        std::string_view body;
        size_t used = co_await read_request(s, buf, have, head, chunked_body, body);
        if (used == 0) break;
        std::string_view line = head.first_line;
        std::string_view path = line.substr(line.find(' ') + 1);
        path = path.substr(0, path.find(' '));
        if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
        bool ok;
        if (path == "/v1/messages/count_tokens") {
            ok = co_await write_all(s, a.count_tokens);
        } else if (path == "/v1/messages") {
            if (!wants_stream(body)) {
                ok = co_await write_all(s, a.json);
            } else {
                int events = head.events >= 0 ? static_cast<int>(head.events) : cfg.events;
                int delay =
                    head.delay_ms >= 0 ? static_cast<int>(head.delay_ms) : cfg.event_delay_ms;
                if (delay == 0 && events == cfg.events) {
                    ok = co_await write_all(s, a.sse_full);
                } else {
                    ok = co_await stream_slowly(s, a, events, delay);
                }
            }
        } else {
            ok = co_await write_all(s, a.not_found);
        }
        if (!ok || head.close) break;
        std::memmove(buf.data(), buf.data() + used, have - used);
        have -= used;
    }
    s.shutdown(tcp::socket::shutdown_both, ignored);  // peer may be gone already
}

net::awaitable<void> accept_loop(tcp::acceptor& acc, const Settings& cfg, const Answers& a) {
    for (;;) {
        auto [ec, sock] = co_await acc.async_accept(kTuple);
        if (ec) {
            if (ec == net::error::operation_aborted) co_return;
            // EMFILE and friends: back off briefly instead of spinning.
            net::steady_timer t(acc.get_executor(), std::chrono::milliseconds(10));
            co_await t.async_wait(kTuple);
            continue;
        }
        net::co_spawn(acc.get_executor(), session(std::move(sock), cfg, a), net::detached);
    }
}

int serve(const Settings& cfg, const Answers& a, bool announce) {
    net::io_context io(1);
    tcp::acceptor acc(io);
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(cfg.port));
    acc.open(ep.protocol());
    acc.set_option(tcp::acceptor::reuse_address(true));
    acc.set_option(net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    acc.bind(ep);
    acc.listen(4096);
    if (announce) {
        std::printf("listening on http://127.0.0.1:%d (%d procs)\n", cfg.port, cfg.procs);
        std::fflush(stdout);
    }
    net::signal_set sigs(io, SIGTERM, SIGINT);
    sigs.async_wait([&](auto, int) {
        boost::system::error_code ignored;
        acc.close(ignored);  // shutting down: nothing to do about a close error
        io.stop();
    });
    net::co_spawn(io, accept_loop(acc, cfg, a), net::detached);
    io.run();
    return 0;
}

int usage() {
    std::fprintf(stderr,
                 "usage: ccr-bench-backend [--port P] [--procs N] [--events N] "
                 "[--event-delay-ms MS] [--json-bytes B]\n");
    return 2;
}

}  // namespace
}  // namespace ccr::bench

int main(int argc, char** argv) {
    using namespace ccr::bench;
    Settings cfg;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (i + 1 >= argc) return usage();
        long v = std::strtol(argv[++i], nullptr, 10);
        if (arg == "--port")
            cfg.port = static_cast<int>(v);
        else if (arg == "--procs")
            cfg.procs = static_cast<int>(v);
        else if (arg == "--events")
            cfg.events = static_cast<int>(v);
        else if (arg == "--event-delay-ms")
            cfg.event_delay_ms = static_cast<int>(v);
        else if (arg == "--json-bytes")
            cfg.json_bytes = static_cast<size_t>(v);
        else
            return usage();
    }
    if (cfg.procs <= 0) cfg.procs = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
    if (cfg.port <= 0 || cfg.procs <= 0) return usage();
    std::signal(SIGPIPE, SIG_IGN);
    Answers answers(cfg);
    std::vector<pid_t> children;
    for (int i = 1; i < cfg.procs; ++i) {
        pid_t pid = fork();
        if (pid < 0) {
            std::perror("fork");
            return 1;
        }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the parent
            return serve(cfg, answers, false);
        }
        children.push_back(pid);
    }
    int rc = 0;
    try {
        rc = serve(cfg, answers, true);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ccr-bench-backend: %s\n", e.what());
        rc = 1;
    }
    for (pid_t pid : children) kill(pid, SIGTERM);
    for (pid_t pid : children) waitpid(pid, nullptr, 0);
    return rc;
}
