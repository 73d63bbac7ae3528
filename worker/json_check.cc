#include "worker/json_check.h"

// Two passes, interleaved: the block scan (json_scan.h) runs up to 4 KiB ahead and leaves one
// in-string bit per byte plus the first invalid byte inside a string; the grammar walk below
// reads only the bytes outside strings and, at a string, jumps to its closing quote with one
// look at the in-string mask. A fault is the first one a byte-by-byte reading would meet: the
// walk reports a string's invalid byte when it reaches that string, so a grammar fault before
// it still comes first. The walk's hot paths (strings, member names, separators) are inline;
// every fault is out of line.

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdint>
#include <cstring>

#include "worker/json_scan.h"

namespace ccr::worker {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The walk passes its cursor by value (a null one after a fault) so that it stays in a register:
// a member would be stored at every step.
class Checker {
  public:
    Checker(std::string_view text, std::size_t max_depth, JsonScanner scanner, std::vector<JsonMember>* members)
        : begin_(text.data()),
          end_(text.data() + text.size()),
          max_depth_(max_depth),
          members_(members),
          scanner_(scanner) {
        if (members_) members_->clear();
        scan_.text = text.data();
        scan_.size = text.size();
        limit_ = scan_.size;
    }

    JsonFault run() {
        if (!walk(begin_)) return std::move(fault_);
        JsonFault ok;
        ok.mentions_thinking = thinking_;
        ok.ascii_prefix = std::min(scan_.first_high, scan_.size);
        return ok;
    }

  private:
    bool walk(const char* p) {
        p = skip_ws(p);
        for (;;) {
            // A value starts at p.
            if (p == end_) return fail(p, "unexpected end of input");
            switch (*p) {
                case '{':
                case '[': {
                    const bool object = *p == '{';
                    if (depth_ == max_depth_) return fail_depth(p);
                    in_object_[depth_++] = object;
                    p = skip_ws(p + 1);
                    if (p != end_ && *p == (object ? '}' : ']')) {
                        --depth_;
                        ++p;
                        break;  // an empty container is a complete value
                    }
                    if (object && !(p = member_key(p))) return false;
                    continue;  // its first value
                }
                case '"': {
                    const char* open = p;
                    p = string(p);
                    if (p) note_string(open, p, depth_ > 0 && in_object_[depth_ - 1]);
                    break;
                }
                case 't':
                    p = literal(p, "true");
                    break;
                case 'f':
                    p = literal(p, "false");
                    break;
                case 'n':
                    p = literal(p, "null");
                    break;
                default:
                    p = number(p);
                    break;
            }
            if (p == nullptr) return false;
            if (depth_ == 1) member_end(p);
            // A value ended: close containers until one has a next value, or the text ends.
            for (;;) {
                p = skip_ws(p);
                if (depth_ == 0)
                    return p == end_ || fail(p, "trailing content after the JSON value");
                if (p == end_) return fail(p, "unexpected end of input");
                const bool object = in_object_[depth_ - 1];
                if (*p == ',') {
                    p = skip_ws(p + 1);
                    if (object && !(p = member_key(p))) return false;
                    break;
                }
                if (*p != (object ? '}' : ']')) {
                    return fail(p, object ? "expected ',' or '}' after an object member"
                                          : "expected ',' or ']' after an array element");
                }
                ++p;
                if (--depth_ == 1) member_end(p);
            }
        }
    }

    // A value at depth 1 ended at p: in a top-level object, the last member's.
    [[gnu::always_inline]] void member_end(const char* p) {
        if (members_ && in_object_[0]) members_->back().value_end = static_cast<std::size_t>(p - begin_);
    }

    // Records the fault at `at`; false, for `return fail(...)`.
    [[gnu::noinline, gnu::cold]] bool fail(const char* at, const char* what) {
        fault_ = JsonFault{static_cast<std::size_t>(at - begin_), what};
        return false;
    }

    [[gnu::noinline, gnu::cold]] bool fail_depth(const char* at) {
        return fail(at, ("nesting deeper than " + std::to_string(max_depth_) + " levels").c_str());
    }

    const char* skip_ws(const char* p) const {
        while (p != end_ && is_ws(*p)) ++p;
        return p;
    }

    // A complete string [open, close): does it name a thinking block's type (JsonFault)?
    [[gnu::always_inline]] void note_string(const char* open, const char* close, bool member_value) {
        static constexpr std::string_view kThinking = "\"thinking\"";
        static constexpr std::string_view kRedacted = "\"redacted_thinking\"";
        const auto n = static_cast<std::size_t>(close - open);
        if (n == kRedacted.size()) {
            thinking_ |= std::memcmp(open, kRedacted.data(), n) == 0;
        } else if (n == kThinking.size() && member_value) {
            thinking_ |= std::memcmp(open, kThinking.data(), n) == 0;
        }
    }

    // At a member's name: past the string, ':' and the whitespace before its value.
    [[gnu::always_inline]] const char* member_key(const char* p) {
        if (p == end_ || *p != '"')
            return fail(p, "expected a string as the object member's name"), nullptr;
        const char* open = p;
        if (!(p = string(p))) return nullptr;
        note_string(open, p, false);
        const char* close = p;
        p = skip_ws(p);
        if (p == end_ || *p != ':')
            return fail(p, "expected ':' after the object member's name"), nullptr;
        p = skip_ws(p + 1);
        if (members_ && depth_ == 1) {
            members_->push_back({static_cast<std::size_t>(open - begin_), static_cast<std::size_t>(close - begin_),
                                 static_cast<std::size_t>(p - begin_), 0});
        }
        return p;
    }

