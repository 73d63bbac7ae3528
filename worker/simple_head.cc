#include "worker/simple_head.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include "worker/request.h"

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

// Whether `v` is, ignoring case, `word`.
bool iequal(std::string_view v, std::string_view word) {
    if (v.size() != word.size()) return false;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if ((v[i] | 0x20) != word[i]) return false;
    }
    return true;
}

// Whether `v` starts with `prefix` (lower case), ignoring case.
bool istarts_with(std::string_view v, std::string_view prefix) {
    return v.size() >= prefix.size() && iequal(v.substr(0, prefix.size()), prefix);
}

// The names on nearly every request and answer the relay sees (the SDKs', Claude Code's,
// Anthropic's and the providers' fronts'), in lower case and by length, with Beast's enum for
// each or `unknown` for those its table lacks (SimpleHead.HotNamesAreBeastsLookup holds both).
// Looked up by length and then eight bytes at a time, only the letters' case folded: Beast's
// string_to_field hashes every byte of the name before it compares, ~110 instructions a name and
// seven names in the smallest request and answer (bench/analysis.md, row 39).
struct HotName {
    std::string_view name;
    http::field field;
};
constexpr HotName kHotNames[] = {
    {"te", http::field::te},
    {"via", http::field::via},
    {"date", http::field::date},
    {"host", http::field::host},
    {"x-app", http::field::unknown},
    {"accept", http::field::accept},
    {"cf-ray", http::field::unknown},
    {"server", http::field::server},
    {"x-api-key", http::field::unknown},
    {"connection", http::field::connection},
    {"keep-alive", http::field::keep_alive},
    {"request-id", http::field::unknown},
    {"user-agent", http::field::user_agent},
    {"retry-after", http::field::retry_after},
    {"content-type", http::field::content_type},
    {"x-request-id", http::field::unknown},
    {"x-robots-tag", http::field::unknown},
    {"authorization", http::field::authorization},
    {"cache-control", http::field::cache_control},
    {"content-length", http::field::content_length},
    {"accept-encoding", http::field::accept_encoding},
    {"cf-cache-status", http::field::unknown},
    {"content-encoding", http::field::content_encoding},
    {"transfer-encoding", http::field::transfer_encoding},
    {"x-claude-code-session-id", http::field::unknown},
    {"strict-transport-security", http::field::strict_transport_security},
};
constexpr std::size_t kHotMax = 32;  // the longest hot name fits in four words

// Little-endian bytes [at, at + size) of `s` (size 1, 2, 4 or 8): at compile time byte by byte,
// at run time as one load.
constexpr std::uint64_t load_le(std::string_view s, std::size_t at, std::size_t size) {
    if (std::is_constant_evaluated()) {
        std::uint64_t v = 0;
        for (std::size_t b = 0; b < size; ++b)
            v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[at + b])) << (8 * b);
        return v;
    }
    if (size == 8) {
        std::uint64_t v;
        std::memcpy(&v, s.data() + at, 8);
        return v;
    }
    if (size == 4) {
        std::uint32_t v;
        std::memcpy(&v, s.data() + at, 4);
        return v;
    }
    if (size == 2) {
        std::uint16_t v;
        std::memcpy(&v, s.data() + at, 2);
        return v;
    }
    return static_cast<unsigned char>(s[at]);
}

// Word `k` of a name, every load inside it: from eight bytes on, the words at 0, 8, … with the
// last one ending at the name's end (overlapping the one before); shorter names as two
// overlapping halves (4 + 4 bytes, 2 + 2) in one word.
constexpr std::uint64_t name_word(std::string_view s, std::size_t k) {
    const std::size_t n = s.size();
    if (n >= 8) return load_le(s, std::min(8 * k, n - 8), 8);
    if (n >= 4) return load_le(s, 0, 4) | load_le(s, n - 4, 4) << 32;
    if (n >= 2) return load_le(s, 0, 2) | load_le(s, n - 2, 2) << 16;
    return n == 1 ? load_le(s, 0, 1) : 0;
}
constexpr std::size_t name_words(std::size_t n) { return n <= 8 ? 1 : (n + 7) / 8; }

