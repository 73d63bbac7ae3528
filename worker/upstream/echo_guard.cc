#include "worker/upstream/echo_guard.h"

#include <algorithm>
#include <cstring>

#include "worker/request.h"

namespace ccr::worker::upstream {

namespace {

constexpr std::size_t kShortest = 8;

void add(std::vector<std::string>& out, std::string_view value) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (value.size() < kShortest) return;
    if (std::find(out.begin(), out.end(), value) == out.end()) out.emplace_back(value);
}

void add_authorization(std::vector<std::string>& out, std::string_view value) {
    constexpr std::string_view kBearer = "Bearer ";
    constexpr std::string_view kCredential = "Credential=";
    if (value.size() > kBearer.size() && iequals(value.substr(0, kBearer.size()), kBearer)) {
        add(out, value.substr(kBearer.size()));
    } else if (const auto at = value.find(kCredential); at != std::string_view::npos) {
        // SigV4: the secret key never travels; the access key id does, before the first '/'.
        const std::string_view rest = value.substr(at + kCredential.size());
        add(out, rest.substr(0, rest.find('/')));
    }
    add(out, value);
}

}  // namespace

std::vector<std::string> credentials_in_head(std::string_view head) {
    static constexpr std::string_view kKeyHeaders[] = {"x-api-key", "api-key", "x-goog-api-key",
                                                       "x-amz-security-token"};
    std::vector<std::string> out;
    std::size_t pos = head.find("\r\n");  // after the request line
    while (pos != std::string_view::npos && pos + 2 < head.size()) {
        const std::size_t start = pos + 2;
        const std::size_t end = head.find("\r\n", start);
        const std::string_view line =
            head.substr(start, end == std::string_view::npos ? end : end - start);
        if (line.empty()) break;
        const std::size_t colon = line.find(':');
        if (colon != std::string_view::npos) {
            const std::string_view name = line.substr(0, colon);
            const std::string_view value = line.substr(colon + 1);
            if (iequals(name, "authorization")) {
                std::string_view v = value;
                while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
                add_authorization(out, v);
            } else if (std::any_of(std::begin(kKeyHeaders), std::end(kKeyHeaders),
                                   [&](std::string_view k) { return iequals(k, name); })) {
                add(out, value);
            }
        }
        pos = end;
    }
    return out;
}

bool mask_secrets(std::span<char> text, const std::vector<std::string>& secrets) {
    bool changed = false;
    const std::string_view view(text.data(), text.size());
    for (const std::string& s : secrets) {
        for (std::size_t at = view.find(s); at != std::string_view::npos;
             at = view.find(s, at + s.size())) {
            std::memset(text.data() + at, '*', s.size());
            changed = true;
        }
    }
    return changed;
}

std::string masked(std::string_view value, const std::vector<std::string>& secrets) {
    std::string out(value);
    mask_secrets(out, secrets);
    return out;
}

}  // namespace ccr::worker::upstream
