#pragma once
// The admin listener's request line and credentials, decided apart from serving them
// (master/admin.cc) so that the table of endpoints is tested without sockets.

// <ostream> first: boost/core/detail/string_view.hpp (via verb.hpp) uses it without including it.
#include <ostream>
#include <string>
#include <string_view>

#include <boost/beast/http/verb.hpp>

namespace ccr::master {

enum class AdminEndpoint {
    metrics,           // GET /metrics
    status,            // GET /admin/status
    providers,         // GET /admin/providers
    clients,           // GET /admin/clients
    reload,            // POST /admin/reload
    provider_enable,   // POST /admin/providers/<name>/enable
    provider_disable,  // POST /admin/providers/<name>/disable
    not_found,
    method_not_allowed,
};

struct AdminRoute {
    AdminEndpoint endpoint = AdminEndpoint::not_found;
    std::string provider;  // provider_enable/disable: the name, percent-decoded
    std::string allow;     // method_not_allowed: the Allow header
};

/// Where a request goes: the path of `target` (its query ignored) and the method.
AdminRoute route_admin(boost::beast::http::verb method, std::string_view target);

/// Whether an Authorization header value carries `Bearer <token>`; compared in constant time
/// (for a given length). An empty `token` lets every request in.
bool bearer_matches(std::string_view authorization, std::string_view token);

}  // namespace ccr::master
