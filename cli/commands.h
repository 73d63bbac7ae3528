#pragma once
// One entry point per command; main.cc parses the command line (CLI11) and calls these.
// Each returns the process exit code.

#include <optional>
#include <string>

namespace ccr::cli {

struct ServeOptions {
    std::string config_path;  // empty: discovery
    std::string log_level;    // empty: from the config
    bool debug = false;       // --debug: log level debug
    int workers = -1;         // --workers N (-1: from the config)
};
int run_serve(const ServeOptions& opts);

int run_version();

struct ConfigInitOptions {
    std::string output;  // empty: ~/.config/cc-relay/config.yaml
    bool force = false;
};
int run_config_init(const ConfigInitOptions& opts);
int run_config_validate(const std::string& config_path);

struct ClaudeSettingsOptions {
    std::string settings_path;  // empty: ~/.claude/settings.json
    std::string proxy_url = "http://127.0.0.1:8787";
    std::string token;          // empty: "managed-by-cc-relay"
};
int run_config_cc_init(const ClaudeSettingsOptions& opts);
int run_config_cc_remove(const ClaudeSettingsOptions& opts);

}  // namespace ccr::cli
