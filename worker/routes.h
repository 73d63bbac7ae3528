#pragma once
// The relay's routes (the endpoint table of the original design): which answer a method and path
// get, and what a 405 says is allowed there.

#include <ostream>  // Boost 1.81's verb.hpp uses std::ostream without including it
#include <string_view>

#include <boost/beast/http/verb.hpp>

namespace ccr::worker {

enum class Route { messages, count_tokens, models, providers, health, hello, not_found, bad_method };

/// The relayed APIs (the routes that reach a provider).
enum class Endpoint { messages, count_tokens };

Route route_of(boost::beast::http::verb method, std::string_view path);

/// "Allow: ...\r\n" for a 405 on `path`: the methods that route takes.
std::string_view allow_header(std::string_view path);

/// Liveness probes answer without credentials even when auth is configured.
inline bool is_probe(Route r, boost::beast::http::verb method) {
    return r == Route::health || (r == Route::hello && method == boost::beast::http::verb::head);
}

}  // namespace ccr::worker
