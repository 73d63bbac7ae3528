#pragma once
// A process-wide fake environment for the loader's injected EnvLookup (a plain function pointer,
// so the variables live in a static map that each test resets).

#include <map>
#include <optional>
#include <string>

#include "shared/config/config.h"

namespace ccr::shared::testing {

inline std::map<std::string, std::string>& fake_vars() {
    static std::map<std::string, std::string> vars;
    return vars;
}

inline std::optional<std::string> fake_env(const std::string& name) {
    const auto it = fake_vars().find(name);
    if (it == fake_vars().end()) return std::nullopt;
    return it->second;
}

/// Loads `text` as "config.yaml" with the fake environment.
inline Config load(const std::string& text) {
    return load_config_text(text, "config.yaml", &fake_env);
}

/// The ConfigError message of loading `text`, or "" when it loads.
inline std::string load_error(const std::string& text) {
    try {
        load(text);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

/// A valid provider list to append to a test config.
inline const char* kOneProvider = R"(
providers:
  - name: anthropic
    type: anthropic
    enabled: true
)";

}  // namespace ccr::shared::testing
