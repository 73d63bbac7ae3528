#include "cli/instance.h"

#include <climits>
#include <filesystem>
#include <fstream>
#include <functional>

#include "shared/config/config.h"

namespace ccr::cli {

namespace stats = shared::stats;
using stats::SegmentError;

namespace {

bool wildcard(const std::string& host) { return host.empty() || host == "0.0.0.0" || host == "::"; }

/// The first readable segment on the host whose header satisfies `match`.
std::unique_ptr<stats::Segment> find_segment(
    const std::function<bool(const stats::Header&)>& match) {
    for (const std::string& name : stats::Segment::list()) {
        try {
            auto seg = stats::Segment::open(name, /*writable=*/false);
            if (match(seg->header())) return seg;
        } catch (const SegmentError&) {
            // Removed since it was listed: not a candidate.
        }
    }
    return nullptr;
}

std::string canonical(const std::string& path) {
    std::error_code ec;
    const auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
    return ec ? path : p.string();
}

Instance make(std::unique_ptr<stats::Segment> seg, std::string config, std::string listen) {
    Instance in;
    const stats::Header& h = seg->header();
    const std::string recorded_config(stats::fixed_view(h.config_path));
    const std::string bound(stats::fixed_view(h.listen));
    in.config = recorded_config.empty() ? std::move(config) : recorded_config;
    in.listen = bound.empty() ? std::move(listen) : bound;
    in.segment = std::move(seg);
    return in;
}

Instance by_shm(std::string name) {
    if (name.front() != '/') name.insert(name.begin(), '/');  // "cc-relay-8787" as in /dev/shm
    return make(stats::Segment::open(name, /*writable=*/false), "", "");
}

Instance by_listen(const std::string& listen) {
    const auto address = shared::parse_listen(listen);
    if (!address || address->port == 0) {
        throw std::runtime_error("--listen: expected HOST:PORT with a port, got \"" + listen +
                                 "\"");
    }
    const std::string name = shared::shm_name_for("", listen);
    try {
        return make(stats::Segment::open(name, /*writable=*/false), "", listen);
    } catch (const SegmentError& e) {
        if (e.kind() != SegmentError::Kind::not_found) throw;
    }
    // An instance with its own server.shm_name: its master records the address it bound.
    auto seg = find_segment([&](const stats::Header& h) {
        const auto bound = shared::parse_listen(std::string(stats::fixed_view(h.listen)));
        return bound && bound->port == address->port &&
               (bound->host == address->host || wildcard(bound->host) || wildcard(address->host)) &&
               stats::process_alive(h.master_pid.load(std::memory_order_relaxed));
    });
    if (seg) return make(std::move(seg), "", listen);
    throw SegmentError(SegmentError::Kind::not_found,
                       "no running cc-relay instance on " + listen + ": shared memory " + name +
                           " not found, and no segment this user can read records that address "
                           "(is the service running? an instance with its own server.shm_name "
                           "may be named with --shm NAME)");
}

Instance by_config(const std::string& config_path) {
    const shared::InstanceRef ref = shared::read_instance_ref(config_path);
    const bool from_file = ref.source != "<built-in>";
    if (from_file) {
        const std::string path = canonical(ref.source);
        auto seg = find_segment([&](const stats::Header& h) {
            return stats::fixed_view(h.config_path) == path &&
                   stats::process_alive(h.master_pid.load(std::memory_order_relaxed));
        });
        if (seg) {
            Instance in = make(std::move(seg), ref.source, ref.listen);
            in.pid_file = ref.pid_file;
            return in;
        }
    }
    const std::string name = shared::shm_name_for(ref.shm_name, ref.listen);
    try {
        Instance in = make(stats::Segment::open(name, /*writable=*/false), ref.source, ref.listen);
        in.pid_file = ref.pid_file;
        return in;
    } catch (const SegmentError& e) {
        if (e.kind() != SegmentError::Kind::not_found) throw;
        const std::string why =
            from_file ? ", and no running master records " + ref.source +
                            " as its config (is the service running? does --config name its "
                            "config? or name the instance with --listen HOST:PORT or --shm NAME)"
                      : " (no config file found, so the default address " + ref.listen +
                            " was assumed; is the service running? name the instance with "
                            "--config FILE, --listen HOST:PORT or --shm NAME)";
        throw SegmentError(SegmentError::Kind::not_found, e.what() + why);
    }
}

}  // namespace

Instance find_instance(const InstanceSelector& selector) {
    const int named =
        !selector.config_path.empty() + !selector.listen.empty() + !selector.shm.empty();
    if (named > 1) {
        throw std::runtime_error("--config, --listen and --shm each name the instance: give one");
    }
    if (!selector.shm.empty()) return by_shm(selector.shm);
    if (!selector.listen.empty()) return by_listen(selector.listen);
    return by_config(selector.config_path);
}

std::optional<std::int32_t> read_pid_file(const std::string& pid_file) {
    if (pid_file.empty()) return std::nullopt;
    std::ifstream in(pid_file);
    long long pid = 0;
    if (!(in >> pid) || pid <= 0 || pid > INT32_MAX) return std::nullopt;
    return static_cast<std::int32_t>(pid);
}

}  // namespace ccr::cli
