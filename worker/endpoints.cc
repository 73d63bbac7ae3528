#include "worker/endpoints.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "shared/util/json.h"
#include "worker/providers/provider.h"
#include "worker/shared_state.h"

namespace ccr::worker {

using shared::append_json_string;

std::string_view query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        std::size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        std::size_t eq = pair.find('=');
        if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? "" : pair.substr(eq + 1);
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return {};
}

std::string display_name(std::string_view id) {
    if (id.substr(0, 7) != "claude-") return std::string(id);
    // Drop a trailing date, then title-case words and join version digits with dots.
    if (id.size() > 9 && id[id.size() - 9] == '-' &&
        std::all_of(id.end() - 8, id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        id.remove_suffix(9);
    }
    std::string out;
    bool prev_digit = false;
    std::size_t pos = 0;
    while (pos <= id.size()) {
        std::size_t dash = id.find('-', pos);
        std::string_view word = id.substr(pos, dash == std::string_view::npos ? id.npos : dash - pos);
        bool digit = !word.empty() && std::all_of(word.begin(), word.end(),
                                                  [](char c) { return c >= '0' && c <= '9'; });
        if (!out.empty()) out += (digit && prev_digit) ? '.' : ' ';
        std::string w(word);
        if (!w.empty() && w[0] >= 'a' && w[0] <= 'z') w[0] = static_cast<char>(w[0] - 'a' + 'A');
        out += w;
        prev_digit = digit;
        if (dash == std::string_view::npos) break;
        pos = dash + 1;
    }
    return out;
}

std::string created_at(std::string_view id) {
    if (id.size() >= 8) {
        std::string_view d = id.substr(id.size() - 8);
        if (std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
            (id.size() == 8 || id[id.size() - 9] == '-')) {
            std::string out;
            out.append(d.substr(0, 4)).append("-").append(d.substr(4, 2)).append("-");
            out.append(d.substr(6, 2)).append("T00:00:00Z");
            return out;
        }
    }
    return "1970-01-01T00:00:00Z";
}

std::string models_json(const Runtime& rt, std::string_view query) {
    std::vector<std::string_view> ids;
    std::set<std::string_view> seen;
    for (const auto& p : rt.providers) {
        for (const auto& m : p->models()) {
            if (seen.insert(m).second) ids.push_back(m);
        }
    }
    // Paging as the Anthropic API does it: after_id / before_id are exclusive cursors.
    std::size_t begin = 0, end = ids.size();
    if (auto after = query_param(query, "after_id"); !after.empty()) {
        auto it = std::find(ids.begin(), ids.end(), after);
        begin = it == ids.end() ? ids.size() : static_cast<std::size_t>(it - ids.begin()) + 1;
    }
    if (auto before = query_param(query, "before_id"); !before.empty()) {
        auto it = std::find(ids.begin(), ids.end(), before);
        end = it == ids.end() ? 0 : static_cast<std::size_t>(it - ids.begin());
    }
    std::size_t limit = 1000;
    if (auto l = query_param(query, "limit"); !l.empty()) {
        std::from_chars(l.data(), l.data() + l.size(), limit);
        limit = std::clamp<std::size_t>(limit, 1, 1000);
    }
    if (end < begin) end = begin;
    bool has_more = end - begin > limit;
    if (has_more) end = begin + limit;

    std::string out = "{\"data\":[";
    for (std::size_t i = begin; i < end; ++i) {
        if (i > begin) out += ',';
        out += "{\"type\":\"model\",\"id\":";
        append_json_string(out, ids[i]);
        out += ",\"display_name\":";
        append_json_string(out, display_name(ids[i]));
        out += ",\"created_at\":";
        append_json_string(out, created_at(ids[i]));
        out += '}';
    }
    out += "],\"has_more\":";
    out += has_more ? "true" : "false";
    out += ",\"first_id\":";
    if (end > begin) append_json_string(out, ids[begin]); else out += "null";
    out += ",\"last_id\":";
    if (end > begin) append_json_string(out, ids[end - 1]); else out += "null";
    out += '}';
    return out;
}

std::string providers_json(const Runtime& rt) {
    std::string out = "{\"object\":\"list\",\"data\":[";
    bool first = true;
    for (int i = 0; i < static_cast<int>(rt.providers.size()); ++i) {
        const Provider* p = rt.providers[static_cast<std::size_t>(i)].get();
        if (!first) out += ',';
        first = false;
        out += "{\"name\":";
        append_json_string(out, p->name());
        out += ",\"type\":";
        append_json_string(out, p->type());
        out += ",\"owner\":";
        append_json_string(out, p->owner());
        out += ",\"models\":[";
        for (std::size_t i = 0; i < p->models().size(); ++i) {
            if (i) out += ',';
            append_json_string(out, p->models()[i]);
        }
        out += "],\"active\":true,\"circuit\":";
        append_json_string(out, shared::stats::breaker_state_name(rt.shared->breaker_state(i)));
        out += '}';
    }
    out += "]}";
    return out;
}

std::string health_json(const Runtime& rt) {
    std::string out = "{\"status\":\"ok\",\"providers\":";
    out += std::to_string(rt.providers.size());
    out += ",\"worker\":";
    out += std::to_string(rt.slot);
    out += ",\"draining\":";
    out += rt.draining ? "true" : "false";
    out += '}';
    return out;
}

}  // namespace ccr::worker
