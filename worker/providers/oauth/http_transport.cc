#include "worker/providers/oauth/http_transport.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "worker/providers/provider.h"
#include "worker/upstream/pool.h"

namespace ccr::worker::oauth {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using steady = std::chrono::steady_clock;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

namespace {

// The request target: the URL's path and query ("/" when it has none).
std::string target_of(std::string_view url) {
    const std::size_t scheme = url.find("://");
    const std::size_t slash = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
    return slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
}

template <class Stream>
net::awaitable<HttpReply> exchange(Stream& stream,
                                   upstream::Conn& conn,
                                   const TokenRequest& req,
                                   const Origin& origin,
                                   steady::time_point deadline) {
    http::request<http::string_body> out;
    out.method_string(req.method);
    out.target(target_of(req.url));
    out.version(11);
    out.set(http::field::host, origin.host_header());
    out.set(http::field::user_agent, "cc-relay");
    out.set(http::field::accept, "application/json");
    out.set(http::field::connection, "close");
    for (const auto& [name, value] : req.headers) out.set(name, value);
    if (!req.form.empty()) {
        out.set(http::field::content_type, "application/x-www-form-urlencoded");
        out.body() = req.form;
    }
    out.prepare_payload();
    conn.tcp().expires_at(deadline);
    auto [wec, wn] = co_await http::async_write(stream, out, kTuple);
    if (wec) co_return HttpReply{0, {}, "sending to " + origin.host + " failed: " + wec.message()};
    http::response_parser<http::string_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(kMaxTokenReply);
    auto [ec, n] = co_await http::async_read(stream, conn.buffer, parser, kTuple);
    if (ec) {
        const std::string why =
            ec == beast::error::timeout ? std::string("timed out") : ec.message();
        co_return HttpReply{0, {}, "reading from " + origin.host + " failed: " + why};
    }
    co_return HttpReply{parser.get().result_int(), std::move(parser.get().body()), {}};
}

}  // namespace

Transport make_pool_transport(upstream::Pool& pool,
                              std::string ca_file,
                              std::chrono::milliseconds connect_timeout,
                              std::chrono::milliseconds total) {
    return [&pool, ca_file = std::move(ca_file), connect_timeout,
            total](const TokenRequest& req) -> net::awaitable<HttpReply> {
        Origin origin;
        if (!parse_origin(req.url, origin)) co_return HttpReply{0, {}, "bad token URL " + req.url};
        origin.ca_file = ca_file;
        const auto deadline = steady::now() + total;
        boost::system::error_code ec;
        // A fresh connection each time: a token request every few minutes gains nothing from a
        // pooled one, and Connection: close means it is not returned.
        auto conn = co_await pool.acquire(origin, std::min(connect_timeout, total), true, ec);
        if (ec || !conn)
            co_return HttpReply{0, {}, "connecting to " + origin.host + " failed: " + ec.message()};
        // Not a ?: between two co_awaits: GCC 12 miscompiles that (frees a temporary twice).
        HttpReply reply;
        if (conn->tls) {
            reply = co_await exchange(*conn->tls, *conn, req, origin, deadline);
        } else {
            reply = co_await exchange(*conn->plain, *conn, req, origin, deadline);
        }
        conn->close();
        co_return reply;
    };
}

}  // namespace ccr::worker::oauth
