// The HTTP head path of a client connection (worker/session.cc: Beast's request_parser, then
// route_of, the head filters and the answers) on any bytes a client may send, through the real
// run_session of a worker Runtime. The client's end is one half of a socketpair; the bytes are
// written, the client shuts down its sending side and reads until the relay closes. Relayed
// requests go to a provider on 127.0.0.1:1, where nothing listens.
// Asserts: the session ends (libFuzzer's -timeout catches a hang); the relay's output is a
// sequence of complete HTTP/1.1 responses (status line, well-formed headers with no control
// characters, X-Request-ID, exactly Content-Length bytes of body); no 500; nothing follows a
// response sent with `Connection: close` (no request smuggled behind a rejected one); a complete
// or malformed first head gets at least one answer; no exception reaches the session's
// catch-all (nothing on the request path throws); and a head the session's one-pass parser
// (worker/simple_head.h) completes is one Beast parses, at the same header limits, to the same
// message: verb, target, version, keep-alive, every field (in order within each name),
// Content-Length; and that a response head the upstream side's one-pass parser completes is one
// Beast's response parser reads to the same status, reason, fields and framing (Content-Length,
// chunked, keep-alive).

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>
#include <string>
#include <string_view>

#include "shared/config/config.h"
#include "tests/fuzz/check.h"
#include "tests/worker/response_head_order.h"
#include "worker/simple_head.h"
#include "worker/runtime.h"
#include "worker/session.h"

namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using namespace ccr;

// Collects what would reveal a bug in the logs: the session's catch-all for exceptions.
class ExceptionSink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
  public:
    std::string seen;

  protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const std::string_view text(msg.payload.data(), msg.payload.size());
        if (text.find("request ended by an exception") != std::string_view::npos) seen = text;
    }
    void flush_() override {}
};

constexpr const char* kConfig = R"(
server:
  listen: 127.0.0.1:0
  max_body_bytes: 4096
  timeout_ms: 5000
  auth:
    api_key: fuzz-key
    allow_bearer: true
    bearer_secret: fuzz-bearer
providers:
  - name: nowhere
    type: anthropic
    enabled: true
    base_url: http://127.0.0.1:1
    keys: [{key: sk-upstream}]
clients:
  - name: alice
    key: alice-key
    rpm_limit: 100000000
)";

struct World {
    net::io_context ioc;
    std::shared_ptr<ExceptionSink> sink = std::make_shared<ExceptionSink>();
    std::unique_ptr<worker::Runtime> rt;
    World() {
        auto logger = std::make_shared<spdlog::logger>("fuzz", sink);
        logger->set_level(spdlog::level::err);
        spdlog::set_default_logger(logger);
        auto cfg = std::make_shared<const shared::Config>(
            shared::load_config_text(kConfig, "http_head_fuzz.yaml"));
        rt = std::make_unique<worker::Runtime>(ioc, cfg);
    }
};

// Never destroyed: the Runtime outliving spdlog's registry at exit is not what this tests.
World& world() {
    static World* w = new World;
    return *w;
}

net::awaitable<void> client(net::local::stream_protocol::socket& s, std::string_view in, std::string& out) {
    auto tuple = net::as_tuple(net::use_awaitable);
    co_await net::async_write(s, net::buffer(in.data(), in.size()), tuple);
    boost::system::error_code ignored;
    s.shutdown(net::socket_base::shutdown_send, ignored);  // the relay sees the end of the input
    char buf[16 * 1024];
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(net::buffer(buf), tuple);
        out.append(buf, n);
        if (ec) break;
    }
}

std::string run(std::string_view in) {
    World& w = world();
    int fds[2];
    FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, "socketpair");
    // run_session takes a TCP socket; an AF_UNIX stream behaves the same for reads and writes
    // (no_delay and the peer address fail, and the session ignores both failures).
    net::ip::tcp::socket server(w.ioc);
    server.assign(net::ip::tcp::v4(), fds[0]);
    net::local::stream_protocol::socket peer(w.ioc);
    peer.assign(net::local::stream_protocol(), fds[1]);
    std::string out;
    bool session_done = false, client_done = false;
    w.ioc.restart();
    net::co_spawn(w.ioc, worker::run_session(*w.rt, std::move(server)),
                  [&](std::exception_ptr e) {
                      FUZZ_CHECK(!e, "run_session threw");
                      session_done = true;
                  });
    net::co_spawn(w.ioc, client(peer, in, out), [&](std::exception_ptr e) {
        FUZZ_CHECK(!e, "the client threw");
        client_done = true;
    });
    while (!session_done || !client_done) {
        if (w.ioc.run_one() == 0) w.ioc.restart();
    }
    return out;
}

