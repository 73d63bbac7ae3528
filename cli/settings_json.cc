#include "cli/settings_json.h"

#include <cstdint>

#include "shared/util/hex.h"
#include "shared/util/json.h"

namespace ccr::cli {

namespace {

constexpr int kMaxDepth = 512;
// Escape letters and what they stand for; '/' decodes but is never produced.
constexpr std::string_view kEscapes = "\"\\bfnrt/";
constexpr std::string_view kUnescaped = "\"\\\b\f\n\r\t/";

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

using shared::hex_value;

// Length of the well-formed UTF-8 sequence at text[pos] (RFC 3629), 0 when ill-formed.
std::size_t utf8_length(std::string_view text, std::size_t pos) {
    auto byte = [&](std::size_t i) -> unsigned {
        return pos + i < text.size() ? static_cast<unsigned char>(text[pos + i]) : 0;
    };
    unsigned lead = byte(0);
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
        len = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        len = 3;
        if (lead == 0xE0) lo = 0xA0;  // overlong
        if (lead == 0xED) hi = 0x9F;  // UTF-16 surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        len = 4;
        if (lead == 0xF0) lo = 0x90;  // overlong
        if (lead == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
        return 0;
    }
    if (byte(1) < lo || byte(1) > hi) return 0;
    for (std::size_t i = 2; i < len; ++i) {
        if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
    }
    return len;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
        return;
    }
    const int tail = cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;
    out += static_cast<char>(((0xFF00u >> (tail + 1)) & 0xFF) | (cp >> (6 * tail)));  // C0/E0/F0
    for (int i = tail - 1; i >= 0; --i) out += static_cast<char>(0x80 | ((cp >> (6 * i)) & 0x3F));
}

bool key_equals(const std::string& raw_key, std::string_view key) {
    std::string_view inner(raw_key);
    inner = inner.substr(1, inner.size() - 2);
    if (inner.find('\\') == std::string_view::npos) return inner == key;
    auto decoded = decode_json_string(raw_key);
    return decoded && *decoded == key;
}

void print_value(const JsonValue& v, std::string& out, int indent) {
    if (!v.is_object() && !v.is_array()) {
        out += v.raw();
        return;
    }
    const bool obj = v.is_object();
    const std::size_t n = obj ? v.members().size() : v.items().size();
    out += obj ? '{' : '[';
    for (std::size_t i = 0; i < n; ++i) {
        out += i == 0 ? "\n" : ",\n";
        out.append(static_cast<std::size_t>(indent) + 2, ' ');
        if (obj) out += v.members()[i].first + ": ";
        print_value(obj ? v.members()[i].second : v.items()[i], out, indent + 2);
    }
    if (n > 0) {
        out += '\n';
        out.append(static_cast<std::size_t>(indent), ' ');
    }
    out += obj ? '}' : ']';
}

}  // namespace

// The recursive-descent parser; a friend of JsonValue so it can fill members in place.
class JsonParser {
  public:
    explicit JsonParser(std::string_view text) : text_(text) {}

    std::optional<JsonValue> parse(JsonParseError* error) {
        if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
        JsonValue root;
        skip_ws();
        bool ok = value(root, 0);
        if (ok) {
            skip_ws();
            if (pos_ < text_.size()) ok = unexpected("nothing after the JSON value");
        }
        if (ok) return root;
        if (error != nullptr) *error = make_error();
        return std::nullopt;
    }

