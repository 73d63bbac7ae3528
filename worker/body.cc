#include "worker/body.h"

#include <algorithm>

#include "shared/util/json.h"
#include "worker/json_parser.h"

namespace ccr::worker {

namespace od = simdjson::ondemand;

void JsonParserDeleter::operator()(JsonParser* p) const { delete p; }
std::unique_ptr<JsonParser, JsonParserDeleter> make_json_parser() {
    return std::unique_ptr<JsonParser, JsonParserDeleter>(new JsonParser);
}

namespace {

std::string_view trim_right(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

BodyInfo inspect_body(JsonParser& jp, std::string_view body, std::size_t capacity) {
    od::parser& parser = jp.parser;
    BodyInfo info;
    PaddedJson padded(body, capacity);
    od::document doc;
    if (auto err = parser.iterate(padded.view).get(doc)) {
        info.error = std::string("malformed JSON: ") + simdjson::error_message(err);
        return info;
    }
    od::object obj;
    if (doc.get_object().get(obj)) {
        info.error = "request body must be a JSON object";
        return info;
    }
    bool have_model = false;
    // Walk every top-level field: skipping each value checks that the document is well formed
    // enough for us to splice into it, without building a DOM.
    for (auto field : obj) {
        std::string_view key;
        if (auto err = field.unescaped_key().get(key)) {
            info.error = std::string("malformed JSON: ") + simdjson::error_message(err);
            return info;
        }
        od::value value;
        if (auto err = field.value().get(value)) {
            info.error = std::string("malformed JSON: ") + simdjson::error_message(err);
            return info;
        }
        if (key == "model" && !have_model) {
            std::string_view raw = trim_right(value.raw_json_token());
            std::string_view model;
            if (value.get_string().get(model)) {
                info.error = "model: must be a string";
                return info;
            }
            have_model = true;
            info.model_offset = static_cast<std::size_t>(raw.data() - padded.view.data());
            info.model_length = raw.size();
            if (raw.size() == model.size() + 2) {
                info.model = body.substr(info.model_offset + 1, model.size());
            } else {
                info.model_buf.assign(model);  // had escapes: keep the unescaped copy
                info.model = info.model_buf;
            }
        } else if (key == "stream") {
            bool b = false;
            if (value.get_bool().get(b) == simdjson::SUCCESS) info.stream = b;
        } else if (key == "max_tokens") {
            std::uint64_t n = 0;
            if (value.get_uint64().get(n) == simdjson::SUCCESS) info.max_tokens = n;
        }
        // Other values are skipped by the next iteration step, whose errors surface above.
    }
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
        info.error = "malformed JSON: trailing content after the top-level object";
        return info;
    }
    if (!have_model) {
        info.error = "model: field required";
        return info;
    }
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
    std::size_t pos = 0;
    for (const auto& e : edits_) {
        out.emplace_back(original_.data() + pos, e.offset - pos);
        out.emplace_back(e.text.data(), e.text.size());
        pos = e.offset + e.length;
    }
    out.emplace_back(original_.data() + pos, original_.size() - pos);
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
