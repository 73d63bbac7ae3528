#include "shared/log/fields.h"

#include <spdlog/spdlog.h>

#include "shared/log/log.h"
#include "shared/util/json.h"

namespace ccr::shared {
namespace {

bool needs_quotes(std::string_view v) {
    if (v.empty()) return true;
    for (const char c : v) {
        if (c == ' ' || c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
    }
    return false;
}

}  // namespace

LogFields::LogFields(std::string_view msg) : json_(1, kJsonFieldsMarker), text_(msg) {
    json_.reserve(512);
    text_.reserve(384);
    json_ += "\"msg\":";
    append_json_string(json_, msg);
}

void LogFields::json_key(std::string_view name) {
    json_ += ",\"";
    json_ += name;
    json_ += "\":";
}

void LogFields::text_key(std::string_view name) {
    text_ += ' ';
    text_ += name;
    text_ += '=';
}

LogFields& LogFields::text(std::string_view json_name,
                           std::string_view text_name,
                           std::string_view value,
                           bool null_if_empty) {
    const bool null = null_if_empty && value.empty();
    json_key(json_name);
    if (null) {
        json_ += "null";
    } else {
        append_json_string(json_, value);
    }
    if (text_name.empty()) return *this;
    text_key(text_name);
    if (null) {
        text_ += '-';
    } else if (needs_quotes(value)) {
        // JSON string quoting: a reader can take the value back whatever it holds.
        append_json_string(text_, value);
    } else {
        text_ += value;
    }
    return *this;
}

LogFields& LogFields::number(std::string_view json_name,
                             std::string_view text_name,
                             std::int64_t value) {
    const std::string v = std::to_string(value);
    json_key(json_name);
    json_ += v;
    if (!text_name.empty()) {
        text_key(text_name);
        text_ += v;
    }
    return *this;
}

LogFields& LogFields::decimal(std::string_view json_name,
                              std::string_view text_name,
                              double value,
                              int json_digits) {
    json_key(json_name);
    json_ += fmt::format("{:.{}f}", value, json_digits);
    if (!text_name.empty()) {
        text_key(text_name);
        text_ += fmt::format("{:.2f}", value);
    }
    return *this;
}

LogFields& LogFields::flag(std::string_view json_name, std::string_view text_name, bool value) {
    json_key(json_name);
    json_ += value ? "true" : "false";
    if (!text_name.empty()) {
        text_key(text_name);
        text_ += value ? '1' : '0';
    }
    return *this;
}

LogFields& LogFields::null(std::string_view json_name) {
    json_key(json_name);
    json_ += "null";
    return *this;
}

void log_fields(spdlog::level::level_enum level, const LogFields& fields) {
    spdlog::log(level, log_is_json() ? fields.json() : fields.text());
}

}  // namespace ccr::shared
