#include "worker/thinking.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "worker/json_check.h"
#include "worker/json_parser.h"

namespace ccr::worker {

namespace od = simdjson::ondemand;

namespace {

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The end of the JSON value that starts at `pos`. The body has been walked by simdjson before
// any of this is used, so it is well formed; the scan only has to respect strings.
std::size_t value_end(std::string_view body, std::size_t pos) {
    if (pos >= body.size()) return body.size();
    const auto string_end = [&](std::size_t p) {  // p: the opening quote
        for (++p; p < body.size(); ++p) {
            if (body[p] == '\\') {
                ++p;
            } else if (body[p] == '"') {
                return p + 1;
            }
        }
        return body.size();
    };
    const char first = body[pos];
    if (first == '"') return string_end(pos);
    if (first != '{' && first != '[') {
        while (pos < body.size() && !is_json_space(body[pos]) && body[pos] != ',' &&
               body[pos] != '}' && body[pos] != ']') {
            ++pos;
        }
        return pos;
    }
    int depth = 0;
    while (pos < body.size()) {
        const char c = body[pos];
        if (c == '"') {
            pos = string_end(pos);
            continue;
        }
        if (c == '{' || c == '[') ++depth;
        if ((c == '}' || c == ']') && --depth == 0) return pos + 1;
        ++pos;
    }
    return body.size();
}

bool is_thinking_type(std::string_view type) {
    return type == "thinking" || type == "redacted_thinking";
}

// One element of a JSON array: where it starts and ends, and whether it goes.
struct Element {
    std::size_t start = 0;
    std::size_t end = 0;
    bool remove = false;
};

// The ranges that remove the marked elements and keep the array valid: an element after a kept
// one goes with the separator before it; one in a leading run of removed elements goes with the
// separator after it (a kept element follows, or the run is the whole array). Increasing order,
// adjacent at most.
void removal_ranges(const std::vector<Element>& elements, std::vector<ByteRange>& out) {
    const bool all =
        std::all_of(elements.begin(), elements.end(), [](const Element& e) { return e.remove; });
    if (all) {
        if (!elements.empty()) {
            out.push_back({elements.front().start, elements.back().end - elements.front().start});
        }
        return;
    }
    bool kept_before = false;
    for (std::size_t i = 0; i < elements.size(); ++i) {
        const Element& e = elements[i];
        if (!e.remove) {
            kept_before = true;
        } else if (kept_before) {
            out.push_back({elements[i - 1].end, e.end - elements[i - 1].end});
        } else {
            out.push_back({e.start, elements[i + 1].start - e.start});
        }
    }
}

// One message of "messages", as far as thinking is concerned.
struct Message {
    Element element;
    bool assistant = false;
    std::vector<Element> blocks;  // the content array's elements, when it is an array
    bool starts_with_thinking = false;
};

class Scanner {
  public:
    Scanner(std::string_view body, const char* base) : body_(body), base_(base) {}

    std::size_t offset_of(od::value& v) {
        return static_cast<std::size_t>(v.raw_json_token().data() - base_);
    }

    // The "type" of a content block; "" when it has none or is not an object.
    simdjson::error_code block_type(od::value& block, std::string_view& type) {
        type = {};
        od::object obj;
        if (block.get_object().get(obj)) return simdjson::SUCCESS;  // not a block: keep it
        for (auto field : obj) {
            std::string_view key;
            if (auto err = field.unescaped_key().get(key)) return err;
            od::value v;
            if (auto err = field.value().get(v)) return err;
            if (key == "type" && type.empty()) {
                std::string_view t;
                if (v.get_string().get(t) == simdjson::SUCCESS) type = t;
            }
        }
        return simdjson::SUCCESS;
    }

    simdjson::error_code content(od::value& value, Message& m) {
        od::array arr;
        if (value.get_array().get(arr)) return simdjson::SUCCESS;  // a string: no blocks
        for (auto item : arr) {
            od::value block;
            if (auto err = item.get(block)) return err;
            Element e;
            e.start = offset_of(block);
            std::string_view type;
            if (auto err = block_type(block, type)) return err;
            e.end = value_end(body_, e.start);
            e.remove = is_thinking_type(type);
            if (m.blocks.empty()) m.starts_with_thinking = e.remove;
            m.blocks.push_back(e);
        }
        return simdjson::SUCCESS;
    }

    simdjson::error_code message(od::value& value, Message& m) {
        m.element.start = offset_of(value);
        od::object obj;
        if (value.get_object().get(obj) == simdjson::SUCCESS) {
            for (auto field : obj) {
                std::string_view key;
                if (auto err = field.unescaped_key().get(key)) return err;
                od::value v;
                if (auto err = field.value().get(v)) return err;
                if (key == "role") {
                    std::string_view role;
                    if (v.get_string().get(role) == simdjson::SUCCESS) {
                        m.assistant = role == "assistant";
                    }
                } else if (key == "content") {
                    m.blocks.clear();
                    m.starts_with_thinking = false;
                    if (auto err = content(v, m)) return err;
                }
            }
        }
        m.element.end = value_end(body_, m.element.start);
        return simdjson::SUCCESS;
    }

