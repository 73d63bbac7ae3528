// cc-relay's entry point: CLI11 parses the command line, then exactly one run_* function from
// cli/commands.h does the work and returns the exit code.
//
// Adding a command: write an add_<name>(Cli&) below that declares its subcommand and options and
// calls cli.on_run(), then call it from run(). Nothing runs while parsing: callbacks only record
// the chosen action, which run() executes once the whole command line has been accepted.
//
// Exit codes: 0 success (and --help, --version, a command group given without a subcommand,
// which prints its help); 1 the command failed; 2 the command line was not understood (CLI11's
// own codes, 105-115, mean nothing to a shell script).

#include <CLI/CLI.hpp>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "shared/util/proc_title.h"
#include "cli/commands.h"
#include "shared/config/config.h"

namespace {

namespace cli = ccr::cli;

constexpr int kUsageError = 2;

struct Cli {
    CLI::App app{"Relay for the Anthropic Messages API: one address for Claude Code, many backends",
                 "cc-relay"};
    std::string config_path;      // --config, before the subcommand or on it
    bool show_version = false;    // --version
    std::function<int()> action;  // what the chosen subcommand runs

    /// Choosing `cmd` runs `run`, after the whole command line is parsed.
    void on_run(CLI::App* cmd, std::function<int()> run) {
        cmd->callback([this, run = std::move(run)] { action = run; });
    }

    /// `--config` on a subcommand; the same variable as the global option, last one wins.
    void add_config_option(CLI::App* cmd) {
        cmd->add_option("--config", config_path,
                        "Config file (default: the first of ./config.yaml, "
                        "~/.config/cc-relay/config.yaml, /etc/cc-relay/config.yaml)");
    }

    /// `--listen` and `--shm`: name the instance without a config file (stats, status, reload).
    void add_instance_options(CLI::App* cmd, std::string& listen, std::string& shm) {
        CLI::Option* l = cmd->add_option(
            "--listen", listen,
            "The instance's address HOST:PORT (its segment /cc-relay-PORT); reads no config");
        CLI::Option* s = cmd->add_option(
            "--shm", shm,
            "The instance's shared-memory segment name (server.shm_name); reads no config");
        l->excludes(s);
    }

    /// --config (global or on the subcommand) together with --listen or --shm.
    bool conflicting_names(const std::string& listen, const std::string& shm) const {
        if (config_path.empty() || (listen.empty() && shm.empty())) return false;
        std::cerr << "--config, --listen and --shm each name the instance: give one\n";
        return true;
    }

