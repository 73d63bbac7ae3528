#pragma once
// A minimal JSON document for editing files we do not own (Claude Code's settings.json):
// object members keep their order and every scalar keeps its source text, so a value we do not
// touch is written back byte for byte (1.50 stays 1.50, "\u00e9" stays "\u00e9"). Only the
// whitespace between tokens is normalised by the printer.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ccr::cli {

class JsonValue {
  public:
    enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
    using Member = std::pair<std::string, JsonValue>;  // raw key text (quotes included), value

    JsonValue() = default;
    static JsonValue object();
    /// A string value holding `text` (UTF-8), escaped as needed.
    static JsonValue string(std::string_view text);

    Kind kind() const { return kind_; }
    bool is_object() const { return kind_ == Kind::kObject; }
    bool is_array() const { return kind_ == Kind::kArray; }
    bool is_string() const { return kind_ == Kind::kString; }
    /// Source text of a scalar (strings with their quotes and escapes).
    const std::string& raw() const { return raw_; }
    /// The decoded text of a string value; nullopt for other kinds.
    std::optional<std::string> string_value() const;

    const std::vector<Member>& members() const { return members_; }
    const std::vector<JsonValue>& items() const { return items_; }

    /// Member lookup by decoded key; the last one wins when a key repeats, as in JSON.parse.
    JsonValue* find(std::string_view key);
    const JsonValue* find(std::string_view key) const;
    /// Replaces the value of `key` in place (keeping its position), else appends the member.
    JsonValue& set(std::string_view key, JsonValue value);
    /// Removes every member named `key`; true when one was removed.
    bool erase(std::string_view key);
    bool empty() const { return members_.empty() && items_.empty(); }

  private:
    friend class JsonParser;
    Kind kind_ = Kind::kNull;
    std::string raw_;
    std::vector<Member> members_;
    std::vector<JsonValue> items_;
};

/// Where and why parsing failed; `line` and `column` are 1-based, columns count characters.
struct JsonParseError {
    int line = 0;
    int column = 0;
    std::string message;
    std::string to_string() const;  // "line:col: message"
};

/// Strict RFC 8259 parsing: no comments, no trailing commas, nothing after the value, valid
/// UTF-8 and escapes, nesting at most 512 deep. A leading UTF-8 byte-order mark is skipped.
std::optional<JsonValue> parse_json(std::string_view text, JsonParseError* error);

/// Pretty-prints with 2-space indentation (the layout of JSON.stringify(v, null, 2)) and a
/// final newline.
std::string print_json(const JsonValue& value);

/// Decodes the raw source text of a JSON string (quotes included); nullopt if it is malformed.
std::optional<std::string> decode_json_string(std::string_view raw);
/// Encodes `text` as a JSON string literal.
std::string encode_json_string(std::string_view text);

}  // namespace ccr::cli