bool token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

struct Response {
    int status = 0;
    bool close = false;
};

// The relay's answers: its own (Content-Length always) or relayed error bodies. A HEAD answer
// has a Content-Length and no body: the next bytes are then the next status line.
std::vector<Response> parse_responses(std::string_view out) {
    std::vector<Response> all;
    while (!out.empty()) {
        const std::string_view whole = out;
        FUZZ_CHECK(out.starts_with("HTTP/1.1 ") && out.size() >= 13, "not a status line: %.60s",
                   std::string(out.substr(0, 60)).c_str());
        Response r;
        for (int i = 9; i < 12; ++i) {
            FUZZ_CHECK(out[i] >= '0' && out[i] <= '9', "status is not 3 digits");
            r.status = r.status * 10 + (out[i] - '0');
        }
        FUZZ_CHECK(r.status >= 100 && r.status <= 599 && r.status != 500, "status %d", r.status);
        std::size_t eol = out.find("\r\n");
        FUZZ_CHECK(eol != std::string_view::npos, "status line without its end");
        out.remove_prefix(eol + 2);
        std::optional<std::size_t> length;
        bool request_id = false;
        for (;;) {
            eol = out.find("\r\n");
            FUZZ_CHECK(eol != std::string_view::npos, "header without its end");
            const std::string_view line = out.substr(0, eol);
            out.remove_prefix(eol + 2);
            if (line.empty()) break;
            const std::size_t colon = line.find(": ");
            FUZZ_CHECK(colon != std::string_view::npos && colon > 0, "not a header: %s",
                       std::string(line).c_str());
            const std::string_view name = line.substr(0, colon), value = line.substr(colon + 2);
            for (char c : name) FUZZ_CHECK(token_char(c), "bad header name %s", std::string(name).c_str());
            for (char c : value)
                FUZZ_CHECK(c == '\t' || (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f),
                           "control character in header %s", std::string(name).c_str());
            if (boost::beast::iequals(name, "content-length")) {
                FUZZ_CHECK(!length, "two Content-Length headers");
                length = std::stoul(std::string(value));
            }
            if (boost::beast::iequals(name, "connection") && boost::beast::iequals(value, "close")) r.close = true;
            if (boost::beast::iequals(name, "x-request-id")) request_id = true;
        }
        if (r.status != 100) {
            FUZZ_CHECK(request_id, "a response without X-Request-ID");
            FUZZ_CHECK(length.has_value(), "a %d without Content-Length:\n%.*s", r.status,
                       static_cast<int>(whole.size()), whole.data());
            const bool head_answer = *length > 0 && (out.empty() || out.starts_with("HTTP/1.1 "));
            if (!head_answer) {
                FUZZ_CHECK(out.size() >= *length, "body cut short: %zu of %zu", out.size(), *length);
                out.remove_prefix(*length);
            }
        }
        all.push_back(r);
    }
    return all;
}

// Whether Beast rejects the head at the start of `in`, or reads a complete one of a request
// without a body: either must be answered. (A head whose body never comes may go unanswered: the
// client left.)
bool must_answer(std::string_view in) {
    http::request_parser<http::empty_body> p;
    p.header_limit(64 * 1024);
    p.body_limit(boost::none);
    p.eager(false);
    boost::beast::error_code ec;
    std::size_t used = 0;
    while (!p.is_header_done()) {
        const std::size_t n = p.put(net::buffer(in.data() + used, in.size() - used), ec);
        used += n;
        if (ec == http::error::need_more) return false;
        // A bad head is answered once it is complete: Beast reads a head's fields only when their
        // end has arrived, so an unterminated one ends as a client that went away.
        if (ec) return in.find("\r\n\r\n") != std::string_view::npos;
        if (n == 0) return false;
    }
    return !p.chunked() && p.content_length().value_or(0) == 0;
}

