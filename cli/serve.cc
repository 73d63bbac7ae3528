// `cc-relay serve`: load and validate the config, bind, and run. (The prefork master replaces the
// single-process body below.)
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.h"
#include "shared/config/config.h"
#include "shared/log/log.h"
#include "shared/net/listen.h"
#include "worker/server.h"

namespace ccr::cli {

int run_serve(const ServeOptions& opts) {
    shared::Config cfg;
    try {
        cfg = shared::load_config(opts.config_path);
    } catch (const shared::ConfigError& e) {
        std::cerr << "cc-relay: " << e.what() << "\n";
        return 1;
    }
    std::string level = opts.debug ? "debug" : opts.log_level;
    if (!level.empty() && !shared::valid_log_level(level)) {
        std::cerr << "cc-relay: invalid --log-level \"" << level << "\"\n";
        return 1;
    }
    shared::setup_logging(cfg.logging, level, "worker 0");
    for (const auto& w : cfg.warnings) spdlog::warn("{}", w);

    auto addr = shared::parse_listen(cfg.server.listen);
    if (!addr) {
        spdlog::error("invalid server.listen \"{}\"", cfg.server.listen);
        return 1;
    }
    std::string err;
    int fd = shared::bind_listener(addr->host, addr->port, false, err);
    if (fd < 0) {
        spdlog::error("{}", err);
        return 1;
    }
    std::uint16_t port = shared::local_port(fd);
    std::string host = addr->host.empty() ? "0.0.0.0" : addr->host;
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    spdlog::info("cc-relay {} listening on http://{}:{} (config: {}, {} provider(s))", CCR_VERSION, host,
                 port, cfg.source, cfg.providers.size());
    worker::WorkerOptions wo;
    wo.listen_fds = {fd};
    int rc = worker::run_worker(std::make_shared<const shared::Config>(std::move(cfg)), wo);
    spdlog::info("stopped");
    return rc;
}

}  // namespace ccr::cli
