#pragma once
// One entry point per command; main.cc parses the command line (CLI11) and calls these.
// Each returns the process exit code.

#include <optional>
#include <string>

namespace ccr::cli {

struct ServeOptions {
    std::string config_path;  // empty: discovery
    std::string log_level;    // empty: from the config
    bool debug = false;       // --debug: log level debug and request bodies
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
    bool keep_login = false;    // --keep-login: write no token (a subscription login stays in use)
};
int run_config_cc_init(const ClaudeSettingsOptions& opts);
int run_config_cc_remove(const ClaudeSettingsOptions& opts);

struct StatsOptions {
    std::string config_path;    // empty: discovery
    bool json = false;          // --json: one object (per refresh with --watch)
    double watch_seconds = 0;   // --watch [SECONDS]: redraw every SECONDS until SIGINT; 0: once
    bool workers = false;       // --workers: per-worker rows
};
/// Reads the instance's shared-memory segment only; never talks to the master.
int run_stats(const StatsOptions& opts);
/// Master, workers, last reload and a /health probe; 0 only when all is well.
int run_status(const std::string& config_path);

struct ReloadOptions {
    std::string config_path;
    int timeout_s = 60;  // how long to wait for the master's outcome
};
/// SIGHUP to the master, then waits for the outcome it records in the segment.
int run_reload(const ReloadOptions& opts);

}  // namespace ccr::cli
