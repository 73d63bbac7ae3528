#include "worker/upstream/usage_tap.h"

#include <cstring>
#include <iterator>
#include <span>

#include <simdjson.h>

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

constexpr std::string_view kMessageUsage[] = {"usage"};
constexpr std::string_view kStartUsage[] = {"message", "usage"};

}  // namespace

void UsageTap::reset(Mode mode) {
    mode_ = mode;
    usage_ = {};
    events_ = 0;
    line_.clear();
    skipping_ = false;
    at_line_start_ = true;
    json_.clear();
    json_overflow_ = false;
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
    while (!chunk.empty()) {
        if (at_line_start_) {
            // Only `data:` lines are kept; an empty line ends an event.
            if (chunk.front() == '\n' || chunk.front() == '\r') {
                if (chunk.front() == '\n') ++events_;
                chunk.remove_prefix(1);
                continue;
            }
            at_line_start_ = false;
            skipping_ = chunk.front() != 'd';
        }
        const char* nl = static_cast<const char*>(std::memchr(chunk.data(), '\n', chunk.size()));
        std::size_t n = nl ? static_cast<std::size_t>(nl - chunk.data()) : chunk.size();
        if (!skipping_) {
            if (line_.size() + n > kMaxLine) {
                skipping_ = true;
                line_.clear();
            } else if (!nl) {
                line_.append(chunk.data(), n);  // the rest comes with the next chunk
            } else if (line_.empty()) {
                on_line(chunk.substr(0, n));  // the whole line is in this chunk: read in place
            } else {
                line_.append(chunk.data(), n);
                on_line(line_);
            }
        }
        if (!nl) return;
        line_.clear();
        skipping_ = false;
        at_line_start_ = true;
        chunk.remove_prefix(n + 1);
    }
}

void UsageTap::on_line(std::string_view line) {
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
    if (mode_ == Mode::sse && !line_.empty() && !skipping_) on_line(line_);
    line_.clear();
}

}  // namespace ccr::worker
