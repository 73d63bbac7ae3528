#include "master/admin.h"

#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include "shared/log/log.h"
#include "shared/stats/prometheus.h"
#include "shared/stats/segment.h"
#include "shared/stats/snapshot.h"
#include "shared/util/json.h"

namespace ccr::master {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace stats = shared::stats;
using namespace std::chrono_literals;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

namespace {

struct Reply {
    http::status status = http::status::ok;
    std::string content_type = "application/json";
    std::string body;
    std::string allow;  // 405
};

Reply json_error(http::status status, std::string_view message) {
    std::string body = "{\"error\":";
    shared::append_json_string(body, message);
    body += '}';
    return {status, "application/json", std::move(body), {}};
}

bool authorized(const http::request<http::string_body>& req, const std::string& token) {
    if (token.empty()) return true;
    auto it = req.find(http::field::authorization);
    if (it == req.end()) return false;
    const std::string expected = "Bearer " + token;
    const std::string_view got = it->value();
    return got.size() == expected.size() && CRYPTO_memcmp(got.data(), expected.data(), got.size()) == 0;
}

// SIGHUP to the master, then the outcome it records in the segment (cli/reload.cc's protocol),
// polled without blocking the other connections.
net::awaitable<Reply> reload(const stats::Segment& seg) {
    const std::int32_t pid = seg.header().master_pid.load(std::memory_order_relaxed);
    if (!stats::process_alive(pid)) co_return json_error(http::status::service_unavailable, "the master is not running");
    const std::uint64_t before = seg.header().reload_seq.load(std::memory_order_acquire);
    if (::kill(pid, SIGHUP) != 0) co_return json_error(http::status::internal_server_error, "cannot signal the master");
    net::steady_timer timer(co_await net::this_coro::executor);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
        const std::uint64_t seq = seg.header().reload_seq.load(std::memory_order_acquire);
        if (seq != before && seq % 2 == 0) {
            const stats::Segment::ReloadResult r = seg.reload_result();
            if (r.ok == 1) co_return Reply{http::status::ok, "application/json",
                                           "{\"ok\":true,\"generation\":" + std::to_string(r.generation) + "}", {}};
            std::string body = "{\"ok\":false,\"error\":";
            shared::append_json_string(body, "reload failed: " + r.message);
            body += '}';
            co_return Reply{http::status::internal_server_error, "application/json", std::move(body), {}};
        }
        timer.expires_after(50ms);
        co_await timer.async_wait(kTuple);
    }
    co_return json_error(http::status::gateway_timeout, "no reload outcome from the master within 60 s; see its log");
}

// POST /admin/providers/<name>/enable|disable: the flag in the provider's segment row, which
// every worker's router reads per request; it outlives reloads (the row is the name's).
Reply set_disabled(stats::Segment& seg, std::string_view rest) {
    const std::size_t slash = rest.rfind('/');
    if (slash == std::string_view::npos) return json_error(http::status::not_found, "POST /admin/providers/<name>/enable or /disable");
    const std::string_view name = rest.substr(0, slash), action = rest.substr(slash + 1);
    if (action != "enable" && action != "disable") return json_error(http::status::not_found, "POST /admin/providers/<name>/enable or /disable");
    const int row = seg.find_provider_row(name);
    if (row < 0) return json_error(http::status::not_found, "no provider named " + std::string(name));
    const bool disable = action == "disable";
    seg.layout().providers[row].admin_disabled.store(disable ? 1 : 0, std::memory_order_relaxed);
    spdlog::info("admin: provider {} {}", name, disable ? "disabled" : "enabled");
    std::string body = "{\"provider\":";
    shared::append_json_string(body, name);
    body += disable ? ",\"disabled\":true}" : ",\"disabled\":false}";
    return {http::status::ok, "application/json", std::move(body), {}};
}

net::awaitable<Reply> answer(const http::request<http::string_body>& req, stats::Segment& seg,
                             const shared::AdminConfig& cfg) {
    if (!authorized(req, cfg.bearer_token)) co_return json_error(http::status::unauthorized, "missing or wrong bearer token");
    const std::string_view target = req.target();
    const std::string_view path = target.substr(0, target.find('?'));
    const bool get = req.method() == http::verb::get || req.method() == http::verb::head;
    if (path == "/metrics" || path == "/admin/status" || path == "/admin/providers" || path == "/admin/clients") {
        if (!get) co_return Reply{http::status::method_not_allowed, "application/json", "{\"error\":\"method not allowed\"}", "GET, HEAD"};
        const stats::Snapshot snap = stats::take_snapshot(seg);
        if (path == "/metrics")
            co_return Reply{http::status::ok, "text/plain; version=0.0.4; charset=utf-8", stats::render_prometheus(snap), {}};
        if (path == "/admin/providers") co_return Reply{http::status::ok, "application/json", stats::render_providers_json(snap), {}};
        if (path == "/admin/clients") co_return Reply{http::status::ok, "application/json", stats::render_clients_json(snap), {}};
        co_return Reply{http::status::ok, "application/json", stats::render_json(snap), {}};
    }
    constexpr std::string_view kProviders = "/admin/providers/";
    if (path.substr(0, kProviders.size()) == kProviders) {
        if (req.method() != http::verb::post)
            co_return Reply{http::status::method_not_allowed, "application/json", "{\"error\":\"method not allowed\"}", "POST"};
        co_return set_disabled(seg, path.substr(kProviders.size()));
    }
    if (path == "/admin/reload") {
        if (req.method() != http::verb::post)
            co_return Reply{http::status::method_not_allowed, "application/json", "{\"error\":\"method not allowed\"}", "POST"};
        co_return co_await reload(seg);
    }
    co_return json_error(http::status::not_found,
                         "no such admin endpoint (GET /metrics, /admin/status, /admin/providers, /admin/clients; "
                         "POST /admin/reload, /admin/providers/<name>/enable|disable)");
}

net::awaitable<void> session(net::ip::tcp::socket socket, stats::Segment& seg, const shared::AdminConfig& cfg) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(16 * 1024);
        parser.body_limit(64 * 1024);
        stream.expires_after(30s);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
        if (ec) co_return;
        const auto& req = parser.get();
        Reply r = co_await answer(req, seg, cfg);
        http::response<http::string_body> res{r.status, req.version()};
        res.set(http::field::server, "cc-relay admin");
        res.set(http::field::content_type, r.content_type);
        if (!r.allow.empty()) res.set(http::field::allow, r.allow);
        if (r.status == http::status::unauthorized) res.set(http::field::www_authenticate, "Bearer");
        const bool head = req.method() == http::verb::head;
        res.body() = head ? std::string() : std::move(r.body);
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        stream.expires_after(30s);
        auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
        if (wec || !req.keep_alive()) co_return;
    }
}

}  // namespace