    /// A group such as `config`: at most one subcommand; none prints the group's help.
    CLI::App* add_group(CLI::App* parent, const std::string& name, const std::string& help) {
        CLI::App* group = parent->add_subcommand(name, help);
        group->require_subcommand(0, 1);
        return group;
    }
};

void add_serve(Cli& c) {
    auto opts = std::make_shared<cli::ServeOptions>();
    CLI::App* cmd = c.app.add_subcommand("serve", "Run the relay (a master and its workers)");
    c.add_config_option(cmd);
    cmd->add_option("--log-level", opts->log_level, "Override logging.level")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
    cmd->add_flag("--debug", opts->debug,
                  "Log at debug level, including each request body (secret-looking values masked, "
                  "cut at logging.debug_options.max_body_log_size)");
    cmd->add_option("--workers", opts->workers, "Worker processes (0: one per CPU)")
        ->check(CLI::Range(0, 1024));
    c.on_run(cmd, [&c, opts] {
        opts->config_path = c.config_path;
        return cli::run_serve(*opts);
    });
}

void add_version(Cli& c) {
    CLI::App* cmd = c.app.add_subcommand("version", "Print the version and build");
    c.on_run(cmd, [] { return cli::run_version(); });
}

void add_config_init(Cli& c, CLI::App* config) {
    auto opts = std::make_shared<cli::ConfigInitOptions>();
    CLI::App* cmd = config->add_subcommand("init", "Write a starter config file");
    cmd->add_option("-o,--output", opts->output,
                    "Where to write (default: ~/.config/cc-relay/config.yaml)");
    cmd->add_flag("--force", opts->force, "Overwrite an existing file");
    c.on_run(cmd, [opts] { return cli::run_config_init(*opts); });
}

void add_config_validate(Cli& c, CLI::App* config) {
    CLI::App* cmd =
        config->add_subcommand("validate", "Check a config file, reporting every problem");
    c.add_config_option(cmd);
    c.on_run(cmd, [&c] { return cli::run_config_validate(c.config_path); });
}

void add_config_cc(Cli& c, CLI::App* config) {
    CLI::App* cc = c.add_group(config, "cc", "Point Claude Code at the relay (its settings.json)");
    auto opts = std::make_shared<cli::ClaudeSettingsOptions>();
    const std::string settings_help =
        "Claude Code settings file (default: ~/.claude/settings.json)";

    CLI::App* init = cc->add_subcommand(
        "init", "Set env.ANTHROPIC_BASE_URL and env.ANTHROPIC_AUTH_TOKEN, keeping everything else");
    init->add_option("--proxy-url", opts->proxy_url, "The relay's address, http(s)://host[:port]")
        ->capture_default_str();
    init->add_option("--token", opts->token,
                     "Value of ANTHROPIC_AUTH_TOKEN, e.g. the relay's server.auth.api_key "
                     "(default: managed-by-cc-relay, which overrides a subscription login)");
    init->add_flag("--keep-login", opts->keep_login,
                   "Write no ANTHROPIC_AUTH_TOKEN, so Claude Code keeps using its own login "
                   "(passed through by an anthropic provider without keys)")
        ->excludes(init->get_option("--token"));
    init->add_option("--settings", opts->settings_path, settings_help);
    c.on_run(init, [opts] { return cli::run_config_cc_init(*opts); });

    CLI::App* remove = cc->add_subcommand("remove", "Remove what `config cc init` set");
    remove->add_option("--settings", opts->settings_path, settings_help);
    c.on_run(remove, [opts] { return cli::run_config_cc_remove(*opts); });
}

void add_config(Cli& c) {
    CLI::App* config = c.add_group(&c.app, "config", "Create, check and use configuration files");
    add_config_init(c, config);
    add_config_validate(c, config);
    add_config_cc(c, config);
}

void add_stats(Cli& c) {
    auto opts = std::make_shared<cli::StatsOptions>();
    auto watch = std::make_shared<std::string>();
    CLI::App* cmd = c.app.add_subcommand(
        "stats", "Print the running instance's counters (reads its shared memory only)");
    c.add_config_option(cmd);
    cmd->add_flag("--json", opts->json, "One JSON object (one a refresh with --watch)");
    CLI::Option* watch_opt =
        cmd->add_option("--watch", *watch, "Redraw every SECONDS (default 2) until Ctrl-C")
            ->expected(0, 1)
            ->type_name("[SECONDS]");
    cmd->add_flag("--workers", opts->workers, "Add a row per worker");
    c.add_instance_options(cmd, opts->listen, opts->shm);
    c.on_run(cmd, [&c, opts, watch, watch_opt] {
        if (c.conflicting_names(opts->listen, opts->shm)) return kUsageError;
        opts->config_path = c.config_path;
        if (watch_opt->count() > 0) {
            // Given without a value, CLI11 leaves the string empty (or "true", as for a flag).
            opts->watch_seconds = 2;
            if (!watch->empty() && *watch != "true") {
                try {
                    std::size_t used = 0;
                    opts->watch_seconds = std::stod(*watch, &used);
                    if (used != watch->size()) throw std::invalid_argument(*watch);
                } catch (const std::exception&) {
                    opts->watch_seconds = -1;
                }
                if (!(opts->watch_seconds >= 0.1 && opts->watch_seconds <= 86400)) {
                    std::cerr << "--watch: expected seconds between 0.1 and 86400, got "
                              << *watch << "\n";
                    return kUsageError;
                }
            }
        }
        return cli::run_stats(*opts);
    });
}

void add_top(Cli& c) {
    auto opts = std::make_shared<cli::TopOptions>();
    CLI::App* cmd = c.app.add_subcommand(
        "top", "Live view of the running instance: providers, clients, workers (q quits, v view, s sort, p pause)");
    c.add_config_option(cmd);
    cmd->add_option("--interval", opts->interval_s, "Seconds between refreshes (0.1-60, default 1)");
    cmd->add_flag("--once", opts->once, "Print one frame and exit");
    cmd->add_option("--count", opts->count, "Print N frames and exit");
    c.add_instance_options(cmd, opts->listen, opts->shm);
    c.on_run(cmd, [&c, opts] {
        if (c.conflicting_names(opts->listen, opts->shm)) return kUsageError;
        if (!(opts->interval_s >= 0.1 && opts->interval_s <= 60)) {
            std::cerr << "--interval: expected seconds between 0.1 and 60\n";
            return kUsageError;
        }
        if (opts->count < 0) {
            std::cerr << "--count: expected a number of frames of 0 or more\n";
            return kUsageError;
        }
        opts->config_path = c.config_path;
        return cli::run_top(*opts);
    });
}

void add_usage(Cli& c) {
    auto opts = std::make_shared<cli::UsageOptions>();
    CLI::App* cmd = c.app.add_subcommand("usage", "Requests, tokens and cost per day, client and provider (the usage ledger)");
    auto* day = cmd->add_option("--day", opts->day, "One UTC day, YYYY-MM-DD");
    auto* since = cmd->add_option("--since", opts->since, "From this UTC day on, YYYY-MM-DD");
    day->excludes(since);
    cmd->add_option("--client", opts->client, "Only this client (\"*\": the providers' totals)");
    cmd->add_option("--provider", opts->provider, "Only this provider (\"*\": the clients' totals)");
    cmd->add_option("--db", opts->db,
                    "The ledger file (default: the config's ledger.path, else /var/lib/cc-relay/usage.db "
                    "when it exists, else ~/.local/state/cc-relay/usage.db)");
    cmd->add_flag("--json", opts->json, "One JSON object");
    c.add_config_option(cmd);
    c.on_run(cmd, [opts, &c] {
        for (const std::string* d : {&opts->day, &opts->since}) {
            const bool ok = d->empty() || (d->size() == 10 && (*d)[4] == '-' && (*d)[7] == '-');
            if (!ok) {
                std::cerr << "expected a day as YYYY-MM-DD, got " << *d << "\n";
                return kUsageError;
            }
        }
        opts->config_path = c.config_path;
        return cli::run_usage(*opts);
    });
}

void add_status(Cli& c) {
    auto opts = std::make_shared<cli::StatusOptions>();
    CLI::App* cmd = c.app.add_subcommand(
        "status",
        "Check the running instance: master, workers, last reload, /health (exit 0 healthy, "
        "1 unhealthy, 3 not running, 4 unknown: its segment cannot be read)");
    c.add_config_option(cmd);
    c.add_instance_options(cmd, opts->listen, opts->shm);
    c.on_run(cmd, [&c, opts] {
        if (c.conflicting_names(opts->listen, opts->shm)) return kUsageError;
        opts->config_path = c.config_path;
        return cli::run_status(*opts);
    });
}

void add_reload(Cli& c) {
    auto opts = std::make_shared<cli::ReloadOptions>();
    CLI::App* cmd = c.app.add_subcommand(
        "reload", "Make the running master re-read its config, and report the outcome");
    c.add_config_option(cmd);
    c.add_instance_options(cmd, opts->listen, opts->shm);
    c.on_run(cmd, [&c, opts] {
        if (c.conflicting_names(opts->listen, opts->shm)) return kUsageError;
        opts->config_path = c.config_path;
        return cli::run_reload(*opts);
    });
}

int run(int argc, char** argv) {
    Cli c;
    c.app.require_subcommand(0, 1);
    c.app.add_option("--config", c.config_path, "Config file, for the commands that read one");
    c.app.add_flag("--version", c.show_version, "Print the version and exit");
    add_serve(c);
    add_version(c);
    add_config(c);
    add_reload(c);
    add_stats(c);
    add_top(c);
    add_usage(c);
    add_status(c);

    try {
        c.app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // Prints the help, or the error with a hint, as CLI11 does.
        return c.app.exit(e) == 0 ? 0 : kUsageError;
    }
    if (c.show_version) return cli::run_version();
    if (!c.action) {
        std::cout << c.app.help();  // the help of the deepest subcommand named
        return 0;
    }
    return c.action();
}

}  // namespace

int main(int argc, char** argv) {
    ccr::shared::init_proc_title(argc, argv);  // before anything keeps pointers into argv
    try {
        return run(argc, argv);
    } catch (const ccr::shared::ConfigError& e) {
        for (const auto& d : e.diagnostics()) {
            std::cerr << "cc-relay: error: " << d.to_string() << "\n";
        }
        if (e.diagnostics().empty()) std::cerr << "cc-relay: error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "cc-relay: error: " << e.what() << "\n";
        return 1;
    } catch (...) {
        std::cerr << "cc-relay: error: unknown exception\n";
        return 1;
    }
}
