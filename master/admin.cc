#include "master/admin.h"

#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <string_view>
#include <variant>

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
#include <spdlog/spdlog.h>

#include "shared/log/log.h"
#include "master/admin_routes.h"
#include "shared/stats/prometheus.h"
#include "shared/stats/reload_request.h"
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

Reply json(std::string body) { return {http::status::ok, "application/json", std::move(body), {}}; }

// POST /admin/reload: cc-relay reload's protocol and words (shared/stats/reload_request.h),
// polled on a timer so that other connections are served meanwhile.
net::awaitable<Reply> reload(const stats::Segment& seg) {
    constexpr int kTimeoutS = 60;
    const std::int32_t pid = seg.header().master_pid.load(std::memory_order_relaxed);
    auto sent = stats::ReloadRequest::send(seg, pid);
    if (auto* error = std::get_if<std::string>(&sent)) co_return json_error(http::status::service_unavailable, *error);
    const auto& request = std::get<stats::ReloadRequest>(sent);
    net::steady_timer timer(co_await net::this_coro::executor);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kTimeoutS);
    while (std::chrono::steady_clock::now() < deadline) {
        if (const auto outcome = request.poll()) {
            if (outcome->ok) co_return json("{\"ok\":true,\"generation\":" + std::to_string(outcome->generation) + "}");
            std::string body = "{\"ok\":false,\"error\":";
            shared::append_json_string(body, outcome->text);
            body += '}';
            co_return Reply{outcome->master_gone ? http::status::service_unavailable : http::status::internal_server_error,
                            "application/json", std::move(body), {}};
        }
        timer.expires_after(50ms);
        co_await timer.async_wait(kTuple);
    }
    co_return json_error(http::status::gateway_timeout, request.timeout_text(kTimeoutS));
}

// POST /admin/providers/<name>/enable|disable: the flag in the provider's segment row, which
// every worker's router reads per request; it outlives reloads (the row is the name's).
Reply set_disabled(stats::Segment& seg, const std::string& name, bool disable) {
    const int row = seg.find_provider_row(name);
    if (row < 0) return json_error(http::status::not_found, "no provider named " + name);
    seg.layout().providers[row].admin_disabled.store(disable ? 1 : 0, std::memory_order_relaxed);
    spdlog::info("admin: provider {} {}", name, disable ? "disabled" : "enabled");
    std::string body = "{\"provider\":";
    shared::append_json_string(body, name);
    body += disable ? ",\"disabled\":true}" : ",\"disabled\":false}";
    return json(std::move(body));
}

net::awaitable<Reply> answer(const http::request<http::string_body>& req, stats::Segment& seg,
                             const shared::AdminConfig& cfg) {
    if (!bearer_matches(req[http::field::authorization], cfg.bearer_token))
        co_return json_error(http::status::unauthorized, "missing or wrong bearer token");
    AdminRoute route = route_admin(req.method(), req.target());
    switch (route.endpoint) {
        case AdminEndpoint::metrics:
            co_return Reply{http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                            stats::render_prometheus(stats::take_snapshot(seg)), {}};
        case AdminEndpoint::status: co_return json(stats::render_status_json(stats::take_snapshot(seg)));
        case AdminEndpoint::providers: co_return json(stats::render_providers_json(stats::take_snapshot(seg)));
        case AdminEndpoint::clients: co_return json(stats::render_clients_json(stats::take_snapshot(seg)));
        case AdminEndpoint::reload: co_return co_await reload(seg);
        case AdminEndpoint::provider_enable: co_return set_disabled(seg, route.provider, false);
        case AdminEndpoint::provider_disable: co_return set_disabled(seg, route.provider, true);
        case AdminEndpoint::method_not_allowed: {
            Reply r = json_error(http::status::method_not_allowed, "method not allowed");
            r.allow = std::move(route.allow);
            co_return r;
        }
        case AdminEndpoint::not_found: break;
    }
    co_return json_error(http::status::not_found,
                         "no such admin endpoint (GET /metrics, /admin/status, /admin/providers, /admin/clients; "
                         "POST /admin/reload, /admin/providers/<name>/enable|disable)");
}

// Scrapers and operators, not clients: a handful of connections. More are closed at accept so a
// misbehaving scraper cannot exhaust the process's descriptors.
constexpr int kMaxConnections = 64;

net::awaitable<void> session(net::ip::tcp::socket socket, stats::Segment& seg, const shared::AdminConfig& cfg,
                             int& live) {
    ++live;
    struct Leave {
        int& live;
        ~Leave() { --live; }
    } leave{live};
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(16 * 1024);
        parser.body_limit(64 * 1024);
        stream.expires_after(30s);  // the whole request, and an idle keep-alive connection
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
        if (ec) co_return;  // closed, timed out or malformed: nothing worth answering
        const auto& req = parser.get();
        Reply r = co_await answer(req, seg, cfg);
        http::response<http::string_body> res{r.status, req.version()};
        res.set(http::field::server, "cc-relay admin");
        res.set(http::field::content_type, r.content_type);
        if (!r.allow.empty()) res.set(http::field::allow, r.allow);
        if (r.status == http::status::unauthorized) res.set(http::field::www_authenticate, "Bearer");
        res.keep_alive(req.keep_alive());
        res.body() = std::move(r.body);
        res.prepare_payload();
        http::response_serializer<http::string_body> sr(res);
        stream.expires_after(30s);
        // HEAD: the GET's headers (its Content-Length) and no body.
        auto [wec, wn] = req.method() == http::verb::head ? co_await http::async_write_header(stream, sr, kTuple)
                                                          : co_await http::async_write(stream, sr, kTuple);
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
    int live = 0;  // sessions open now
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            for (;;) {
                auto [aec, socket] = co_await acceptor.async_accept(kTuple);
                if (aec) {
                    if (aec == net::error::operation_aborted) co_return;
                    continue;  // EMFILE and the like: the next accept may succeed
                }
                if (live >= kMaxConnections) {
                    boost::system::error_code ignored;  // a refusal: nothing to do if closing fails
                    socket.close(ignored);
                    continue;
                }
                net::co_spawn(io, session(std::move(socket), *seg, admin, live), net::detached);
            }
        },
        net::detached);
    spdlog::info("admin listening on {}", admin.listen);
    io.run();
    return 0;
}

}  // namespace ccr::master