    const char* literal(const char* p, std::string_view word) {
        if (static_cast<std::size_t>(end_ - p) < word.size() ||
            std::memcmp(p, word.data(), word.size()) != 0) {
            return fail(p, "invalid literal (true, false or null expected)"), nullptr;
        }
        return p + word.size();
    }

    const char* digits(const char* p) {
        if (p == end_ || !is_digit(*p)) return fail(p, "invalid number: a digit expected"), nullptr;
        while (p != end_ && is_digit(*p)) ++p;
        return p;
    }

    // At a value's first byte that is none of { [ " t f n: a number, or no value at all.
    [[gnu::noinline]] const char* number(const char* p) {
        if (*p != '-' && !is_digit(*p))
            return fail(p, "unexpected character where a value should start"), nullptr;
        if (*p == '-') ++p;
        if (p != end_ && *p == '0') {
            ++p;
        } else if (!(p = digits(p))) {
            return nullptr;
        }
        if (p != end_ && *p == '.' && !(p = digits(p + 1))) return nullptr;
        if (p != end_ && (*p == 'e' || *p == 'E')) {
            ++p;
            if (p != end_ && (*p == '+' || *p == '-')) ++p;
            return digits(p);
        }
        return p;
    }

    // At the opening quote: past the closing one. The scan has checked the bytes of every string
    // up to the first invalid one, so what is left is to find the closing quote: the first byte
    // after the opening one outside the in-string mask: one word per 64 bytes of string. The
    // inline path serves the strings that close inside the window scanned so far.
    [[gnu::always_inline]] const char* string(const char* p) {
        const auto open = static_cast<std::size_t>(p - begin_);
        std::size_t word = open / 64 - window_;
        if (word < window_words_) {
            assert((in_string_[word] >> (open % 64)) & 1);  // the walk and the scan agree
            std::uint64_t outside = ~in_string_[word] & (~std::uint64_t{1} << (open % 64));
            while (outside == 0 && ++word < window_words_) outside = ~in_string_[word];
            if (outside != 0) {
                const std::size_t close =
                    64 * (window_ + word) + static_cast<std::size_t>(__builtin_ctzll(outside));
                if (close < limit_) return begin_ + close + 1;
            }
        }
        return long_string(open);
    }

    // The rest of string(): a string that leaves the window, or that is invalid.
    [[gnu::noinline]] const char* long_string(std::size_t open) {
        while (open / 64 >= window_ + window_words_) next_window();  // open < size: terminates
        std::size_t word = open / 64 - window_;
        assert((in_string_[word] >> (open % 64)) & 1);
        std::uint64_t outside = ~in_string_[word] & (~std::uint64_t{1} << (open % 64));
        std::size_t close = scan_.size;
        for (;;) {
            if (outside != 0) {
                close = std::min(close, 64 * (window_ + word) +
                                            static_cast<std::size_t>(__builtin_ctzll(outside)));
                break;
            }
            if (++word == window_words_) {
                if (!next_window()) break;
                word = 0;
            }
            outside = ~in_string_[word];
        }
        if (scan_.error < close) return string_fault(), nullptr;
        if (close == scan_.size) {
            // At a backslash that escapes nothing, as the byte-by-byte reading stops there.
            std::size_t run = 0;
            while (run < close - open - 1 && begin_[close - 1 - run] == '\\') ++run;
            return fail(begin_ + close - run % 2, "unterminated string"), nullptr;
        }
        return begin_ + close + 1;
    }

    // Scans the blocks after the window into it; false when the text has no more.
    bool next_window() {
        const std::size_t next = window_ + window_words_;
        if (64 * next >= scan_.size) return false;
        window_ = next;
        window_words_ = std::min(kWindowWords, (scan_.size - 64 * next + 63) / 64);
        scanner_(scan_, 64 * next, window_words_, in_string_.data());
        limit_ = std::min(scan_.size, scan_.error);
        return true;
    }

    // The scan's first invalid byte in a string, reported where a byte-by-byte reading would:
    // a bad escape at its backslash.
    [[gnu::cold]] bool string_fault() {
        const char* at = begin_ + scan_.error;
        if (!scan_.error_escaped)
            return fail(at, "control character in a string (must be escaped)");
        if (*at == 'u') return fail(at - 1, "invalid \\u escape (four hex digits expected)");
        return fail(at - 1, "invalid escape in a string");
    }

    static constexpr std::size_t kWindowWords = 64;  // 4 KiB of text scanned ahead of the walk

    const char* begin_;
    const char* end_;
    std::size_t max_depth_;
    std::vector<JsonMember>* members_;  // null: not wanted
    std::size_t depth_ = 0;
    // Written at each push before it is read: not zeroed (1 KiB per call otherwise).
    std::array<bool, kMaxJsonDepth> in_object_;
    JsonFault fault_;
    JsonScanner scanner_;
    JsonScanState scan_;
    std::size_t limit_;       // a closing quote at or past it needs long_string
    bool thinking_ = false;   // JsonFault::mentions_thinking
    std::size_t window_ = 0;  // the block (text offset / 64) of in_string_[0]
    std::size_t window_words_ = 0;
    std::array<std::uint64_t, kWindowWords> in_string_;
};

}  // namespace

JsonFault check_json(std::string_view text, std::size_t max_depth, std::vector<JsonMember>* members) {
    static const JsonScanner best = json_scanner(JsonKernel::best);
    return Checker(text, std::min(max_depth, kMaxJsonDepth), best, members).run();
}

JsonFault check_json(std::string_view text, std::size_t max_depth, JsonKernel kernel) {
    return Checker(text, std::min(max_depth, kMaxJsonDepth), json_scanner(kernel), nullptr).run();
}

}  // namespace ccr::worker
