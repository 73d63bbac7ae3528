#include "worker/providers/oauth/http_transport.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "worker/providers/oauth/entra.h"
#include "worker/upstream/pool.h"

namespace ccr::worker::oauth {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// A token endpoint on loopback, port 0: answers each connection's one request with `reply`.
struct LoopbackEndpoint {
    explicit LoopbackEndpoint(net::io_context& ioc)
        : acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
        net::co_spawn(ioc, serve(), net::detached);
    }
    net::awaitable<void> serve() {
        for (;;) {
            beast::tcp_stream stream(co_await acceptor.async_accept(net::use_awaitable));
            beast::flat_buffer buffer;
            http::request<http::string_body> req;
            co_await http::async_read(stream, buffer, req, net::use_awaitable);
            requests.push_back(req);
            http::response<http::string_body> res{http::status::ok, 11};
            res.set(http::field::content_type, "application/json");
            res.body() = reply;
            res.prepare_payload();
            co_await http::async_write(stream, res, net::use_awaitable);
        }
    }
    std::uint16_t port() const { return acceptor.local_endpoint().port(); }

    tcp::acceptor acceptor;
    std::string reply =
        R"({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0"})";
    std::vector<http::request<http::string_body>> requests;
};

TEST(PoolTransport, EntraTokenComesFromALoopbackEndpointOverPlainHttp) {
    net::io_context ioc;
    LoopbackEndpoint endpoint(ioc);
    upstream::Pool pool(ioc);
    shared::ProviderConfig cfg;
    cfg.name = "foundry";
    cfg.azure_tenant_id = "tenant-1";
    cfg.azure_client_id = "client-1";
    cfg.azure_client_secret = "secret";
    cfg.azure_authority_host = "http://127.0.0.1:" + std::to_string(endpoint.port());
    shared::FakeClock clock;
    auto source = make_entra_token_source(
        load_entra_credentials(cfg), "foundry provider 'foundry'",
        make_pool_transport(pool, "", std::chrono::milliseconds(2000)), clock);
    std::optional<TokenResult> result;
    net::co_spawn(ioc, source->token(), [&](std::exception_ptr e, TokenResult r) {
        if (e) std::rethrow_exception(e);
        result = std::move(r);
        ioc.stop();  // the endpoint's accept loop would keep the io_context running
    });
    ioc.run_for(std::chrono::seconds(10));
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok()) << result->error;
    EXPECT_EQ(result->access_token, "eyJ0");
    ASSERT_EQ(endpoint.requests.size(), 1u);
    const auto& req = endpoint.requests.front();
    EXPECT_EQ(req.method(), http::verb::post);
    EXPECT_EQ(req.target(), "/tenant-1/oauth2/v2.0/token");
    EXPECT_EQ(req[http::field::host], "127.0.0.1:" + std::to_string(endpoint.port()));
    EXPECT_EQ(req[http::field::content_type], "application/x-www-form-urlencoded");
    EXPECT_EQ(req.body(),
              "grant_type=client_credentials&client_id=client-1&client_secret=secret"
              "&scope=https%3A%2F%2Fai.azure.com%2F.default");
}

TEST(PoolTransport, ARefusedConnectionIsAnErrorReply) {
    net::io_context ioc;
    upstream::Pool pool(ioc);
    std::uint16_t port;
    {
        tcp::acceptor closed(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        port = closed.local_endpoint().port();
    }  // nothing listens there now
    Transport transport = make_pool_transport(pool, "", std::chrono::milliseconds(2000));
    TokenRequest req{"GET", "http://127.0.0.1:" + std::to_string(port) + "/token", {}, {}};
    std::optional<HttpReply> reply;
    net::co_spawn(ioc, transport(req), [&](std::exception_ptr e, HttpReply r) {
        if (e) std::rethrow_exception(e);
        reply = std::move(r);
    });
    ioc.run_for(std::chrono::seconds(10));
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 0u);
    EXPECT_NE(reply->error.find("connecting to 127.0.0.1 failed"), std::string::npos)
        << reply->error;
}

}  // namespace
}  // namespace ccr::worker::oauth
