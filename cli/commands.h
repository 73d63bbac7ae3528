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

// `stats`, `status` and `reload` name the instance by --config (only its server.listen,
// shm_name and pid_file are read; nothing else is expanded), --listen HOST:PORT or --shm NAME
// (no config at all); see cli/instance.h.

struct StatsOptions {
    std::string config_path;    // empty: discovery
    bool json = false;          // --json: one object (per refresh with --watch)
    double watch_seconds = 0;   // --watch [SECONDS]: redraw every SECONDS until SIGINT; 0: once
    bool workers = false;       // --workers: per-worker rows
    std::string listen;         // --listen HOST:PORT
    std::string shm;            // --shm NAME
};
/// Reads the instance's shared-memory segment only; never talks to the master.
int run_stats(const StatsOptions& opts);

struct TopOptions {
    std::string config_path;   // empty: discovery
    std::string listen;        // --listen HOST:PORT
    std::string shm;           // --shm NAME
    double interval_s = 1;     // --interval, 0.1..60
    bool once = false;         // --once: one frame, then exit
    int count = 0;             // --count N: N frames, then exit (0: until q)
};
/// A live view from the shared-memory segment (read access only); plain frames when not a TTY.
int run_top(const TopOptions& opts);

struct UsageOptions {
    std::string db;           // --db PATH (default: the config's ledger.path, else
                              // ledger::reader_default_path())
    std::string config_path;  // --config (empty: discovery), read for ledger.path only
    std::string day;       // --day YYYY-MM-DD
    std::string since;     // --since YYYY-MM-DD
    std::string client;    // --client NAME
    std::string provider;  // --provider NAME
    bool json = false;
};
/// Prints the usage ledger's rows (shared/ledger/ledger.h).
int run_usage(const UsageOptions& opts);

struct StatusOptions {
    std::string config_path;  // empty: discovery
    std::string listen;       // --listen HOST:PORT
    std::string shm;          // --shm NAME
};
/// Exit codes of `status` (as LSB init scripts: 3 not running, 4 unknown).
inline constexpr int kStatusUnhealthy = 1;
inline constexpr int kStatusNotRunning = 3;
inline constexpr int kStatusUnknown = 4;
/// Master, workers, last reload and a /health probe; 0 only when all is well, kStatusNotRunning
/// when there is no segment, kStatusUnknown when it exists and cannot be read.
int run_status(const StatusOptions& opts);

struct ReloadOptions {
    std::string config_path;
    int timeout_s = 60;  // how long to wait for the master's outcome
    std::string listen;  // --listen HOST:PORT
    std::string shm;     // --shm NAME
};
/// SIGHUP to the master, then waits for the outcome it records in the segment.
int run_reload(const ReloadOptions& opts);

}  // namespace ccr::cli
