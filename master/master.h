#pragma once
// The master process: loads and validates the config, binds one SO_REUSEPORT listening socket per
// worker slot, creates the stats segment, forks single-threaded workers and then only supervises
// (respawn with back-off, SIGHUP reload by generations, SIGTERM drain, systemd notification).
// It does no request I/O and stays single-threaded so fork() is safe.

#include <string>

namespace ccr::master {

struct MasterOptions {
    std::string config_path;  // empty: discovery
    std::string log_level;    // empty: from the config
    int workers = -1;         // --workers N overrides server.workers (and survives reloads)
    bool log_bodies = false;  // --debug: log request bodies (survives reloads, unlike the Go relay)
};

/// Runs until stopped. Returns the process exit code (0 after a clean stop, 1 on start-up errors).
int run_master(const MasterOptions& opts);

}  // namespace ccr::master
