#include "worker/upstream/usage_tap.h"

#include <cstring>
#include <iterator>
#include <span>

#include <simdjson.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ccr::worker {
namespace {

constexpr std::size_t kMaxLine = 256 * 1024;

namespace od = simdjson::ondemand;

// One parser per process (workers are single-threaded); it keeps its buffers between uses.
od::parser& json_parser() {
    static od::parser parser;
    return parser;
}

// The four counts of a usage object. Fields present overwrite earlier values (message_delta
// carries cumulative totals); absent ones, and values that are not integers, keep them; of a
// repeated name the first counts. False: the object is malformed.
bool read_counts(od::object usage, Usage& u) {
    static constexpr std::string_view kNames[] = {"input_tokens", "output_tokens", "cache_read_input_tokens",
                                                  "cache_creation_input_tokens"};
    std::int64_t* const counts[] = {&u.input_tokens, &u.output_tokens, &u.cache_read_input_tokens,
                                    &u.cache_creation_input_tokens};
    bool seen[std::size(kNames)] = {};
    for (auto field : usage) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return false;
        for (std::size_t i = 0; i < std::size(kNames); ++i) {
            if (key != kNames[i]) continue;
            std::int64_t v;
            if (!seen[i] && field.value().get_int64().get(v) == simdjson::SUCCESS) *counts[i] = v;
            seen[i] = true;
            break;
        }
    }
    return true;
}

// Follows `path` (member names, the first of each if repeated) from `object` to a usage object.
// Every member on the way is walked, so each object on the path is read to its end.
bool read_path(od::object object, std::span<const std::string_view> path, Usage& u) {
    bool found = false;
    for (auto field : object) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return false;
        if (found || key != path.front()) continue;  // its value is skipped
        found = true;
        od::object inner;
        if (field.value().get_object().get(inner)) continue;  // not an object: no usage
        if (!(path.size() == 1 ? read_counts(inner, u) : read_path(inner, path.subspan(1), u))) return false;
    }
    return true;
}

// The usage at `path` in `json`, a JSON object with `capacity - json.size()` readable bytes after
// it (simdjson's padding). On-Demand rather than a DOM: the members off the path are skipped over
// simdjson's structural index instead of built into a tape (a DOM of a small answer was ~5 % of
// the relay's instructions for it). Nothing is taken from text that is not one JSON object: bad
// UTF-8 and unbalanced structure anywhere, and any fault on the path or after the object, leave
// `u` as it was; a malformed scalar inside a skipped member is not looked at.
void read_usage(std::string_view json, std::size_t capacity, std::span<const std::string_view> path, Usage& u) {
    od::document doc;
    od::object root;
    if (json_parser().iterate(json.data(), json.size(), capacity).get(doc) || doc.get_object().get(root)) return;
    Usage read = u;
    if (!read_path(root, path, read)) return;
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return;  // more after the object
    u = read;
}

// The first "message_" in [p, end), or null: 32 positions at a time with AVX2 where the CPU has
// it, else 16 with SSE2 (every x86-64). The word's first and last bytes are compared at once, the
// rest only where both match, which in an event stream is about only where the word is
// (Wojciech Mula's SIMD substring search).
constexpr std::string_view kWord = "message_";

bool word_at(const char* at) { return std::memcmp(at + 1, kWord.data() + 1, kWord.size() - 2) == 0; }

#if defined(__x86_64__)
// The first match in the 32-byte steps that fit (null: none), and where they stopped (`p`).
__attribute__((target("avx2"))) const char* find_message_avx2(const char*& p, const char* end) {
    const __m256i first = _mm256_set1_epi8('m');
    const __m256i last = _mm256_set1_epi8('_');
    while (end - p >= static_cast<std::ptrdiff_t>(32 + kWord.size() - 1)) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + kWord.size() - 1));
        for (unsigned m = static_cast<unsigned>(
                 _mm256_movemask_epi8(_mm256_and_si256(_mm256_cmpeq_epi8(a, first), _mm256_cmpeq_epi8(b, last))));
             m != 0; m &= m - 1) {
            if (const char* at = p + __builtin_ctz(m); word_at(at)) return at;
        }
        p += 32;
    }
    return nullptr;
}
#endif

const char* find_message(const char* p, const char* end) {
#if defined(__x86_64__)
    static const bool avx2 = __builtin_cpu_supports("avx2");
    if (avx2) {
        if (const char* at = find_message_avx2(p, end)) return at;
    }
#endif
#if defined(__SSE2__)
    const __m128i first = _mm_set1_epi8('m');
    const __m128i last = _mm_set1_epi8('_');
    while (end - p >= static_cast<std::ptrdiff_t>(16 + kWord.size() - 1)) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + kWord.size() - 1));
        for (unsigned m = static_cast<unsigned>(
                 _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last))));
             m != 0; m &= m - 1) {
            if (const char* at = p + __builtin_ctz(m); word_at(at)) return at;
        }
        p += 16;
    }
#endif
    const std::size_t at = std::string_view(p, static_cast<std::size_t>(end - p)).find(kWord);
    return at == std::string_view::npos ? nullptr : p + at;
}

constexpr std::string_view kMessageUsage[] = {"usage"};
constexpr std::string_view kStartUsage[] = {"message", "usage"};

}  // namespace

void UsageTap::reset(Mode mode) {
    mode_ = mode;
    usage_ = {};
    line_.clear();
    skipping_ = false;
    carrying_ = false;
    json_.clear();
    json_overflow_ = false;
}

