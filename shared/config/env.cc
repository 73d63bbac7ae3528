// `${VAR}` / `${VAR:-default}` expansion, applied to one scalar value at a time after parsing so
// that a problem is reported at the scalar's line and column (comments and keys are never
// expanded, unlike the Go relay, which expanded the whole file text).

#include <cstdlib>
#include <string>

#include "shared/config/internal.h"

namespace ccr::shared {

std::optional<std::string> process_env(const std::string& name) {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
}

}  // namespace ccr::shared

namespace ccr::shared::config_detail {
namespace {

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }

bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

bool is_valid_name(std::string_view name) {
    if (name.empty() || !is_name_start(name[0])) return false;
    for (char c : name) {
        if (!is_name_char(c)) return false;
    }
    return true;
}

// Index of the `}` closing the `${` at `open`, counting nested `${`; npos when unterminated.
std::size_t find_close(std::string_view text, std::size_t open) {
    int depth = 1;
    for (std::size_t j = open + 2; j < text.size(); ++j) {
        if (text[j] == '$' && j + 1 < text.size() && text[j + 1] == '{') {
            ++depth;
            ++j;
        } else if (text[j] == '}' && --depth == 0) {
            return j;
        }
    }
    return std::string_view::npos;
}

void expand_reference(std::string_view body, EnvLookup env, Expansion& out) {
    const std::size_t sep = body.find(":-");
    const bool has_default = sep != std::string_view::npos;
    const std::string name(has_default ? body.substr(0, sep) : body);
    if (!is_valid_name(name)) {
        out.errors.push_back("invalid environment variable reference \"${" + std::string(body) +
                             "}\" (expected ${NAME} or ${NAME:-default})");
        return;
    }
    const std::optional<std::string> value = env(name);
    if (value && (!has_default || !value->empty())) {
        out.value += *value;
        return;
    }
    if (has_default) {
        // The default may itself hold references: ${A:-${B:-x}}.
        Expansion inner = expand_env(body.substr(sep + 2), env);
        out.value += inner.value;
        out.errors.insert(out.errors.end(), inner.errors.begin(), inner.errors.end());
        out.warnings.insert(out.warnings.end(), inner.warnings.begin(), inner.warnings.end());
        return;
    }
    out.errors.push_back("environment variable " + name + " is not set (use ${" + name +
                         ":-default} to give a default)");
}

}  // namespace

Expansion expand_env(std::string_view text, EnvLookup env) {
    Expansion out;
    out.value.reserve(text.size());
    bool warned_bare = false;
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c != '$') {
            out.value += c;
            ++i;
            continue;
        }
        const char next = i + 1 < text.size() ? text[i + 1] : '\0';
        if (next == '$') {
            out.value += '$';
            i += 2;
            continue;
        }
        if (next == '{') {
            const std::size_t close = find_close(text, i);
            if (close == std::string_view::npos) {
                out.errors.push_back(
                    "unterminated \"${\" (missing \"}\"; write $$ for a literal $)");
                out.value.append(text.substr(i));
                break;
            }
            expand_reference(text.substr(i + 2, close - i - 2), env, out);
            i = close + 1;
            continue;
        }
        if (is_name_start(next) && !warned_bare) {
            // The Go relay expanded $NAME too; say so rather than silently keep the text.
            std::size_t end = i + 1;
            while (end < text.size() && is_name_char(text[end])) ++end;
            const std::string name(text.substr(i + 1, end - i - 1));
            out.warnings.push_back("\"$" + name + "\" is not expanded (write ${" + name +
                                   "} for the environment variable, or $$ for a literal $)");
            warned_bare = true;
        }
        out.value += '$';
        ++i;
    }
    return out;
}

}  // namespace ccr::shared::config_detail
