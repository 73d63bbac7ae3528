#include "worker/body.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

#include "shared/util/json.h"
#include "worker/json_check.h"
#include "worker/json_parser.h"

namespace ccr::worker {

namespace od = simdjson::ondemand;

void JsonParserDeleter::operator()(JsonParser* p) const { delete p; }
std::unique_ptr<JsonParser, JsonParserDeleter> make_json_parser() {
    return std::unique_ptr<JsonParser, JsonParserDeleter>(new JsonParser);
}

namespace {

bool is_json_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// A valid JSON string literal (quotes included) with escapes, unescaped. Rare in the fields the
// relay reads, so simdjson reads it from a padded copy. None for a lone surrogate escape (valid
// JSON, but no string of Unicode characters).
std::optional<std::string> unescape(JsonParser& jp, std::string_view literal) {
    const simdjson::padded_string copy(literal);
    od::document doc;
    std::string_view s;
    if (jp.parser.iterate(copy).get(doc) || doc.get_string().get(s)) return std::nullopt;
    return std::string(s);
}

std::string_view trim_right(std::string_view s) {
    while (!s.empty() && is_json_ws(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

BodyInfo inspect_body(JsonParser& jp, std::string_view body) {
    BodyInfo info;
    std::size_t first = 0;
    while (first < body.size() && is_json_ws(body[first])) ++first;
    if (first == body.size()) {
        info.error = std::string("malformed JSON: ") + simdjson::error_message(simdjson::EMPTY);
        return info;
    }
    if (body[first] != '{') {
        info.error = "request body must be a JSON object";
        return info;
    }
    // One pass: the whole grammar, and where the top-level members are.
    std::vector<JsonMember>& members = jp.members;
    const JsonFault fault = check_json(body, kMaxJsonDepth, &members);
    if (fault) {
        info.error = "malformed JSON at byte " + std::to_string(fault.offset) + ": " + fault.what;
        return info;
    }
    // UTF-8 from the first byte >= 0x80: an all-ASCII body (most of a Claude Code body is) needs
    // no second pass.
    if (!simdjson::validate_utf8(body.data() + fault.ascii_prefix, body.size() - fault.ascii_prefix)) {
        info.error = std::string("malformed JSON: ") + simdjson::error_message(simdjson::UTF8_ERROR);
        return info;
    }
    bool have_model = false;
    for (const JsonMember& m : members) {
        const std::string_view key = body.substr(m.key + 1, m.key_end - m.key - 2);
        const std::string_view value = body.substr(m.value, m.value_end - m.value);
        std::string unescaped_key;
        std::string_view name = key;
        if (key.find('\\') != std::string_view::npos) {
            unescaped_key = unescape(jp, body.substr(m.key, m.key_end - m.key)).value_or("");
            name = unescaped_key;
        }
        if (name == "model") {
            if (have_model) {
                // The upstream's parser may take the last one where routing, mapping and limits
                // read the first: a second `model` would choose what the relay never saw.
                info.error = "model: given more than once";
                return info;
            }
            if (value.front() != '"') {
                info.error = "model: must be a string";
                return info;
            }
            have_model = true;
            info.model_offset = m.value;
            info.model_length = value.size();
            if (value.find('\\') == std::string_view::npos) {
                info.model = value.substr(1, value.size() - 2);
            } else if (auto model = unescape(jp, value)) {
                // Had escapes: keep the unescaped copy.
                info.model_buf = std::make_shared<const std::string>(std::move(*model));
                info.model = *info.model_buf;
            } else {
                info.error = "model: must be a string of Unicode characters (a lone surrogate escape)";
                return info;
            }
        } else if (name == "stream") {
            if (value == "true" || value == "false") info.stream = value == "true";
        } else if (name == "max_tokens") {
            std::uint64_t n = 0;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec == std::errc{} && end == value.data() + value.size()) info.max_tokens = n;
        }
    }
    if (!have_model) {
        info.error = "model: field required";
        return info;
    }
    info.may_carry_thinking = fault.mentions_thinking;
    info.valid = true;
    return info;
}

bool BodySplice::replace(std::size_t offset, std::size_t length, std::string replacement) {
    // Kept sorted by offset: the edits of independent steps (model mapping, stripped thinking
    // blocks) arrive in any order.
    const auto at = std::upper_bound(edits_.begin(), edits_.end(), offset,
                                     [](std::size_t o, const Edit& e) { return o < e.offset; });
    const bool overlaps_previous =
        at != edits_.begin() && std::prev(at)->offset + std::prev(at)->length > offset;
    const bool overlaps_next = at != edits_.end() && offset + length > at->offset;
    if (offset + length > original_.size() || offset + length < offset || overlaps_previous ||
        overlaps_next) {
        return false;
    }
    edits_.insert(at, {offset, length, std::move(replacement)});
    return true;
}

std::size_t BodySplice::size() const {
    std::size_t n = original_.size();
    for (const auto& e : edits_) n = n - e.length + e.text.size();
    return n;
}

std::vector<boost::asio::const_buffer> BodySplice::buffers() const {
    std::vector<boost::asio::const_buffer> out;
    out.reserve(edits_.size() * 2 + 1);
    append_buffers(out);
    return out;
}

std::string BodySplice::str() const {
    std::string s;
    s.reserve(size());
    for (const auto& b : buffers()) s.append(static_cast<const char*>(b.data()), b.size());
    return s;
}

namespace {

std::size_t count_text(od::value v, int depth) {
    if (depth > 64) return 0;
    od::json_type t;
    if (v.type().get(t)) return 0;
    switch (t) {
        case od::json_type::string: {
            std::string_view s;
            return v.get_string().get(s) ? 0 : s.size();
        }
        case od::json_type::array: {
            std::size_t n = 0;
            od::array a;
            if (v.get_array().get(a)) return 0;
            for (auto el : a) {
                od::value ev;
                if (el.get(ev)) return n;
                n += count_text(ev, depth + 1);
            }
            return n;
        }
        case od::json_type::object: {
            std::size_t n = 0;
            od::object o;
            if (v.get_object().get(o)) return 0;
            for (auto f : o) {
                od::value fv;
                if (f.value().get(fv)) return n;
                n += count_text(fv, depth + 1);
            }
            return n;
        }
        default:
            return 0;
    }
}

}  // namespace

bool BodyLayout::has(std::string_view key) const {
    return std::any_of(members.begin(), members.end(), [key](const Member& m) { return m.key == key; });
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// The elements of a JSON array's text (valid JSON: simdjson read it first), as spans relative to
// `array`, each trimmed of whitespace.
std::vector<ByteSpan> array_elements(std::string_view array) {
    std::vector<ByteSpan> out;
    int depth = 0;
    bool in_string = false, escaped = false;
    std::size_t start = std::string_view::npos;
    auto close = [&](std::size_t at) {
        if (start == std::string_view::npos) return;
        std::size_t end = at;
        while (end > start && is_space(array[end - 1])) --end;
        out.push_back({start, end - start});
        start = std::string_view::npos;
    };
    for (std::size_t i = 1; i < array.size(); ++i) {
        const char c = array[i];
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
            continue;
        }
        if (depth == 0 && start == std::string_view::npos && !is_space(c) && c != ',' && c != ']') start = i;
        switch (c) {
            case '"': in_string = true; break;
            case '{': case '[': ++depth; break;
            case '}': --depth; break;
            case ']':
                if (depth == 0) {
                    close(i);
                    return out;
                }
                --depth;
                break;
            case ',':
                if (depth == 0) close(i);
                break;
            default: break;
        }
    }
    return out;
}

// The billing block among `system`'s elements, with one separating comma.
ByteSpan billing_block(std::string_view array, std::size_t array_offset) {
    constexpr std::string_view kMarker = "\"x-anthropic-billing-header";
    const std::vector<ByteSpan> el = array_elements(array);
    for (std::size_t k = 0; k < el.size(); ++k) {
        const std::string_view text = array.substr(el[k].offset, el[k].length);
        if (text.empty() || text.front() != '{' || text.find(kMarker) == std::string_view::npos) continue;
        std::size_t from = el[k].offset, to = el[k].offset + el[k].length;
        if (k > 0) {
            from = el[k - 1].offset + el[k - 1].length;  // the comma before it
        } else if (el.size() > 1) {
            to = el[1].offset;  // the comma after it
        }
        return {array_offset + from, to - from};
    }
    return {};
}

}  // namespace

BodyLayout layout_body(JsonParser& jp, std::string_view body, std::size_t capacity) {
    BodyLayout layout;
    PaddedJson padded(body, capacity);
    const char* base = padded.view.data();
    od::document doc;
    od::object obj;
    if (jp.parser.iterate(padded.view).get(doc) || doc.get_object().get(obj)) return layout;
    layout.members.reserve(16);
    for (auto field : obj) {
        od::raw_json_string raw_key;
        od::value value;
        if (field.key().get(raw_key) || field.value().get(value)) return {};
        const char* k = raw_key.raw();
        const char* quote = static_cast<const char*>(std::memchr(k, '"', static_cast<std::size_t>(base + body.size() - k)));
        if (quote == nullptr) return {};
        // Offsets, not pointers: `padded` may be a copy that dies with this call.
        const auto key_at = static_cast<std::size_t>(k - base);
        layout.members.push_back({body.substr(key_at, static_cast<std::size_t>(quote - k)), key_at - 1, 0});
        if (layout.members.back().key == "system") {
            od::array arr;
            std::string_view text;
            if (value.get_array().get(arr) == simdjson::SUCCESS && arr.raw_json().get(text) == simdjson::SUCCESS)
                layout.billing_block = billing_block(text, static_cast<std::size_t>(text.data() - base));
        }
    }
    // A member ends where the comma before the next one (or the closing brace) is, less blanks.
    const std::string_view all = trim_right(body);
    if (all.empty() || all.back() != '}') return {};
    for (std::size_t i = 0; i < layout.members.size(); ++i) {
        std::string_view before = i + 1 < layout.members.size() ? body.substr(0, layout.members[i + 1].start)
                                                                : all.substr(0, all.size() - 1);
        before = trim_right(before);
        if (i + 1 < layout.members.size()) {
            if (before.empty() || before.back() != ',') return {};
            before = trim_right(before.substr(0, before.size() - 1));
        }
        layout.members[i].end = before.size();
    }
    layout.open = body.find('{');
    return layout;
}

bool edit_members(const BodyLayout& layout,
                  std::initializer_list<std::string_view> remove,
                  std::string add,
                  BodySplice& splice) {
    const auto& m = layout.members;
    auto removed = [&](std::size_t i) { return std::find(remove.begin(), remove.end(), m[i].key) != remove.end(); };
    bool ok = true;
    bool add_pending = !add.empty();
    // Runs of removed members: a run after a kept member takes the comma before it; a leading run
    // takes the comma after it (or, when nothing follows, is all there is).
    for (std::size_t a = 0; a < m.size();) {
        if (!removed(a)) {
            ++a;
            continue;
        }
        std::size_t b = a;
        while (b + 1 < m.size() && removed(b + 1)) ++b;
        if (a > 0) {
            ok = splice.replace(m[a - 1].end, m[b].end - m[a - 1].end, {}) && ok;
        } else if (b + 1 < m.size()) {
            if (add_pending) add += ',';
            ok = splice.replace(m[0].start, m[b + 1].start - m[0].start, std::move(add)) && ok;
            add_pending = false;
        } else {
            ok = splice.replace(m[0].start, m[b].end - m[0].start, std::move(add)) && ok;
            add_pending = false;
        }
        a = b + 1;
    }
    if (add_pending) {
        if (!m.empty()) add += ',';
        ok = splice.replace(layout.open + 1, 0, std::move(add)) && ok;
    }
    return ok;
}

std::size_t estimate_input_tokens(JsonParser& jp, std::string_view body, std::size_t capacity) {
    od::parser& parser = jp.parser;
    PaddedJson padded(body, capacity);
    od::document doc;
    std::size_t chars = 0;
    od::object obj;
    if (!parser.iterate(padded.view).get(doc) && !doc.get_object().get(obj)) {
        for (auto f : obj) {
            std::string_view key;
            od::value v;
            if (f.unescaped_key().get(key) || f.value().get(v)) break;
            if (key == "system" || key == "messages" || key == "tools") chars += count_text(v, 0);
        }
    } else {
        chars = body.size();
    }
    return chars / 4 + 1;
}

}  // namespace ccr::worker
