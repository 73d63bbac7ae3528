// `cc-relay config validate`: loads the configuration exactly as `serve` does and reports every
// problem with its file:line:col. Unlike the Go CLI it adds no checks of its own, so a file that
// validates is a file `serve` accepts, and the other way round.

#include <exception>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/file_util.h"
#include "shared/config/config.h"

namespace ccr::cli {

namespace {

void print_summary(const shared::Config& cfg) {
    std::string enabled;
    int count = 0;
    for (const auto& p : cfg.providers) {
        if (!p.enabled) continue;
        enabled += (count++ == 0 ? "" : ", ") + p.name;
    }
    std::cout << "  listen " << cfg.server.listen << ", routing " << cfg.routing.strategy << ", "
              << count << (count == 1 ? " provider" : " providers") << " enabled"
              << (count > 0 ? " (" + enabled + ")" : "") << "\n";
}

int config_validate(const std::string& config_path) {
    std::string path = expand_home(config_path);
    if (path.empty()) {
        auto found = shared::discover_config_path("");
        if (!found) {
            std::cout << "No config file found (searched ./config.yaml, " << home_dir()
                      << "/.config/cc-relay/config.yaml, /etc/cc-relay/config.yaml).\n"
                      << "✓ the built-in default configuration is valid\n";
            print_summary(shared::default_config());
            return 0;
        }
        path = *found;
    } else if (!path_exists(path)) {
        std::cerr << "✗ " << path << ": no such file\n";
        return 1;
    }

    try {
        shared::Config cfg = shared::load_config_file(path);
        for (const auto& w : cfg.warnings) std::cerr << "warning: " << w << "\n";
        std::cout << "✓ " << path << " is valid\n";
        print_summary(cfg);
        return 0;
    } catch (const shared::ConfigError& e) {
        for (const auto& w : e.warnings()) std::cerr << "warning: " << w.to_string() << "\n";
        for (const auto& d : e.diagnostics()) std::cerr << d.to_string() << "\n";
        if (e.diagnostics().empty()) std::cerr << e.what() << "\n";
        std::size_t n = e.diagnostics().size();
        std::cerr << "✗ " << path << " is invalid (" << n << (n == 1 ? " problem" : " problems")
                  << ")\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "✗ " << path << ": " << e.what() << "\n";
        return 1;
    }
}

}  // namespace

int run_config_validate(const std::string& config_path) {
    try {
        return config_validate(config_path);
    } catch (const std::exception& e) {
        std::cerr << "cc-relay: error: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace ccr::cli
