#include "worker/providers/aws/errors.h"

#include <simdjson.h>

#include <array>

namespace ccr::worker::aws {

namespace {

struct ByName {
    std::string_view name;
    unsigned status;
    std::string_view type;
};

// The table in errors.h. Auth failures keep 403 unless Bedrock answered 401 (handled below).
constexpr std::array<ByName, 17> kByName = {{
    {"ValidationException", 400, "invalid_request_error"},
    {"AccessDeniedException", 403, "permission_error"},
    {"UnrecognizedClientException", 403, "permission_error"},
    {"InvalidSignatureException", 403, "permission_error"},
    {"IncompleteSignatureException", 403, "permission_error"},
    {"MissingAuthenticationTokenException", 403, "permission_error"},
    {"ExpiredTokenException", 403, "permission_error"},
    {"ResourceNotFoundException", 404, "not_found_error"},
    {"ModelTimeoutException", 504, "timeout_error"},
    {"ModelErrorException", 500, "api_error"},
    {"ModelStreamErrorException", 500, "api_error"},
    {"ThrottlingException", 429, "rate_limit_error"},
    {"ModelNotReadyException", 429, "rate_limit_error"},
    {"ServiceQuotaExceededException", 429, "rate_limit_error"},
    {"InternalServerException", 500, "api_error"},
    {"ServiceUnavailableException", 529, "overloaded_error"},
    {"TooManyRequestsException", 429, "rate_limit_error"},
}};

std::string_view type_for_status(unsigned status) {
    switch (status) {
        case 401:
            return "authentication_error";
        case 403:
            return "permission_error";
        case 404:
            return "not_found_error";
        case 413:
            return "request_too_large";
        case 429:
            return "rate_limit_error";
        case 504:
            return "timeout_error";
        case 529:
            return "overloaded_error";
        default:
            return status < 500 ? "invalid_request_error" : "api_error";
    }
}

/// "ValidationException:http://internal.amazon.com/..." and "com.amazon.coral#Throttling..."
/// both name the error by what is left.
std::string_view bare_name(std::string_view t) {
    t = t.substr(0, t.find(':'));
    if (auto hash = t.rfind('#'); hash != std::string_view::npos) t.remove_prefix(hash + 1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    return t;
}

struct BodyFields {
    std::string message;
    std::string type;
};

// The error path is rare, so a parser per call is fine; the body is small and copied once into
// simdjson's padded buffer.
BodyFields read_body(std::string_view body) {
    BodyFields f;
    if (body.empty()) return f;
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(body);
    simdjson::ondemand::document doc;
    simdjson::ondemand::object obj;
    if (parser.iterate(padded).get(doc) || doc.get_object().get(obj)) return f;
    bool have_message = false;
    for (auto field : obj) {
        std::string_view key, value;
        if (field.unescaped_key().get(key)) return f;
        bool is_message = key == "message" || key == "Message";
        bool is_type = key == "__type" || key == "code";
        if (!is_message && !is_type) continue;  // the loop skips the value
        if (field.value().get_string().get(value)) continue;
        if (is_message && !have_message) {
            f.message.assign(value);
            have_message = true;
        } else if (is_type && f.type.empty()) {
            f.type.assign(value);
        }
    }
    return f;
}

}  // namespace

MappedError map_bedrock_error(unsigned status, std::string_view error_type, std::string_view body) {
    BodyFields fields = read_body(body);
    std::string_view name = bare_name(error_type);
    if (name.empty()) name = bare_name(fields.type);

    MappedError out{status, {}, std::move(fields.message)};
    if (out.message.empty()) {
        out.message =
            !name.empty() ? std::string(name) : "Bedrock returned HTTP " + std::to_string(status);
    }
    if (status == 401) {
        out.type = "authentication_error";
        return out;
    }
    for (const auto& e : kByName) {
        if (e.name == name) {
            out.status = e.status;
            out.type = e.type;
            return out;
        }
    }
    if (status < 400) out.status = 502;
    out.type = type_for_status(out.status);
    return out;
}

}  // namespace ccr::worker::aws
