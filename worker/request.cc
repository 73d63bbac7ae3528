#include "worker/request.h"
#include "worker/client_stream.h"

#include <charconv>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>

#include "shared/error/error.h"
#include "worker/transfer.h"

namespace ccr::worker {

namespace net = boost::asio;
namespace http = boost::beast::http;
using namespace std::string_view_literals;

bool iequals(std::string_view a, std::string_view b) { return boost::beast::iequals(a, b); }

bool header_lists(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        std::size_t comma = value.find(',');
        std::string_view item = value.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (iequals(item, token)) return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

std::string framing_problem(unsigned version, const HeadFields& fields) {
    std::size_t te = 0, cl = 0, host = 0;
    std::string_view te_value;
    for (const HeadField& f : fields) {
        switch (f.known) {
            case http::field::transfer_encoding:
                ++te;
                te_value = f.value;
                break;
            case http::field::content_length: ++cl; break;
            case http::field::host: ++host; break;
            default: break;
        }
    }
    if (te > 0) {
        if (version < 11) return "Transfer-Encoding on an HTTP/1.0 request";
        while (!te_value.empty() && (te_value.front() == ' ' || te_value.front() == '\t')) te_value.remove_prefix(1);
        while (!te_value.empty() && (te_value.back() == ' ' || te_value.back() == '\t')) te_value.remove_suffix(1);
        if (te > 1 || !iequals(te_value, "chunked")) return "unsupported Transfer-Encoding (only chunked is accepted)";
    }
    if (cl > 1) return "more than one Content-Length";
    if (version >= 11 && host != 1) return host == 0 ? "missing Host header" : "more than one Host header";
    return {};
}

bool is_hop_by_hop(http::field name) {
    switch (name) {
        case http::field::connection:
        case http::field::keep_alive:
        case http::field::proxy_connection:
        case http::field::proxy_authenticate:
        case http::field::proxy_authorization:
        case http::field::te:
        case http::field::trailer:
        case http::field::transfer_encoding:
        case http::field::upgrade:
        case http::field::content_length:
            return true;
        default:
            return false;
    }
}

bool has_field_named(const http::fields& fields, const HeadField& f) {
    for (const auto& g : fields) {
        if (g.name() != f.known) continue;
        if (f.known != http::field::unknown || iequals(g.name_string(), f.name)) return true;
    }
    return false;
}

void append_decimal(std::string& out, std::uint64_t n) {
    char digits[20];
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out.append(digits, static_cast<std::size_t>(end - digits));
}

void append_status_line(std::string& out, int status) {
    out += "HTTP/1.1 "sv;
    append_decimal(out, static_cast<std::uint64_t>(status));
    out += ' ';
    std::string_view reason = status == 529 ? std::string_view("Overloaded")
                                            : std::string_view(http::obsolete_reason(
                                                  static_cast<http::status>(status)));
    out += reason.empty() ? std::string_view("Unknown") : reason;
    out += "\r\n"sv;
}

net::awaitable<bool> write_local(ClientStream& stream,
                                 RequestContext& ctx,
                                 int status,
                                 std::string_view content_type,
                                 std::string_view body,
                                 bool head_only,
                                 std::string_view extra_headers) {
    std::string head;
    head.reserve(256 + extra_headers.size());
    append_status_line(head, status);
    if (!content_type.empty()) {
        head += "Content-Type: "sv;
        head += content_type;
        head += "\r\n"sv;
    }
    head += "Content-Length: "sv;
    append_decimal(head, body.size());
    head += "\r\nX-Request-ID: "sv;
    head += ctx.request_id;
    head += "\r\n"sv;
    head += extra_headers;
    if (!ctx.keep_alive || ctx.unread_body) head += "Connection: close\r\n"sv;
    head += "\r\n"sv;
    std::array<net::const_buffer, 2> bufs{net::buffer(head),
                                          net::buffer(body.data(), head_only ? 0 : body.size())};
    stream.expires_at(std::max(ctx.deadline, RequestContext::clock::now() + std::chrono::seconds(30)));
    // The first byte handed to the client, as the relayed answers' (client_sink.cc).
    if (!ctx.rec.ttfb.count())
        ctx.rec.ttfb = std::chrono::duration_cast<std::chrono::microseconds>(
            RequestContext::clock::now() - ctx.start);
    boost::system::error_code ec;
    if (const auto rest = write_now(stream.plain_socket(), bufs))
        std::tie(ec, std::ignore) = co_await net::async_write(stream, rest->span(), net::as_tuple(net::use_awaitable));
    ctx.rec.status = status;
    ctx.rec.bytes_out += head_only ? 0 : body.size();
    if (ec) ctx.keep_alive = false;
    co_return !ec;
}

net::awaitable<bool> write_error(ClientStream& stream,
                                 RequestContext& ctx,
                                 shared::Errc code,
                                 std::string_view message,
                                 std::string_view extra_headers) {
    const shared::ErrorInfo& info = shared::error_info(code);
    std::string body = shared::error_body(code, message, ctx.request_id);
    // For the access line: the error.type and message the client got.
    ctx.rec.error = std::string(info.type) + ": " + std::string(message.empty() ? info.message : message);
    std::string_view extra = extra_headers;
    if (extra.empty() && (code == shared::Errc::unavailable || code == shared::Errc::rate_limited))
        extra = "Retry-After: 1\r\n";
    // A HEAD request gets the head alone (its Content-Length still says what GET would carry).
    co_return co_await write_local(stream, ctx, info.status, "application/json", body,
                                   ctx.method == "HEAD", extra);
}

}  // namespace ccr::worker