  private:
    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[pos_]; }
    void skip_ws() {
        while (!at_end() && is_ws(text_[pos_])) ++pos_;
    }

    bool fail(std::string message) {
        err_pos_ = pos_;
        err_ = std::move(message);
        return false;
    }
    bool unexpected(const char* expected) {
        if (at_end()) return fail(std::string("unexpected end of input, expected ") + expected);
        char c = text_[pos_];
        if (c == '/') return fail("comments are not allowed in JSON");
        std::string shown = static_cast<unsigned char>(c) < 0x20 || (c & 0x80)
                                ? std::string("a non-printable character")
                                : "'" + std::string(1, c) + "'";
        return fail("unexpected " + shown + ", expected " + expected);
    }

    JsonParseError make_error() const {
        JsonParseError e{1, 1, err_};
        for (std::size_t i = 0; i < err_pos_ && i < text_.size(); ++i) {
            if (text_[i] == '\n') {
                ++e.line;
                e.column = 1;
            } else if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) {
                ++e.column;  // count characters, not UTF-8 continuation bytes
            }
        }
        return e;
    }

    bool value(JsonValue& out, int depth) {
        if (depth > kMaxDepth) return fail("nesting deeper than 512 levels");
        char c = peek();
        if (c == '{' || c == '[') return container(out, depth);
        if (c == '"') {
            out.kind_ = JsonValue::Kind::kString;
            return string(out.raw_);
        }
        if (c == '-' || is_digit(c)) {
            out.kind_ = JsonValue::Kind::kNumber;
            return number(out.raw_);
        }
        for (std::string_view word : {"true", "false", "null"}) {
            if (text_.substr(pos_, word.size()) == word) {
                out.kind_ = word == "null" ? JsonValue::Kind::kNull : JsonValue::Kind::kBool;
                out.raw_ = std::string(word);
                pos_ += word.size();
                return true;
            }
        }
        return unexpected("a value");
    }

    bool eat(char c) {
        if (peek() != c) return false;
        ++pos_;
        return true;
    }

    // An object or an array: they differ only in the member names.
    bool container(JsonValue& out, int depth) {
        const bool obj = peek() == '{';
        const char close = obj ? '}' : ']';
        out.kind_ = obj ? JsonValue::Kind::kObject : JsonValue::Kind::kArray;
        ++pos_;
        skip_ws();
        if (eat(close)) return true;
        while (true) {
            JsonValue::Member member;
            if (obj) {
                if (peek() != '"') return unexpected("a member name in double quotes");
                if (!string(member.first)) return false;
                skip_ws();
                if (!eat(':')) return unexpected("':' after the member name");
                skip_ws();
            }
            if (!value(member.second, depth + 1)) return false;
            if (obj) {
                out.members_.push_back(std::move(member));
            } else {
                out.items_.push_back(std::move(member.second));
            }
            skip_ws();
            if (eat(close)) return true;
            if (!eat(',')) return unexpected(obj ? "',' or '}'" : "',' or ']'");
            skip_ws();
            if (peek() == close) return fail(std::string("trailing comma before '") + close + "'");
        }
    }

    // Validates a string literal and appends its source text to `raw`.
    bool string(std::string& raw) {
        std::size_t start = pos_++;
        while (true) {
            if (at_end()) return fail("unterminated string");
            auto c = static_cast<unsigned char>(text_[pos_]);
            if (c == '"') break;
            if (c < 0x20) return fail("control character in a string (it must be escaped)");
            if (c == '\\') {
                char e = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
                if (e == 'u') {
                    for (std::size_t i = 2; i < 6; ++i) {
                        if (pos_ + i >= text_.size() || hex_value(text_[pos_ + i]) < 0) {
                            pos_ += i;
                            return fail("\\u must be followed by 4 hex digits");
                        }
                    }
                    pos_ += 6;
                } else if (kEscapes.find(e) != std::string_view::npos) {
                    pos_ += 2;
                } else {
                    return fail("invalid escape sequence in a string");
                }
            } else if (c >= 0x80) {
                std::size_t len = utf8_length(text_, pos_);
                if (len == 0) return fail("invalid UTF-8 in a string");
                pos_ += len;
            } else {
                ++pos_;
            }
        }
        ++pos_;  // closing quote
        raw.append(text_.substr(start, pos_ - start));
        return true;
    }

    bool digits() {
        if (!is_digit(peek())) return unexpected("a digit");
        while (is_digit(peek())) ++pos_;
        return true;
    }

    bool number(std::string& raw) {
        std::size_t start = pos_;
        if (peek() == '-') ++pos_;
        if (peek() == '0') {
            ++pos_;
            if (is_digit(peek())) return fail("leading zeros are not allowed in numbers");
        } else if (!digits()) {
            return false;
        }
        if (peek() == '.') {
            ++pos_;
            if (!digits()) return false;
        }
        if (peek() == 'e' || peek() == 'E') {
            ++pos_;
            if (peek() == '+' || peek() == '-') ++pos_;
            if (!digits()) return false;
        }
        raw.assign(text_.substr(start, pos_ - start));
        return true;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    std::size_t err_pos_ = 0;
    std::string err_;
};

