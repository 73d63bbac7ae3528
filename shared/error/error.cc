#include "shared/error/error.h"

#include <array>

#include "shared/util/json.h"

namespace ccr::shared {
namespace {

constexpr std::array<ErrorInfo, 15> kTable{{
    {200, "", ""},
    {400, "invalid_request_error", "invalid request"},
    {401, "authentication_error", "invalid or missing credentials"},
    {403, "permission_error", "permission denied"},
    {404, "not_found_error", "not found"},
    {405, "invalid_request_error", "method not allowed"},
    {408, "invalid_request_error", "request timed out"},
    {413, "request_too_large", "request body exceeds the maximum allowed size"},
    {431, "invalid_request_error", "request header fields too large"},
    {429, "rate_limit_error", "rate limit exceeded"},
    {500, "api_error", "internal error"},
    {502, "api_error", "upstream connection failed"},
    {503, "api_error", "no provider available"},
    {504, "timeout_error", "upstream timed out"},
    {529, "overloaded_error", "overloaded"},
}};

class RelayCategory : public std::error_category {
public:
    const char* name() const noexcept override { return "cc-relay"; }
    std::string message(int ev) const override {
        if (ev < 0 || static_cast<size_t>(ev) >= kTable.size()) return "unknown";
        return std::string(kTable[ev].message);
    }
};

}  // namespace

const ErrorInfo& error_info(Errc e) { return kTable[static_cast<size_t>(e)]; }

const std::error_category& relay_category() {
    static const RelayCategory cat;
    return cat;
}

std::string error_body(Errc e, std::string_view message, std::string_view request_id) {
    const ErrorInfo& info = error_info(e);
    return error_body(info.type, message.empty() ? info.message : message, request_id);
}

std::string error_body(std::string_view type, std::string_view message, std::string_view request_id) {
    std::string out;
    out.reserve(96 + message.size() + request_id.size());
    out += R"({"type":"error","error":{"type":)";
    append_json_string(out, type);
    out += R"(,"message":)";
    append_json_string(out, message);
    out += R"(},"request_id":)";
    if (request_id.empty()) {
        out += "null";
    } else {
        append_json_string(out, request_id);
    }
    out += '}';
    return out;
}

}  // namespace ccr::shared
