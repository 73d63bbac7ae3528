#include "cli/instance.h"

#include <fstream>

namespace ccr::cli {

std::unique_ptr<shared::stats::Segment> open_segment(const shared::Config& cfg) {
    return shared::stats::Segment::open(shared::shm_name_for(cfg), /*writable=*/false);
}

std::optional<std::int32_t> read_pid_file(const shared::Config& cfg) {
    if (cfg.server.pid_file.empty()) return std::nullopt;
    std::ifstream in(cfg.server.pid_file);
    long long pid = 0;
    if (!(in >> pid) || pid <= 0 || pid > INT32_MAX) return std::nullopt;
    return static_cast<std::int32_t>(pid);
}

}  // namespace ccr::cli
