// `config cc init` and `config cc remove`: point Claude Code at the relay through the `env` block
// of its settings.json. The file belongs to the user and to Claude Code, so the edit is surgical:
// every other key keeps its place and its exact value text, invalid JSON is refused without
// touching the file, the previous version is kept as settings.json.bak, the write is atomic and
// the file keeps its mode. (The Go CLI round-tripped the file through a map, losing key order.)

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

#include "cli/commands.h"
#include "cli/file_util.h"
#include "cli/settings_json.h"

namespace ccr::cli {

namespace {

constexpr const char* kBaseUrlKey = "ANTHROPIC_BASE_URL";
constexpr const char* kTokenKey = "ANTHROPIC_AUTH_TOKEN";
constexpr const char* kDefaultToken = "managed-by-cc-relay";

struct SettingsFile {
    std::string path;  // the file to write: symlinks resolved, so a dotfiles link survives
    bool exists = false;
    std::string original;
    mode_t mode = 0600;
    JsonValue doc = JsonValue::object();
};

std::string settings_path(const ClaudeSettingsOptions& opts) {
    if (!opts.settings_path.empty()) return expand_home(opts.settings_path);
    return home_dir() + "/.claude/settings.json";
}

bool all_whitespace(const std::string& s) {
    return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

// Reads and parses the settings; prints why and returns nullopt when the file cannot be edited.
std::optional<SettingsFile> load_settings(const std::string& requested) {
    SettingsFile f;
    f.path = requested;
    struct stat st {};
    if (::lstat(requested.c_str(), &st) != 0) {
        if (errno == ENOENT) return f;
        throw std::runtime_error("cannot read " + requested + ": " + std::strerror(errno));
    }
    if (S_ISLNK(st.st_mode)) {
        char resolved[PATH_MAX];
        if (::realpath(requested.c_str(), resolved) == nullptr) {
            throw std::runtime_error("cannot resolve the symlink " + requested + ": " +
                                     std::strerror(errno));
        }
        f.path = resolved;
        if (::stat(f.path.c_str(), &st) != 0) {
            throw std::runtime_error("cannot read " + f.path + ": " + std::strerror(errno));
        }
    }
    if (!S_ISREG(st.st_mode)) throw std::runtime_error(f.path + " is not a regular file");
    f.exists = true;
    f.mode = st.st_mode & 07777;
    f.original = read_file(f.path);
    if (all_whitespace(f.original)) return f;  // an empty file holds nothing to keep

    JsonParseError err;
    auto doc = parse_json(f.original, &err);
    if (!doc) {
        std::cerr << "cc-relay: error: " << f.path << ":" << err.to_string() << "\n"
                  << f.path << " is not valid JSON and was not changed; fix it and retry.\n";
        return std::nullopt;
    }
    if (!doc->is_object()) {
        std::cerr << "cc-relay: error: " << f.path
                  << ": the top level must be a JSON object; the file was not changed.\n";
        return std::nullopt;
    }
    if (const JsonValue* env = doc->find("env"); env != nullptr && !env->is_object()) {
        std::cerr << "cc-relay: error: " << f.path
                  << ": \"env\" must be a JSON object; the file was not changed.\n";
        return std::nullopt;
    }
    f.doc = std::move(*doc);
    return f;
}

// Keeps the previous version as <file>.bak, then replaces the file atomically.
void save_settings(const SettingsFile& f) {
    if (f.exists) {
        write_file_atomic(f.path + ".bak", f.original, f.mode);
    } else {
        make_dirs(parent_dir(f.path), 0700);
    }
    write_file_atomic(f.path, print_json(f.doc), f.mode);
}

bool is_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

// Checks `url` is http(s)://host[:port] (an optional trailing '/' is dropped); the normalised
// URL, or nullopt with the reason in `why`.
std::optional<std::string> check_proxy_url(std::string url, std::string& why) {
    std::string rest;
    for (const char* scheme : {"http://", "https://"}) {
        if (url.rfind(scheme, 0) == 0) rest = url.substr(std::strlen(scheme));
    }
    if (rest.empty()) {
        why = "must start with http:// or https:// followed by a host";
        return std::nullopt;
    }
    if (rest.back() == '/') {
        rest.pop_back();
        url.pop_back();
    }
    if (rest.empty()) {
        why = "has no host";
        return std::nullopt;
    }
    std::string host = rest, port;
    if (rest.front() == '[') {  // [IPv6]
        auto close = rest.find(']');
        if (close == std::string::npos || close == 1) {
            why = "has an unterminated or empty [IPv6] host";
            return std::nullopt;
        }
        host = rest.substr(1, close - 1);
        if (host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos) {
            why = "has an invalid IPv6 address";
            return std::nullopt;
        }
        rest = rest.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') {
            why = "must be http(s)://host[:port], without a path, query or credentials";
            return std::nullopt;
        }
        if (!rest.empty()) port = rest.substr(1);
    } else {
        auto colon = rest.find(':');
        if (colon != std::string::npos) {
            host = rest.substr(0, colon);
            port = rest.substr(colon + 1);
        }
        bool ok = !host.empty();
        for (char c : host) ok = ok && is_host_char(c);
        if (!ok) {
            why = "must be http(s)://host[:port], without a path, query or credentials";
            return std::nullopt;
        }
    }
    bool has_port = rest.find(':') != std::string::npos;
    if (has_port) {
        bool digits = !port.empty() && port.size() <= 5 &&
                      port.find_first_not_of("0123456789") == std::string::npos;
        if (!digits || std::stoi(port) < 1 || std::stoi(port) > 65535) {
            why = "has an invalid port (expected 1-65535)";
            return std::nullopt;
        }
    }
    return url;
}

bool is_valid_token(const std::string& token) {
    for (unsigned char c : token) {
        if (c <= 0x20 || c >= 0x7F) return false;  // it goes into an HTTP header as is
    }
    return !token.empty();
}

std::optional<std::string> env_string(const JsonValue& doc, const char* key) {
    const JsonValue* env = doc.find("env");
    const JsonValue* v = env != nullptr ? env->find(key) : nullptr;
    return v != nullptr ? v->string_value() : std::nullopt;
}

int config_cc_init(const ClaudeSettingsOptions& opts) {
    std::string why;
    auto url = check_proxy_url(opts.proxy_url, why);
    if (!url) {
        std::cerr << "cc-relay: error: --proxy-url \"" << opts.proxy_url << "\" " << why << "\n";
        return 1;
    }
    const std::string token = opts.token.empty() ? kDefaultToken : opts.token;
    if (!is_valid_token(token)) {
        std::cerr << "cc-relay: error: --token must be printable ASCII without spaces\n";
        return 1;
    }
    auto file = load_settings(settings_path(opts));
    if (!file) return 1;

    const bool same_token = opts.keep_login ? !env_string(file->doc, kTokenKey).has_value()
                                            : env_string(file->doc, kTokenKey) == token;
    if (env_string(file->doc, kBaseUrlKey) == *url && same_token) {
        std::cout << "Claude Code already uses cc-relay at " << *url << " (" << file->path
                  << "); nothing to change.\n";
        return 0;
    }
    JsonValue* env = file->doc.find("env");
    if (env == nullptr) env = &file->doc.set("env", JsonValue::object());
    env->set(kBaseUrlKey, JsonValue::string(*url));
    if (opts.keep_login) {
        env->erase(kTokenKey);
    } else {
        env->set(kTokenKey, JsonValue::string(token));
    }
    save_settings(*file);

    std::cout << "Updated " << file->path << ":\n"
              << "  env." << kBaseUrlKey << " = " << *url << "\n";
    if (opts.keep_login) {
        std::cout << "  env." << kTokenKey << " removed: Claude Code uses its own login\n";
    } else {
        std::cout << "  env." << kTokenKey << " = "
                  << (opts.token.empty() ? token : std::string("(the value of --token)")) << "\n";
    }
    if (opts.token.empty() && !opts.keep_login) {
        // The placeholder is sent instead of a subscription login's token, and the relay never
        // forwards it: say so before the user wonders why their login stopped counting.
        std::cout << "Note: this placeholder token takes the place of a Claude subscription login "
                     "(/login) in every request, and the relay never forwards it upstream. It suits "
                     "a relay that holds the provider keys and asks no key of its clients. To keep "
                     "using your login through the relay, run again with --keep-login; for a relay "
                     "with server.auth, pass its key with --token.\n";
    }
    if (file->exists) std::cout << "The previous version is in " << file->path << ".bak\n";
    std::cout << "Restart Claude Code for changes to take effect.\n";
    return 0;
}

int config_cc_remove(const ClaudeSettingsOptions& opts) {
    auto file = load_settings(settings_path(opts));
    if (!file) return 1;
    JsonValue* env = file->doc.find("env");
    bool removed = false;
    if (env != nullptr) {
        removed = env->erase(kBaseUrlKey);
        removed = env->erase(kTokenKey) || removed;
    }
    if (!removed) {
        std::cout << "No cc-relay configuration found in Claude Code settings.\n";
        return 0;
    }
    if (env->empty()) file->doc.erase("env");
    save_settings(*file);
    std::cout << "Removed env." << kBaseUrlKey << " and env." << kTokenKey << " from " << file->path
              << "\n"
              << "The previous version is in " << file->path << ".bak\n"
              << "Restart Claude Code for changes to take effect.\n";
    return 0;
}

// File-system failures (permissions, full disk) surface as exceptions from file_util.
template <typename F>
int guarded(F&& f) {
    try {
        return f();
    } catch (const std::exception& e) {
        std::cerr << "cc-relay: error: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace

int run_config_cc_init(const ClaudeSettingsOptions& opts) {
    return guarded([&] { return config_cc_init(opts); });
}

int run_config_cc_remove(const ClaudeSettingsOptions& opts) {
    return guarded([&] { return config_cc_remove(opts); });
}

}  // namespace ccr::cli
