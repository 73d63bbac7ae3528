// The light read of a config for the operator commands (`stats`, `status`, `reload`, `usage`):
// they need the instance's address, segment name and pid file (and the ledger's path), never the
// provider keys. Only those scalars are expanded, so an unset `${VAR}` elsewhere (a key the operator's shell does not have)
// is not an error here; one in a value they do use is, with its position.

#include <filesystem>
#include <fstream>
#include <sstream>

#include "shared/config/internal.h"

namespace ccr::shared {

namespace {

using config_detail::Position;
using config_detail::position_of;

void read_value(const YAML::Node& section,
                const char* section_name,
                const char* key,
                std::string& out,
                EnvLookup env,
                config_detail::Report& report,
                const char* hint) {
    const YAML::Node value = section[key];
    if (!value || value.IsNull()) return;
    const std::string path = std::string(section_name) + "." + key;
    const Position at = position_of(value.Mark());
    if (!value.IsScalar()) {
        report.error(at, path + " must be a string");
        return;
    }
    config_detail::Expansion e = config_detail::expand_env(value.Scalar(), env);
    for (std::string& err : e.errors) {
        report.error(at, path + ": " + err + hint);
    }
    if (e.errors.empty()) out = std::move(e.value);
}

constexpr const char* kInstanceHint =
    "; this command needs it to find the instance (or name the instance with --listen HOST:PORT "
    "or --shm NAME)";
constexpr const char* kLedgerHint = "; `cc-relay usage` needs it to find the ledger (or give --db PATH)";

}  // namespace

InstanceRef read_instance_ref_text(const std::string& text,
                                   const std::string& source,
                                   EnvLookup env) {
    config_detail::Report report(source);
    InstanceRef ref;
    ref.source = source;
    ref.listen = ServerConfig{}.listen;
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        report.error(position_of(e.mark), "YAML syntax error: " + e.msg);
        throw ConfigError(report.take_errors());
    }
    if (root.IsMap()) {
        const YAML::Node server = root["server"];
        if (server && server.IsMap()) {
            read_value(server, "server", "listen", ref.listen, env, report, kInstanceHint);
            read_value(server, "server", "shm_name", ref.shm_name, env, report, kInstanceHint);
            read_value(server, "server", "pid_file", ref.pid_file, env, report, kInstanceHint);
        } else if (server && !server.IsNull()) {
            report.error(position_of(server.Mark()), "server must be a mapping");
        }
        // Kept apart: a bad ledger.path is an error for `usage` only, not for finding the instance.
        config_detail::Report ledger_report(source);
        const YAML::Node ledger = root["ledger"];
        if (ledger && ledger.IsMap()) {
            read_value(ledger, "ledger", "path", ref.ledger_path, env, ledger_report, kLedgerHint);
        } else if (ledger && !ledger.IsNull()) {
            ledger_report.error(position_of(ledger.Mark()), "ledger must be a mapping");
        }
        ref.ledger_errors = ledger_report.take_errors();
    } else if (!root.IsNull()) {
        report.error(position_of(root.Mark()), "the top level must be a mapping of sections");
    }
    if (std::vector<Diagnostic> errors = report.take_errors(); !errors.empty()) {
        throw ConfigError(std::move(errors));
    }
    if (ref.shm_name.empty() && !parse_listen(ref.listen)) {
        throw ConfigError({Diagnostic{source, 0, 0,
                                      "server.listen \"" + ref.listen +
                                          "\" is not HOST:PORT, so the instance's segment name "
                                          "cannot be derived from it"}});
    }
    return ref;
}

InstanceRef read_instance_ref_file(const std::string& path, EnvLookup env) {
    std::ifstream in(path, std::ios::binary);
    std::error_code ec;
    if (!in || std::filesystem::is_directory(path, ec)) {
        const bool exists = std::filesystem::exists(path, ec);
        throw ConfigError({Diagnostic{
            path, 0, 0,
            exists ? "config file cannot be read (check its permissions; or name the instance "
                     "with --listen HOST:PORT or --shm NAME, which need no config)"
                   : "config file does not exist"}});
    }
    std::ostringstream text;
    text << in.rdbuf();
    return read_instance_ref_text(text.str(), path, env);
}

InstanceRef read_instance_ref(const std::string& explicit_path) {
    if (const auto path = discover_config_path(explicit_path)) return read_instance_ref_file(*path);
    InstanceRef ref;
    ref.source = "<built-in>";
    ref.listen = default_config().server.listen;
    return ref;
}

}  // namespace ccr::shared
