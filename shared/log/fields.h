#pragma once
// A log line made of fields: `msg k=v k="v w"` in text, `"msg":"...","k":v` in JSON (each field
// a JSON field of its own, not one string). The access line and the failed-attempt line use it;
// build one only after spdlog::should_log said the line is wanted.

#include <spdlog/common.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace ccr::shared {

class LogFields {
  public:
    explicit LogFields(std::string_view msg);

    /// Each field has a JSON name and a text name (the text access line keeps its short names:
    /// `rid`, `in_tok`); an empty text name leaves the field out of the text line.
    /// `null_if_empty`: an empty value is JSON null and text `-`.
    LogFields& text(std::string_view json_name,
                    std::string_view text_name,
                    std::string_view value,
                    bool null_if_empty = false);
    LogFields& number(std::string_view json_name, std::string_view text_name, std::int64_t value);
    /// JSON with `json_digits` decimals, text with 2 (milliseconds).
    LogFields& decimal(std::string_view json_name,
                       std::string_view text_name,
                       double value,
                       int json_digits = 3);
    /// JSON true/false, text 1/0.
    LogFields& flag(std::string_view json_name, std::string_view text_name, bool value);
    /// JSON null (absent from text).
    LogFields& null(std::string_view json_name);

    /// JSON members, starting with kJsonFieldsMarker (log.h): the JSON formatter splices them in.
    const std::string& json() const { return json_; }
    /// `msg k=v ...`; a value with a space, a quote or a control character is quoted (as JSON).
    const std::string& text() const { return text_; }

  private:
    void json_key(std::string_view name);
    void text_key(std::string_view name);
    std::string json_, text_;
};

/// Logs the line in the installed format (text or JSON).
void log_fields(spdlog::level::level_enum level, const LogFields& fields);

}  // namespace ccr::shared
