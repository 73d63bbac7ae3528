#include "worker/limits/rate_limit_headers.h"

#include <cctype>
#include <charconv>
#include <chrono>

namespace ccr::worker::limits {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::optional<std::int64_t> integer(std::string_view s) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || v < 0) return std::nullopt;
    return v;
}

/// `n` digits at `s[pos]`.
std::optional<int> digits(std::string_view s, std::size_t pos, std::size_t n) {
    if (pos + n > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return std::nullopt;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

}  // namespace

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view t) {
    t = trim(t);
    const auto year = digits(t, 0, 4), month = digits(t, 5, 2), day = digits(t, 8, 2),
               hour = digits(t, 11, 2), minute = digits(t, 14, 2), second = digits(t, 17, 2);
    if (!year || !month || !day || !hour || !minute || !second || t[4] != '-' || t[7] != '-' ||
        (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || t[13] != ':' || t[16] != ':') {
        return std::nullopt;
    }
    using namespace std::chrono;
    const year_month_day ymd{std::chrono::year{*year},
                             std::chrono::month{static_cast<unsigned>(*month)},
                             std::chrono::day{static_cast<unsigned>(*day)}};
    if (!ymd.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
    std::int64_t ms = duration_cast<milliseconds>(sys_days{ymd}.time_since_epoch()).count() +
                      ((*hour * 60LL + *minute) * 60 + *second) * 1000;
    std::size_t pos = 19;
    if (pos < t.size() && t[pos] == '.') {
        std::int64_t frac = 0, scale = 1000;
        for (++pos; pos < t.size() && t[pos] >= '0' && t[pos] <= '9'; ++pos) {
            if (scale > 1) {
                scale /= 10;
                frac += (t[pos] - '0') * scale;
            }
        }
        ms += frac;
    }
    if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z') && pos + 1 == t.size()) return ms;
    if (pos + 6 == t.size() && (t[pos] == '+' || t[pos] == '-') && t[pos + 3] == ':') {
        const auto oh = digits(t, pos + 1, 2), om = digits(t, pos + 4, 2);
        if (!oh || !om) return std::nullopt;
        const std::int64_t offset = (*oh * 60LL + *om) * 60'000;
        return t[pos] == '+' ? ms - offset : ms + offset;
    }
    return std::nullopt;
}

std::optional<std::int64_t> parse_retry_after_ms(std::string_view value) {
    value = trim(value);
    const std::size_t dot = value.find('.');
    const auto whole = integer(value.substr(0, dot));
    if (!whole) return std::nullopt;
    std::int64_t ms = *whole * 1000;
    if (dot != std::string_view::npos) {
        std::int64_t scale = 1000;
        for (char c : value.substr(dot + 1)) {
            if (c < '0' || c > '9') return std::nullopt;
            if (scale > 1) {
                scale /= 10;
                ms += (c - '0') * scale;
            }
        }
    }
    return ms;
}

bool add_rate_limit_header(RateLimitReport& report,
                           std::string_view name,
                           std::string_view value,
                           std::int64_t now_unix_ms,
                           std::int64_t now_mono_ms) {
    constexpr std::string_view kPrefix = "anthropic-ratelimit-";
    if (name.size() <= kPrefix.size() || !iequals(name.substr(0, kPrefix.size()), kPrefix))
        return false;
    name.remove_prefix(kPrefix.size());
    LimitReport* target = nullptr;
    for (auto [kind, r] : {std::pair{std::string_view("requests-"), &report.requests},
                           std::pair{std::string_view("input-tokens-"), &report.input_tokens},
                           std::pair{std::string_view("output-tokens-"), &report.output_tokens}}) {
        if (name.size() > kind.size() && iequals(name.substr(0, kind.size()), kind)) {
            target = r;
            name.remove_prefix(kind.size());
            break;
        }
    }
    if (target == nullptr) return false;
    value = trim(value);
    if (iequals(name, "limit")) {
        if (const auto v = integer(value)) target->limit = *v;
    } else if (iequals(name, "remaining")) {
        if (const auto v = integer(value)) target->remaining = *v;
    } else if (iequals(name, "reset")) {
        if (const auto at = parse_rfc3339_ms(value))
            target->reset_at_ms = now_mono_ms + (*at - now_unix_ms);
    } else {
        return false;
    }
    return true;
}

}  // namespace ccr::worker::limits
