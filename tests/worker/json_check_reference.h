#pragma once
// The oracle for check_json's fault offsets and messages: the byte-at-a-time checker that
// worker/json_check.cc was before the block scanner (main at e12e5fa, less its 16-byte skip of
// plain string bytes, which did not change what it found). simdjson judges only the verdict;
// this one says where and why, so the tests can require the new walk to say exactly the same.

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <string_view>

#include "worker/json_check.h"

namespace ccr::worker::reference {


inline bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

class Checker {
  public:
    Checker(std::string_view text, std::size_t max_depth)
        : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth) {}

    JsonFault run() {
        skip_ws();
        for (;;) {
            // A value starts at p_.
            if (p_ == end_) return fail("unexpected end of input");
            switch (*p_) {
                case '{':
                case '[': {
                    const bool object = *p_ == '{';
                    if (depth_ == max_depth_) return fail("nesting deeper than " + std::to_string(max_depth_) + " levels");
                    in_object_[depth_++] = object;
                    ++p_;
                    skip_ws();
                    if (p_ != end_ && *p_ == (object ? '}' : ']')) {
                        --depth_;
                        ++p_;
                        break;  // an empty container is a complete value
                    }
                    if (object && !member_key()) return fault_;
                    continue;  // its first value
                }
                case '"':
                    if (!string()) return fault_;
                    break;
                case 't':
                    if (!literal("true")) return fault_;
                    break;
                case 'f':
                    if (!literal("false")) return fault_;
                    break;
                case 'n':
                    if (!literal("null")) return fault_;
                    break;
                default:
                    if (*p_ == '-' || is_digit(*p_)) {
                        if (!number()) return fault_;
                        break;
                    }
                    return fail("unexpected character where a value should start");
            }
            // A value ended: close containers until one has a next value, or the text ends.
            bool next_value = false;
            while (!next_value) {
                skip_ws();
                if (depth_ == 0) {
                    if (p_ != end_) return fail("trailing content after the JSON value");
                    return {};
                }
                if (p_ == end_) return fail("unexpected end of input");
                const bool object = in_object_[depth_ - 1];
                if (*p_ == ',') {
                    ++p_;
                    skip_ws();
                    if (object && !member_key()) return fault_;
                    next_value = true;
                } else if (*p_ == (object ? '}' : ']')) {
                    ++p_;
                    --depth_;
                } else {
                    return fail(object ? "expected ',' or '}' after an object member" : "expected ',' or ']' after an array element");
                }
            }
        }
    }

  private:
    JsonFault fail(std::string what) {
        fault_ = JsonFault{static_cast<std::size_t>(p_ - begin_), std::move(what)};
        return fault_;
    }

    void skip_ws() {
        while (p_ != end_ && is_ws(*p_)) ++p_;
    }

    // At a member's key: the string, ':' and the whitespace before its value.
    bool member_key() {
        if (p_ == end_ || *p_ != '"') return fail("expected a string as the object member's name"), false;
        if (!string()) return false;
        skip_ws();
        if (p_ == end_ || *p_ != ':') return fail("expected ':' after the object member's name"), false;
        ++p_;
        skip_ws();
        return true;
    }

    bool literal(std::string_view word) {
        if (static_cast<std::size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0) {
            return fail("invalid literal (true, false or null expected)"), false;
        }
        p_ += word.size();
        return true;
    }

    bool digits() {
        if (p_ == end_ || !is_digit(*p_)) return fail("invalid number: a digit expected"), false;
        while (p_ != end_ && is_digit(*p_)) ++p_;
        return true;
    }

    bool number() {
        if (*p_ == '-') ++p_;
        if (p_ != end_ && *p_ == '0') {
            ++p_;
        } else if (!digits()) {
            return false;
        }
        if (p_ != end_ && *p_ == '.') {
            ++p_;
            if (!digits()) return false;
        }
        if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
            ++p_;
            if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
            if (!digits()) return false;
        }
        return true;
    }

    // At the opening quote; leaves p_ past the closing one.
    bool string() {
        ++p_;
        for (;;) {
            while (p_ != end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20) ++p_;
            if (p_ == end_) return fail("unterminated string"), false;
            if (*p_ == '"') {
                ++p_;
                return true;
            }
            if (*p_ != '\\') return fail("control character in a string (must be escaped)"), false;
            const std::size_t len = escape_length(p_);
            if (len == 0) return false;
            p_ += len;
        }
    }

    // At a backslash: the escape's length (2, or 6 for \uXXXX), or 0 after recording the fault.
    std::size_t escape_length(const char* at) {
        if (end_ - at < 2) return p_ = at, fail("unterminated string"), 0;
        switch (at[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                return 2;
            case 'u':
                if (end_ - at >= 6 && is_hex(at[2]) && is_hex(at[3]) && is_hex(at[4]) && is_hex(at[5])) return 6;
                return p_ = at, fail("invalid \\u escape (four hex digits expected)"), 0;
            default:
                return p_ = at, fail("invalid escape in a string"), 0;
        }
    }

    const char* begin_;
    const char* p_;
    const char* end_;
    std::size_t max_depth_;
    std::size_t depth_ = 0;
    std::array<bool, kMaxJsonDepth> in_object_{};
    JsonFault fault_;
};

inline JsonFault check_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth) {
    return Checker(text, std::min(max_depth, kMaxJsonDepth)).run();
}

}  // namespace ccr::worker::reference
