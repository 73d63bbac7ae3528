// `cc-relay serve`: hands over to the master (prefork, reload, drain).
#include <iostream>

#include "cli/commands.h"
#include "master/master.h"
#include "shared/log/log.h"

namespace ccr::cli {

int run_serve(const ServeOptions& opts) {
    std::string level = opts.debug ? "debug" : opts.log_level;
    if (!level.empty() && !shared::valid_log_level(level)) {
        std::cerr << "cc-relay: invalid --log-level \"" << level
                  << "\" (expected trace, debug, info, warn, error or off)\n";
        return 1;
    }
    master::MasterOptions mo;
    mo.config_path = opts.config_path;
    mo.log_level = level;
    mo.workers = opts.workers;
    mo.log_bodies = opts.debug;
    return master::run_master(mo);
}

}  // namespace ccr::cli
