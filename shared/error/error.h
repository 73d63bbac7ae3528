#pragma once
// Errors cc-relay answers itself, in one table: code -> HTTP status and Anthropic `error.type`.
// Upstream errors are never rewritten; these are only for what the relay decides on its own.

#include <string>
#include <string_view>
#include <system_error>

namespace ccr::shared {

enum class Errc {
    ok = 0,
    invalid_request,      // 400 invalid_request_error
    unauthorized,         // 401 authentication_error
    forbidden,            // 403 permission_error
    not_found,            // 404 not_found_error
    method_not_allowed,   // 405 invalid_request_error
    request_timeout,      // 408 invalid_request_error
    request_too_large,    // 413 request_too_large
    header_too_large,     // 431 invalid_request_error
    rate_limited,         // 429 rate_limit_error
    internal,             // 500 api_error
    upstream_failed,      // 502 api_error
    unavailable,          // 503 api_error
    upstream_timeout,     // 504 timeout_error
    overloaded,           // 529 overloaded_error
};

struct ErrorInfo {
    int status;
    std::string_view type;     // Anthropic error.type
    std::string_view message;  // default message
};

const ErrorInfo& error_info(Errc e);

const std::error_category& relay_category();
inline std::error_code make_error_code(Errc e) { return {static_cast<int>(e), relay_category()}; }

/// `{"type":"error","error":{"type":...,"message":...},"request_id":...}`; an empty message uses
/// the table's default.
std::string error_body(Errc e, std::string_view message, std::string_view request_id);
/// The same shape with any error.type (a provider's error mapped to Anthropic's terms).
std::string error_body(std::string_view type, std::string_view message, std::string_view request_id);

}  // namespace ccr::shared

template <>
struct std::is_error_code_enum<ccr::shared::Errc> : std::true_type {};