// A hot name's words, and masks with 0x20 where it has a letter: an input word ORed with the mask
// equals the name's word exactly when the bytes are the name's, its letters in either case.
struct HotWords {
    std::array<std::uint64_t, kHotMax / 8> word{};
    std::array<std::uint64_t, kHotMax / 8> fold{};
};
constexpr std::array<HotWords, std::size(kHotNames)> kHotWords = [] {
    std::array<HotWords, std::size(kHotNames)> out{};
    for (std::size_t i = 0; i < std::size(kHotNames); ++i) {
        const std::string_view n = kHotNames[i].name;
        std::array<char, kHotMax> folds{};
        for (std::size_t b = 0; b < n.size(); ++b) folds[b] = n[b] >= 'a' && n[b] <= 'z' ? 0x20 : 0;
        for (std::size_t k = 0; k < name_words(n.size()); ++k) {
            out[i].word[k] = name_word(n, k);
            out[i].fold[k] = name_word(std::string_view(folds.data(), n.size()), k);
        }
    }
    return out;
}();
// For each length, the first entry of that length and one past the last.
constexpr std::array<std::pair<std::uint8_t, std::uint8_t>, kHotMax + 1> kHotByLength = [] {
    std::array<std::pair<std::uint8_t, std::uint8_t>, kHotMax + 1> out{};
    for (std::size_t i = 0; i < std::size(kHotNames); ++i) {
        auto& range = out[kHotNames[i].name.size()];
        if (range.first == range.second) range.first = static_cast<std::uint8_t>(i);
        range.second = static_cast<std::uint8_t>(i + 1);
    }
    return out;
}();
static_assert(std::endian::native == std::endian::little, "kHotWords is compared with loads");
static_assert(std::ranges::is_sorted(kHotNames, {}, [](const HotName& h) { return h.name.size(); }));

const HotName* hot_name(std::string_view name) {
    if (name.size() > kHotMax) return nullptr;
    const auto [first, last] = kHotByLength[name.size()];
    if (first == last) return nullptr;
    const std::size_t words = name_words(name.size());
    std::array<std::uint64_t, kHotMax / 8> in;
    for (std::size_t k = 0; k < words; ++k) in[k] = name_word(name, k);
    for (std::size_t i = first; i < last; ++i) {
        const HotWords& h = kHotWords[i];
        std::size_t k = 0;
        while (k < words && (in[k] | h.fold[k]) == h.word[k]) ++k;
        if (k == words) return &kHotNames[i];
    }
    return nullptr;
}

// A response's Connection tokens: only `close` and `keep-alive` are in the subset (an upgrade or
// a hop-by-hop field named there goes to Beast). False: another token.
bool connection_tokens(std::string_view v, bool& close) {
    while (!v.empty()) {
        const std::size_t comma = v.find(',');
        std::string_view token = v.substr(0, comma);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
        if (iequal(token, "close")) {
            close = true;
        } else if (!iequal(token, "keep-alive")) {
            return false;
        }
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
    }
    return true;
}

enum class Kind { request, response };

// Where a head may lie in the input: a head must end strictly inside the parser's header limit
// (at it, Beast's accounting decides), so scanning stops at `last`, and stopping there means the
// head is still arriving, or, when the input reaches the limit (`capped`), never fits.
struct Window {
    const char* begin;
    bool capped;
    const char* last;
    Window(std::string_view bytes, std::size_t limit)
        : begin(bytes.data()), capped(bytes.size() >= limit - 1), last(begin + (capped ? limit - 1 : bytes.size())) {}
    // What a head that runs into `last` is.
    SimpleHead::Result ran_out() const { return capped ? SimpleHead::Result::not_simple : SimpleHead::Result::incomplete; }
};

