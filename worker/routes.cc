#include "worker/routes.h"

namespace ccr::worker {

namespace http = boost::beast::http;

std::string_view allow_header(std::string_view path) {
    if (path == "/v1/messages" || path == "/v1/messages/count_tokens") return "Allow: POST\r\n";
    return "Allow: GET, HEAD\r\n";
}

Route route_of(http::verb method, std::string_view path) {
    auto is = [&](std::string_view p) { return path == p; };
    if (is("/v1/messages")) return method == http::verb::post ? Route::messages : Route::bad_method;
    if (is("/v1/messages/count_tokens"))
        return method == http::verb::post ? Route::count_tokens : Route::bad_method;
    const bool get_or_head = method == http::verb::get || method == http::verb::head;
    if (is("/v1/models")) return get_or_head ? Route::models : Route::bad_method;
    if (is("/v1/providers")) return get_or_head ? Route::providers : Route::bad_method;
    if (is("/health")) return get_or_head ? Route::health : Route::bad_method;
    if (is("/") || is("/api/hello")) return get_or_head ? Route::hello : Route::bad_method;
    return Route::not_found;
}

}  // namespace ccr::worker
