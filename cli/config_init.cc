// `cc-relay config init`: writes the commented built-in configuration for the user to edit.

#include <sys/stat.h>

#include <exception>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/file_util.h"
#include "shared/config/config.h"

namespace ccr::cli {

namespace {

int config_init(const ConfigInitOptions& opts) {
    const std::string path = opts.output.empty() ? home_dir() + "/.config/cc-relay/config.yaml"
                                                 : expand_home(opts.output);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            std::cerr << "cc-relay: error: " << path << " is a directory; give a file path\n";
            return 1;
        }
        if (!opts.force) {
            std::cerr << "cc-relay: error: config file already exists at " << path
                      << " (use --force to overwrite)\n";
            return 1;
        }
    }
    // The file may hold API keys: owner-only, whatever the umask or a file it replaces.
    make_dirs(parent_dir(path), 0750);
    write_file_atomic(path, shared::default_config_yaml(), 0600);

    std::cout << "Wrote " << path << "\n\n"
              << "Next steps:\n"
              << "  1. export ANTHROPIC_API_KEY=...   (or edit the keys in the file)\n"
              << "  2. Edit " << path << " to add providers and routing\n"
              << "  3. cc-relay config validate --config " << path << "\n"
              << "  4. cc-relay serve --config " << path << "\n"
              << "  5. cc-relay config cc init         (point Claude Code at the relay)\n";
    return 0;
}

}  // namespace

int run_config_init(const ConfigInitOptions& opts) {
    try {
        return config_init(opts);
    } catch (const std::exception& e) {
        std::cerr << "cc-relay: error: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace ccr::cli