int run_admin(int fd, std::shared_ptr<const shared::Config> cfg, const std::string& shm_name) {
    std::unique_ptr<stats::Segment> seg;
    try {
        seg = stats::Segment::open(shm_name, true);  // writes only the providers' admin_disabled flags
    } catch (const std::exception& e) {
        spdlog::error("admin: cannot open the stats segment: {}", e.what());
        return 1;
    }
    net::io_context io(1);
    net::ip::tcp::acceptor acceptor(io);
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    boost::system::error_code ec;
    acceptor.assign(addr.ss_family == AF_INET6 ? net::ip::tcp::v6() : net::ip::tcp::v4(), fd, ec);
    if (ec) {
        spdlog::error("admin: cannot use the listening socket: {}", ec.message());
        return 1;
    }
    net::signal_set signals(io, SIGTERM, SIGINT, SIGUSR1);
    std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig != SIGUSR1) return io.stop();
        shared::reopen_log_file();  // the master's log reopen
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);
    const shared::AdminConfig admin = cfg->server.admin;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            for (;;) {
                auto [aec, socket] = co_await acceptor.async_accept(kTuple);
                if (aec) {
                    if (aec == net::error::operation_aborted) co_return;
                    continue;  // EMFILE and the like: the next accept may succeed
                }
                net::co_spawn(io, session(std::move(socket), *seg, admin), net::detached);
            }
        },
        net::detached);
    spdlog::info("admin listening on {}", admin.listen);
    io.run();
    return 0;
}

}  // namespace ccr::master
