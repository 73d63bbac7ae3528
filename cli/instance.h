#pragma once
// Finding the running instance for `stats`, `status` and `reload`. They need only its segment:
// never the service's secrets or environment, and no config at all with --listen or --shm.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "shared/stats/segment.h"

namespace ccr::cli {

/// How the operator names the instance: at most one of the three; none: the config file found
/// by discovery (else the built-in default, 127.0.0.1:8787).
struct InstanceSelector {
    std::string config_path;  // --config FILE
    std::string listen;       // --listen HOST:PORT
    std::string shm;          // --shm NAME
};

/// A running instance, found through its segment.
struct Instance {
    std::unique_ptr<shared::stats::Segment> segment;
    std::string config;    // the config file its master records (else the one that named it)
    std::string listen;    // the address it bound (from the segment), else the one named
    std::string pid_file;  // server.pid_file of the config that named it, if any
};

/// Finds the instance:
/// - `--shm NAME`: that segment;
/// - `--listen HOST:PORT`: the segment derived from the port (/cc-relay-PORT), else the readable
///   segment whose master records that address (an instance with its own server.shm_name);
/// - a config file: the readable segment whose running master records that file as its config
///   (so an edited server.listen or server.shm_name still finds it), else the segment the file
///   names. Only server.listen, server.shm_name and server.pid_file are read from the file.
/// Throws shared::stats::SegmentError (kind not_found or permission, for `status`),
/// shared::ConfigError, or std::runtime_error, each with what to do.
Instance find_instance(const InstanceSelector& selector);

/// The pid in `pid_file`, when it is set, readable and holds a positive number.
std::optional<std::int32_t> read_pid_file(const std::string& pid_file);

}  // namespace ccr::cli
