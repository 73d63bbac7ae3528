#include "master/admin_routes.h"

#include <openssl/crypto.h>

#include <optional>

#include "shared/util/hex.h"

namespace ccr::master {

namespace http = boost::beast::http;

namespace {

using shared::hex_value;

// %XX decoding of one path segment; nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

AdminRoute only(http::verb method,
                std::initializer_list<http::verb> allowed,
                AdminEndpoint endpoint,
                std::string allow) {
    for (http::verb v : allowed) {
        if (v == method) return {endpoint, {}, {}};
    }
    return {AdminEndpoint::method_not_allowed, {}, std::move(allow)};
}

}  // namespace

AdminRoute route_admin(http::verb method, std::string_view target) {
    const std::string_view path = target.substr(0, target.find('?'));
    const auto get = {http::verb::get, http::verb::head};
    if (path == "/metrics") return only(method, get, AdminEndpoint::metrics, "GET, HEAD");
    if (path == "/admin/status") return only(method, get, AdminEndpoint::status, "GET, HEAD");
    if (path == "/admin/providers") return only(method, get, AdminEndpoint::providers, "GET, HEAD");
    if (path == "/admin/clients") return only(method, get, AdminEndpoint::clients, "GET, HEAD");
    if (path == "/admin/reload")
        return only(method, {http::verb::post}, AdminEndpoint::reload, "POST");

    constexpr std::string_view kProviders = "/admin/providers/";
    if (path.substr(0, kProviders.size()) != kProviders) return {};
    const std::string_view rest = path.substr(kProviders.size());
    const std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) return {};
    const std::string_view action = rest.substr(slash + 1);
    AdminEndpoint endpoint;
    if (action == "enable") {
        endpoint = AdminEndpoint::provider_enable;
    } else if (action == "disable") {
        endpoint = AdminEndpoint::provider_disable;
    } else {
        return {};
    }
    auto name = percent_decode(rest.substr(0, slash));
    if (!name || name->empty()) return {};
    AdminRoute route = only(method, {http::verb::post}, endpoint, "POST");
    if (route.endpoint == endpoint) route.provider = std::move(*name);
    return route;
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
    if (token.empty()) return true;
    constexpr std::string_view kScheme = "Bearer ";
    if (authorization.size() != kScheme.size() + token.size()) return false;
    // The scheme is case-insensitive (RFC 9110 11.1); it is no secret, so a plain compare.
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
        if ((authorization[i] | 0x20) != (kScheme[i] | 0x20)) return false;
    }
    return CRYPTO_memcmp(authorization.data() + kScheme.size(), token.data(), token.size()) == 0;
}

}  // namespace ccr::master