JsonValue JsonValue::object() {
    JsonValue v;
    v.kind_ = Kind::kObject;
    return v;
}

JsonValue JsonValue::string(std::string_view text) {
    JsonValue v;
    v.kind_ = Kind::kString;
    v.raw_ = encode_json_string(text);
    return v;
}

std::optional<std::string> JsonValue::string_value() const {
    if (kind_ != Kind::kString) return std::nullopt;
    return decode_json_string(raw_);
}

JsonValue* JsonValue::find(std::string_view key) {
    for (auto it = members_.rbegin(); it != members_.rend(); ++it) {
        if (key_equals(it->first, key)) return &it->second;
    }
    return nullptr;
}

const JsonValue* JsonValue::find(std::string_view key) const {
    return const_cast<JsonValue*>(this)->find(key);
}

JsonValue& JsonValue::set(std::string_view key, JsonValue value) {
    if (JsonValue* existing = find(key)) {
        *existing = std::move(value);
        return *existing;
    }
    members_.emplace_back(encode_json_string(key), std::move(value));
    return members_.back().second;
}

bool JsonValue::erase(std::string_view key) {
    std::size_t before = members_.size();
    std::erase_if(members_, [&](const Member& m) { return key_equals(m.first, key); });
    return members_.size() != before;
}

std::string JsonParseError::to_string() const {
    return std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

std::optional<JsonValue> parse_json(std::string_view text, JsonParseError* error) {
    return JsonParser(text).parse(error);
}

std::string print_json(const JsonValue& value) {
    std::string out;
    print_value(value, out, 0);
    out += '\n';
    return out;
}

std::optional<std::string> decode_json_string(std::string_view raw) {
    if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return std::nullopt;
    std::string out;
    auto read_hex4 = [&](std::size_t at, std::uint32_t& cp) {
        if (at + 4 > raw.size() - 1) return false;
        cp = 0;
        for (std::size_t i = at; i < at + 4; ++i) {
            int h = hex_value(raw[i]);
            if (h < 0) return false;
            cp = cp * 16 + static_cast<std::uint32_t>(h);
        }
        return true;
    };
    for (std::size_t i = 1; i + 1 < raw.size(); ++i) {
        char c = raw[i];
        if (c != '\\') {
            out += c;
            continue;
        }
        if (i + 2 >= raw.size()) return std::nullopt;
        char e = raw[++i];
        if (e == 'u') {
            std::uint32_t cp = 0, low = 0;
            if (!read_hex4(i + 1, cp)) return std::nullopt;
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && raw.substr(i + 1, 2) == "\\u" &&
                read_hex4(i + 3, low) && low >= 0xDC00 && low <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                i += 6;
            } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                cp = 0xFFFD;  // a lone surrogate has no UTF-8 form
            }
            append_utf8(out, cp);
        } else if (auto k = kEscapes.find(e); k != std::string_view::npos) {
            out += kUnescaped[k];
        } else {
            return std::nullopt;
        }
    }
    return out;
}

std::string encode_json_string(std::string_view text) {
    std::string out;
    shared::append_json_string(out, text);
    return out;
}

}  // namespace ccr::cli