void UsageTap::feed_last(std::string_view chunk, std::size_t readable) {
    if (mode_ == Mode::json && json_.empty() && !json_overflow_ && chunk.size() <= kMaxTappedJson &&
        readable >= chunk.size() + simdjson::SIMDJSON_PADDING) {
        if (!chunk.empty()) read_usage(chunk, readable, kMessageUsage, usage_);
        return;
    }
    feed(chunk);
}

void UsageTap::feed(std::string_view chunk) {
    if (mode_ == Mode::json) {
        if (json_overflow_) return;
        if (json_.size() + chunk.size() > kMaxTappedJson) {
            json_overflow_ = true;
            json_.clear();
            json_.shrink_to_fit();
            return;
        }
        json_.reserve(json_.size() + chunk.size() + simdjson::SIMDJSON_PADDING);  // for finish()
        json_.append(chunk);
        return;
    }
    if (mode_ != Mode::sse) return;
    // A line begun in an earlier piece, first.
    if (carrying_) {
        const char* nl = static_cast<const char*>(std::memchr(chunk.data(), '\n', chunk.size()));
        const std::size_t n = nl ? static_cast<std::size_t>(nl - chunk.data()) : chunk.size();
        carry(chunk.substr(0, n));
        if (!nl) return;
        if (!skipping_) on_line(line_);
        line_.clear();
        skipping_ = false;
        carrying_ = false;
        chunk.remove_prefix(n + 1);
    }
    // The complete lines. Only a line naming a message_ type can carry usage (on_line), so the
    // others are not looked at one by one: a search for "message_" finds the few that may.
    const char* const begin = chunk.data();
    const char* const last_nl = static_cast<const char*>(::memrchr(begin, '\n', chunk.size()));
    const char* const lines_end = last_nl ? last_nl + 1 : begin;
    for (const char* p = begin; const char* hit = find_message(p, lines_end);) {
        const char* line = static_cast<const char*>(::memrchr(p, '\n', static_cast<std::size_t>(hit - p)));
        line = line ? line + 1 : p;
        const char* eol = static_cast<const char*>(std::memchr(hit, '\n', static_cast<std::size_t>(lines_end - hit)));
        on_line({line, static_cast<std::size_t>(eol - line)});
        p = eol + 1;
    }
    // The last line, not ended yet: carried into the next piece.
    if (lines_end != begin + chunk.size()) {
        carrying_ = true;
        carry({lines_end, static_cast<std::size_t>(begin + chunk.size() - lines_end)});
    }
}

void UsageTap::carry(std::string_view bytes) {
    if (skipping_) return;
    // Only a data line is kept (its first byte after any CRs decides), and only up to kMaxLine.
    if (line_.find_first_not_of('\r') == std::string::npos) {
        const std::size_t first = bytes.find_first_not_of('\r');
        if (first != std::string_view::npos && bytes[first] != 'd') {
            skipping_ = true;
            line_.clear();
            return;
        }
    }
    if (line_.size() + bytes.size() > kMaxLine) {
        skipping_ = true;
        line_.clear();
        return;
    }
    line_.append(bytes);
}

void UsageTap::on_line(std::string_view line) {
    while (!line.empty() && line.front() == '\r') line.remove_prefix(1);  // CRs left of a CRLF before it
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, 5) != "data:") return;
    line.remove_prefix(5);
    // Anthropic's events, and those of the providers that copy them, name their type first: the
    // type decides at once (most lines are content_block_delta events).
    std::string_view head = line;
    while (!head.empty() && head.front() == ' ') head.remove_prefix(1);
    static constexpr std::string_view kTypeFirst = "{\"type\":\"";
    if (head.starts_with(kTypeFirst)) {
        head.remove_prefix(kTypeFirst.size());
        if (head.starts_with("message_start\"")) return parse_usage_json(line, true);
        if (head.starts_with("message_delta\"")) return parse_usage_json(line, false);
        return;
    }
    // Otherwise one pass for the prefix both type names share, rather than a search for each
    // name that stops at every quote of the line.
    static constexpr std::string_view kPrefix = "\"message_";
    for (std::string_view rest = line;;) {
        const void* hit = ::memmem(rest.data(), rest.size(), kPrefix.data(), kPrefix.size());
        if (!hit) return;
        rest.remove_prefix(static_cast<std::size_t>(static_cast<const char*>(hit) - rest.data()) +
                           kPrefix.size());
        if (rest.starts_with("start\"")) return parse_usage_json(line, true);
        if (rest.starts_with("delta\"")) return parse_usage_json(line, false);
    }
}

void UsageTap::parse_usage_json(std::string_view json, bool is_start) {
    // A line read in place has no padding after it: copied (two lines per stream).
    padded_.reserve(json.size() + simdjson::SIMDJSON_PADDING);
    padded_.assign(json);
    read_usage(padded_, padded_.capacity(), is_start ? std::span<const std::string_view>(kStartUsage) : kMessageUsage, usage_);
}

void UsageTap::finish() {
    if (mode_ == Mode::json && !json_overflow_ && !json_.empty()) {
        read_usage(json_, json_.capacity(), kMessageUsage, usage_);
        json_.clear();
    }
    if (mode_ == Mode::sse && carrying_ && !skipping_) on_line(line_);
    line_.clear();
    carrying_ = false;
}

}  // namespace ccr::worker
