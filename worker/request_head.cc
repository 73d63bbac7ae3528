#include "worker/request_head.h"

#include <array>
#include <charconv>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

namespace ccr::worker {

namespace http = boost::beast::http;

namespace {

enum : unsigned char { kTokenChar = 1, kValueChar = 2, kTargetChar = 4 };

// Byte classes of the subset: RFC 9110's tchar (Beast's is_token_char); a field value's bytes
// without CR or LF (Beast's parse_token_to_eol takes every byte but the controls other than HTAB,
// and DEL); a request target's visible ASCII (Beast's is_pathchar also takes bytes >= 0x80: a
// head with one goes to Beast).
constexpr std::array<unsigned char, 256> kClass = [] {
    std::array<unsigned char, 256> t{};
    for (int c = 0; c < 256; ++c) {
        const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        const bool tchar = alnum || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
        unsigned char k = 0;
        if (tchar) k |= kTokenChar;
        if ((c >= 0x20 && c != 0x7f) || c == '\t') k |= kValueChar;
        if (c > 0x20 && c < 0x7f) k |= kTargetChar;
        t[static_cast<std::size_t>(c)] = k;
    }
    return t;
}();

inline bool is(unsigned char cls, char c) { return (kClass[static_cast<unsigned char>(c)] & cls) != 0; }

// A Connection value Beast's token-list check accepts for certain: tokens separated by commas
// with optional spaces or tabs around them.
bool plain_token_list(std::string_view v) {
    std::size_t i = 0;
    for (;;) {
        const std::size_t start = i;
        while (i < v.size() && is(kTokenChar, v[i])) ++i;
        if (i == start) return false;
        while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
        if (i == v.size()) return true;
        if (v[i] != ',') return false;
        ++i;
        while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
    }
}

// 1 to 18 decimal digits and nothing else (no overflow to think about; a longer one goes to Beast).
std::optional<std::uint64_t> plain_decimal(std::string_view v) {
    std::uint64_t n = 0;
    const char* const end = v.data() + v.size();
    if (v.empty() || v.size() > 18 || std::from_chars(v.data(), end, n).ptr != end) return std::nullopt;
    return n;
}

// The end of a field value's bytes from `p`: the first control byte other than HTAB, or DEL
// (what ends a value in Beast's parse_token_to_eol), or `last`. 16 bytes at a time where SSE2 is
// there (every x86-64): a Claude Code head is ~1.5 KB, most of it values.
const char* scan_value(const char* p, const char* last) {
#if defined(__SSE2__)
    const __m128i ctl_max = _mm_set1_epi8(0x1f);
    const __m128i del = _mm_set1_epi8(0x7f);
    while (last - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, ctl_max), v);  // bytes <= 0x1f
        const int stops = _mm_movemask_epi8(_mm_or_si128(ctl, _mm_cmpeq_epi8(v, del)));
        if (stops == 0) {
            p += 16;
            continue;
        }
        p += __builtin_ctz(static_cast<unsigned>(stops));
        if (*p != '\t') return p;
        ++p;
    }
#endif
    while (p < last && is(kValueChar, *p)) ++p;
    return p;
}

}  // namespace

SimpleHead parse_simple_head(std::string_view bytes, std::size_t limit, ClientRequest& req) {
    SimpleHead out;
    out.result = SimpleHead::Result::not_simple;
    if (limit < 2) return out;
    // The head must end strictly inside the limit (at it, Beast's accounting decides): scanning
    // stops at `last`, and stopping there means the head is still arriving, or never fits.
    const char* p = bytes.data();
    const char* const begin = p;
    const bool capped = bytes.size() >= limit - 1;
    const char* const last = begin + (capped ? limit - 1 : bytes.size());
    auto ran_out = [&] {
        out.result = capped ? SimpleHead::Result::not_simple : SimpleHead::Result::incomplete;
        return out;
    };

    // request-line = method SP request-target SP HTTP-version CRLF
    const char* const method = p;
    while (p < last && is(kTokenChar, *p)) ++p;
    if (p == last) return ran_out();
    if (p == method || *p != ' ') return out;
    const std::string_view method_string(method, static_cast<std::size_t>(p - method));
    const char* const target = ++p;
    while (p < last && is(kTargetChar, *p)) ++p;
    if (p == last) return ran_out();
    if (p == target || *p != ' ') return out;
    const std::string_view target_string(target, static_cast<std::size_t>(p - target));
    ++p;
    if (last - p < 10) return ran_out();
    if (std::memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != '\r' || p[9] != '\n') {
        return out;
    }
    const unsigned version = p[7] == '1' ? 11 : 10;
    p += 10;

    const http::verb verb = http::string_to_verb(method_string);
    if (verb != http::verb::unknown) {
        req.method(verb);
    } else {
        req.method_string(method_string);
    }
    req.target(target_string);
    req.version(version);

    // header-field = field-name ":" OWS field-value OWS CRLF
    for (;;) {
        if (last - p < 2) return ran_out();
        if (*p == '\r') {
            if (p[1] != '\n') return out;
            p += 2;
            break;
        }
        const char* const name = p;
        while (p < last && is(kTokenChar, *p)) ++p;
        if (p == last) return ran_out();
        if (p == name || *p != ':') return out;
        const std::string_view name_string(name, static_cast<std::size_t>(p - name));
        ++p;
        while (p < last && (*p == ' ' || *p == '\t')) ++p;
        const char* const value = p;
        p = scan_value(p, last);
        // Only CRLF ends a value here (a bare CR or LF, or any other control byte, goes to
        // Beast), and a next line starting with a space or tab would be obs-fold.
        if (last - p < 3) return ran_out();
        if (*p != '\r' || p[1] != '\n' || p[2] == ' ' || p[2] == '\t') return out;
        const char* trimmed = p;
        while (trimmed > value && (trimmed[-1] == ' ' || trimmed[-1] == '\t')) --trimmed;
        const std::string_view value_string(value, static_cast<std::size_t>(trimmed - value));
        p += 2;

        const http::field f = http::string_to_field(name_string);
        switch (f) {
            case http::field::content_length:
                if (out.content_length) return out;  // a second one: Beast's rules
                out.content_length = plain_decimal(value_string);
                if (!out.content_length) return out;
                break;
            case http::field::connection:
            case http::field::proxy_connection:
                if (!plain_token_list(value_string)) return out;
                break;
            case http::field::transfer_encoding:
            case http::field::upgrade:
                return out;
            default:
                break;
        }
        req.insert(f, name_string, value_string);
    }
    out.size = static_cast<std::size_t>(p - begin);
    out.result = SimpleHead::Result::complete;
    return out;
}

}  // namespace ccr::worker