    simdjson::error_code messages(od::value& value, ThinkingInfo& info) {
        od::array arr;
        if (value.get_array().get(arr)) return simdjson::SUCCESS;
        std::vector<Message> all;
        for (auto item : arr) {
            od::value v;
            if (auto err = item.get(v)) return err;
            if (auto err = message(v, all.emplace_back())) return err;
        }
        std::vector<Element> whole;  // the messages, marked when they go whole
        std::vector<ByteRange> inside;
        for (const Message& m : all) {
            Element e = m.element;
            if (m.assistant) {
                const auto thinking = static_cast<std::size_t>(std::count_if(
                    m.blocks.begin(), m.blocks.end(), [](const Element& b) { return b.remove; }));
                info.block_count += thinking;
                info.last_assistant_starts_with_thinking = m.starts_with_thinking;
                if (thinking == m.blocks.size() && thinking > 0) {
                    e.remove = true;
                } else if (thinking > 0) {
                    removal_ranges(m.blocks, inside);
                }
            }
            whole.push_back(e);
        }
        info.has_thinking = info.block_count > 0;
        removal_ranges_of_marked(whole, inside, info.removals);
        return simdjson::SUCCESS;
    }

  private:
    // Merges the whole-message removals with those inside kept messages, in offset order.
    static void removal_ranges_of_marked(const std::vector<Element>& messages,
                                         const std::vector<ByteRange>& inside,
                                         std::vector<ByteRange>& out) {
        if (std::any_of(messages.begin(), messages.end(),
                        [](const Element& e) { return e.remove; })) {
            removal_ranges(messages, out);
        }
        out.insert(out.end(), inside.begin(), inside.end());
        std::sort(out.begin(), out.end(),
                  [](const ByteRange& a, const ByteRange& b) { return a.offset < b.offset; });
    }

    std::string_view body_;
    const char* base_;
};

simdjson::error_code thinking_member(od::value& value,
                                     std::size_t start,
                                     std::string_view body,
                                     ThinkingInfo& info) {
    info.thinking_value = ByteRange{start, value_end(body, start) - start};
    od::object obj;
    if (value.get_object().get(obj)) return simdjson::SUCCESS;
    for (auto field : obj) {
        std::string_view key;
        if (auto err = field.unescaped_key().get(key)) return err;
        od::value v;
        if (auto err = field.value().get(v)) return err;
        std::string_view type;
        if (key == "type" && v.get_string().get(type) == simdjson::SUCCESS) {
            info.thinking_enabled = type != "disabled";
        }
    }
    return simdjson::SUCCESS;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

bool may_carry_thinking_blocks(std::string_view body) { return check_json(body).mentions_thinking; }

ThinkingInfo scan_thinking(JsonParser& jp, std::string_view body, std::size_t capacity) {
    ThinkingInfo info;
    PaddedJson padded(body, capacity);
    od::document doc;
    od::object obj;
    if (jp.parser.iterate(padded.view).get(doc) || doc.get_object().get(obj)) return info;
    Scanner scan(body, padded.view.data());
    bool have_messages = false;
    bool have_thinking = false;
    for (auto field : obj) {
        std::string_view key;
        od::value value;
        if (field.unescaped_key().get(key) || field.value().get(value)) return ThinkingInfo{};
        // The first of duplicate keys counts, as for "model" in inspect_body().
        if (key == "messages" && !have_messages) {
            have_messages = true;
            if (scan.messages(value, info)) return ThinkingInfo{};
        } else if (key == "thinking" && !have_thinking) {
            have_thinking = true;
            if (thinking_member(value, scan.offset_of(value), body, info)) return ThinkingInfo{};
        }
    }
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return ThinkingInfo{};
    info.valid = true;
    return info;
}

bool disables_thinking(const ThinkingInfo& info) {
    return info.valid && info.has_thinking && info.thinking_enabled && info.thinking_value &&
           info.last_assistant_starts_with_thinking;
}

bool strip_thinking(const ThinkingInfo& info, BodySplice& splice) {
    if (!info.valid) return false;
    BodySplice edited = splice;  // all or nothing
    for (const ByteRange& r : info.removals) {
        if (!edited.replace(r.offset, r.length, {})) return false;
    }
    if (disables_thinking(info) &&
        !edited.replace(info.thinking_value->offset, info.thinking_value->length,
                        std::string(kThinkingDisabled))) {
        return false;
    }
    splice = std::move(edited);
    return true;
}

bool is_invalid_signature_error(std::string_view body) {
    const std::string text = lower(body);
    if (text.find("thinking") == std::string::npos) return false;
    if (text.find("signature") != std::string::npos) return true;
    if (text.find("cannot be modified") != std::string::npos) return true;
    // "Expected `thinking` or `redacted_thinking`, but found `text`" (quoted in any way, perhaps
    // JSON-escaped), and not, say, "thinking.budget_tokens: Expected an integer".
    constexpr std::string_view kExpected = "expected";
    for (std::size_t at = text.find(kExpected); at != std::string::npos;
         at = text.find(kExpected, at + 1)) {
        std::size_t p = at + kExpected.size();
        while (p < text.size() && (text[p] == ' ' || text[p] == '`' || text[p] == '\'' ||
                                   text[p] == '"' || text[p] == '\\')) {
            ++p;
        }
        const std::string_view rest = std::string_view(text).substr(p);
        if (rest.starts_with("thinking") || rest.starts_with("redacted_thinking")) return true;
    }
    return false;
}

}  // namespace ccr::worker