// The field lines and the empty line after them, from `p` (which ends past them), each handed to
// `add(field, name, value)`, by the subset's rules for `kind`. Returns `complete`, or what the
// head is when not.
template <class Add>
SimpleHead::Result parse_fields(const char*& p, const Window& w, Kind kind, Add add, SimpleHead& out) {
    const char* const last = w.last;
    const auto ran_out = w.ran_out();
    constexpr auto no = SimpleHead::Result::not_simple;
    // header-field = field-name ":" OWS field-value OWS CRLF
    for (;;) {
        if (last - p < 2) return ran_out;
        if (*p == '\r') {
            if (p[1] != '\n') return no;
            p += 2;
            return SimpleHead::Result::complete;
        }
        const char* const name = p;
        while (p < last && is(kTokenChar, *p)) ++p;
        if (p == last) return ran_out;
        if (p == name || *p != ':') return no;
        const std::string_view name_string(name, static_cast<std::size_t>(p - name));
        ++p;
        while (p < last && (*p == ' ' || *p == '\t')) ++p;
        const char* const value = p;
        p = scan_value(p, last);
        // Only CRLF ends a value here (a bare CR or LF, or any other control byte, goes to
        // Beast), and a next line starting with a space or tab would be obs-fold.
        if (last - p < 3) return ran_out;
        if (*p != '\r' || p[1] != '\n' || p[2] == ' ' || p[2] == '\t') return no;
        const char* trimmed = p;
        while (trimmed > value && (trimmed[-1] == ' ' || trimmed[-1] == '\t')) --trimmed;
        const std::string_view value_string(value, static_cast<std::size_t>(trimmed - value));
        p += 2;

        const http::field f = field_of(name_string);
        switch (f) {
            case http::field::content_length:
                if (out.content_length || out.chunked) return no;  // a second one, or both: Beast's rules
                out.content_length = plain_decimal(value_string);
                if (!out.content_length) return no;
                break;
            case http::field::connection:
            case http::field::proxy_connection:
                if (kind == Kind::request ? !plain_token_list(value_string)
                                          : !connection_tokens(value_string, out.close)) {
                    return no;
                }
                break;
            case http::field::transfer_encoding:
                // A response's `chunked` alone (every stream's); anything else is Beast's.
                if (kind == Kind::request || out.chunked || out.content_length || !iequal(value_string, "chunked"))
                    return no;
                out.chunked = true;
                break;
            case http::field::upgrade:
                return no;
            default:
                break;
        }
        add(f, name_string, value_string);
    }
}

}  // namespace

std::vector<std::string_view> hot_field_names() {
    std::vector<std::string_view> out;
    for (const HotName& h : kHotNames) out.push_back(h.name);
    return out;
}

http::field field_of(std::string_view name) {
    if (const HotName* hot = hot_name(name)) return hot->field;
    if (istarts_with(name, "x-stainless-") || istarts_with(name, "anthropic-")) return http::field::unknown;
    return http::string_to_field(name);
}

SimpleHead parse_simple_head(std::string_view bytes, std::size_t limit, ClientRequest& req) {
    SimpleHead out;
    out.result = SimpleHead::Result::not_simple;
    if (limit < 2) return out;
    const Window w(bytes, limit);
    const char* const last = w.last;
    const char* p = w.begin;
    auto ran_out = [&] {
        out.result = w.ran_out();
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

    req.set_request_line(http::string_to_verb(method_string), method_string, target_string, version);
    out.result = parse_fields(
        p, w, Kind::request,
        [&req](http::field f, std::string_view name, std::string_view value) { req.add(f, name, value); }, out);
    if (out.result != SimpleHead::Result::complete) return out;
    out.size = static_cast<std::size_t>(p - w.begin);
    // Beast's rule, on the first Connection field (a plain token list here: parse_fields checked).
    const HeadField* connection = req.find(http::field::connection);
    req.set_keep_alive(version == 11 ? connection == nullptr || !header_lists(connection->value, "close")
                                     : connection != nullptr && header_lists(connection->value, "keep-alive"));
    return out;
}

SimpleHead parse_simple_response_head(std::string_view bytes, std::size_t limit, ResponseHead& res) {
    SimpleHead out;
    out.result = SimpleHead::Result::not_simple;
    if (limit < 2) return out;
    const Window w(bytes, limit);
    const char* const last = w.last;
    const char* p = w.begin;

    // status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF, HTTP/1.1 only (a 1.0
    // answer's keep-alive rules are Beast's).
    if (last - p < 13) {
        out.result = w.ran_out();
        return out;
    }
    if (std::memcmp(p, "HTTP/1.1 ", 9) != 0) return out;
    p += 9;
    for (int i = 0; i < 3; ++i) {
        if (p[i] < '0' || p[i] > '9') return out;
    }
    const unsigned status = static_cast<unsigned>((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
    if (status < 100 || p[3] != ' ') return out;
    p += 4;
    const char* const reason = p;
    p = scan_value(p, last);
    if (last - p < 2) {
        out.result = w.ran_out();
        return out;
    }
    if (*p != '\r' || p[1] != '\n') return out;
    res.status = status;
    res.reason = std::string_view(reason, static_cast<std::size_t>(p - reason));
    p += 2;

    out.result = parse_fields(
        p, w, Kind::response,
        [&res](http::field f, std::string_view name, std::string_view value) { res.fields.push_back({f, name, value}); },
        out);
    if (out.result == SimpleHead::Result::complete) out.size = static_cast<std::size_t>(p - w.begin);
    return out;
}

void ResponseHead::rebase(const char* from, const char* to) {
    reason = rebased(reason, from, to);
    rebase_fields(fields, from, to);
}

}  // namespace ccr::worker