void check_simple_head(std::string_view in) {
    for (const std::size_t limit : {std::size_t{64}, std::size_t{1024}, std::size_t{64 * 1024}}) {
        worker::ClientRequest simple;
        const worker::SimpleHead s = worker::parse_simple_head(in, limit, simple);
        if (s.result != worker::SimpleHead::Result::complete) continue;
        http::request_parser<worker::RequestBody> p;
        p.header_limit(static_cast<std::uint32_t>(limit));
        p.body_limit(boost::none);
        p.eager(false);
        boost::beast::error_code ec;
        const std::size_t used = p.put(net::buffer(in.data(), in.size()), ec);
        FUZZ_CHECK(!ec && p.is_header_done(), "a simple head Beast refuses (limit %zu): %s", limit,
                   ec.message().c_str());
        FUZZ_CHECK(used == s.size, "head sizes differ: %zu and Beast's %zu", s.size, used);
        const auto& m = p.get();
        FUZZ_CHECK(simple.method() == m.method() && simple.method_string() == m.method_string(), "methods differ");
        FUZZ_CHECK(simple.target() == m.target(), "targets differ");
        FUZZ_CHECK(simple.version() == m.version(), "versions differ");
        FUZZ_CHECK(simple.keep_alive() == m.keep_alive(), "keep-alive differs");
        const auto fields = worker::testing::in_beast_order(simple.fields());
        auto a = fields.begin();
        for (const auto& f : m) {
            FUZZ_CHECK(a != fields.end(), "Beast has more fields");
            FUZZ_CHECK(a->known == f.name() && a->name == std::string_view(f.name_string()),
                       "field names differ: %s, %s", std::string(a->name).c_str(),
                       std::string(f.name_string()).c_str());
            FUZZ_CHECK(a->value == std::string_view(f.value()), "values of %s differ",
                       std::string(f.name_string()).c_str());
            ++a;
        }
        FUZZ_CHECK(a == fields.end(), "Beast has fewer fields");
        FUZZ_CHECK(!p.chunked(), "Beast reads a chunked body");
        FUZZ_CHECK(s.content_length.has_value() == p.content_length().has_value() &&
                       (!s.content_length || *s.content_length == *p.content_length()),
                   "Content-Length differs");
    }
}

void check_simple_response_head(std::string_view in) {
    for (const std::size_t limit : {std::size_t{64}, std::size_t{1024}, std::size_t{64 * 1024}}) {
        worker::ResponseHead simple;
        const worker::SimpleHead s = worker::parse_simple_response_head(in, limit, simple);
        if (s.result != worker::SimpleHead::Result::complete) continue;
        http::response_parser<http::buffer_body> p;
        p.header_limit(static_cast<std::uint32_t>(limit));
        p.body_limit(boost::none);
        boost::beast::error_code ec;
        const std::size_t used = p.put(net::buffer(in.data(), in.size()), ec);
        FUZZ_CHECK((!ec || ec == http::error::need_buffer) && p.is_header_done(),
                   "a simple response head Beast refuses (limit %zu): %s", limit, ec.message().c_str());
        FUZZ_CHECK(used == s.size, "response head sizes differ: %zu and Beast's %zu", s.size, used);
        const auto& m = p.get();
        // Beast gives an empty reason its status's standard one.
        FUZZ_CHECK(simple.status == m.result_int() && m.version() == 11 &&
                       (simple.reason.empty() || simple.reason == std::string_view(m.reason())),
                   "status lines differ");
        const auto fields = worker::testing::in_beast_order(simple);
        auto a = fields.begin();
        for (const auto& f : m) {
            FUZZ_CHECK(a != fields.end(), "Beast has more response fields");
            FUZZ_CHECK(a->known == f.name() && a->name == std::string_view(f.name_string()) &&
                           a->value == std::string_view(f.value()),
                       "response field %s differs", std::string(f.name_string()).c_str());
            ++a;
        }
        FUZZ_CHECK(a == fields.end(), "Beast has fewer response fields");
        FUZZ_CHECK(s.chunked == p.chunked(), "chunked differs");
        FUZZ_CHECK(s.content_length.has_value() == p.content_length().has_value() &&
                       (!s.content_length || *s.content_length == *p.content_length()),
                   "response Content-Length differs");
        if (worker::simple_response_status(simple.status))
            FUZZ_CHECK((!s.close && (s.content_length || s.chunked)) == p.keep_alive(), "keep-alive differs");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    check_simple_head(in);
    check_simple_response_head(in);
    World& w = world();
    w.sink->seen.clear();
    const std::string out = run(in);
    FUZZ_CHECK(w.sink->seen.empty(), "%s", w.sink->seen.c_str());
    const std::vector<Response> answers = parse_responses(out);
    for (std::size_t i = 0; i + 1 < answers.size(); ++i)
        FUZZ_CHECK(!answers[i].close, "response %zu of %zu follows a Connection: close", i + 2,
                   answers.size());
    if (must_answer(in)) FUZZ_CHECK(!answers.empty(), "a head got no answer");
    FUZZ_CHECK(w.rt->sessions == 0 && w.rt->in_flight == 0, "the session left counts behind");
    return 0;
}
