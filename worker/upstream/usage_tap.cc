#include "worker/upstream/usage_tap.h"

#include <cstring>

#include <simdjson.h>

namespace ccr::worker {
namespace {

constexpr std::size_t kMaxLine = 256 * 1024;

// One parser per process (workers are single-threaded); it keeps its buffers between uses.
simdjson::dom::parser& dom_parser() {
    static simdjson::dom::parser parser;
    return parser;
}

// Fields present overwrite earlier values (message_delta carries cumulative totals); absent ones
// keep them.
void read_usage(simdjson::dom::element usage, Usage& u) {
    auto take = [&](const char* key, std::int64_t& dst) {
        std::int64_t v;
        if (usage[key].get_int64().get(v) == simdjson::SUCCESS) dst = v;
    };
    take("input_tokens", u.input_tokens);
    take("output_tokens", u.output_tokens);
    take("cache_read_input_tokens", u.cache_read_input_tokens);
    take("cache_creation_input_tokens", u.cache_creation_input_tokens);
}

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
    simdjson::dom::element doc;
    if (dom_parser().parse(json.data(), json.size()).get(doc)) return;
    simdjson::dom::element usage;
    if (is_start) {
        if (doc["message"]["usage"].get(usage)) return;
    } else if (doc["usage"].get(usage)) {
        return;
    }
    read_usage(usage, usage_);
}

void UsageTap::finish() {
    if (mode_ == Mode::json && !json_overflow_ && !json_.empty()) {
        simdjson::dom::element doc, usage;
        if (!dom_parser().parse(json_).get(doc) && !doc["usage"].get(usage)) read_usage(usage, usage_);
        json_.clear();
    }
    if (mode_ == Mode::sse && !line_.empty() && !skipping_) on_line(line_);
    line_.clear();
}

}  // namespace ccr::worker
