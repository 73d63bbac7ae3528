// The loader's entry points: read, parse (YAML syntax errors with their position), then
// read_document -> apply_defaults -> validate, and throw every error at once.

#include "shared/config/config.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "shared/config/internal.h"

namespace ccr::shared {

std::string Diagnostic::to_string() const {
    std::string out = file;
    if (line > 0) {
        out += ":" + std::to_string(line);
        if (column > 0) out += ":" + std::to_string(column);
    }
    return out.empty() ? message : out + ": " + message;
}

namespace {

std::string error_summary(const std::vector<Diagnostic>& diags,
                          const std::vector<Diagnostic>& warnings) {
    std::string out = "config validation failed with " + std::to_string(diags.size()) +
                      (diags.size() == 1 ? " error:" : " errors:");
    for (const Diagnostic& d : diags) out += "\n  " + d.to_string();
    if (!warnings.empty()) out += warnings.size() == 1 ? "\nand a warning:" : "\nand warnings:";
    for (const Diagnostic& w : warnings) out += "\n  " + w.to_string();
    return out;
}

// The accounts of group `gid`: its listed members and the accounts whose primary group it is.
std::size_t group_accounts(gid_t gid, std::string& name) {
    std::set<std::string> accounts;
    if (const group* g = ::getgrgid(gid)) {
        name = g->gr_name;
        for (char** m = g->gr_mem; m != nullptr && *m != nullptr; ++m) accounts.insert(*m);
    } else {
        name = std::to_string(gid);
    }
    ::setpwent();
    while (const passwd* pw = ::getpwent()) {
        if (pw->pw_gid == gid) accounts.insert(pw->pw_name);
    }
    ::endpwent();
    return accounts.size();
}

// A warning when the file holds literal secrets and users other than its owner may read it.
void check_exposure(const std::string& path,
                    const config_detail::SourceMap& where,
                    config_detail::Report& report) {
    const auto& secrets = where.literal_secrets();
    struct stat st {};
    if (secrets.empty() || ::stat(path.c_str(), &st) != 0) return;
    std::string group;
    const std::size_t accounts = (st.st_mode & S_IRGRP) ? group_accounts(st.st_gid, group) : 0;
    const std::string who = config_exposure(st.st_mode, group, accounts);
    if (who.empty()) return;
    std::string names;
    for (std::size_t i = 0; i < secrets.size() && i < 3; ++i) names += (i ? ", " : "") + secrets[i];
    if (secrets.size() > 3) names += ", ...";
    report.warning({}, "the file holds credentials written in it (" + names + ") and is readable by " +
                           who + ": make it readable by the service alone (chmod 0600, or 0640 with " +
                           "the service's own group), or move them to the environment (${VAR})");
}

// How many YAML documents the text holds, by a pass of yaml-cpp's parser that builds nothing.
// Not YAML::LoadAll: on some malformed input (a ',' at the start of a document, outside any
// brackets) yaml-cpp 0.7's parser yields an empty document again and again without consuming a
// byte, and LoadAll collects them until memory runs out. A document that starts where the previous
// one started is that loop; counting stops there.
struct DocumentCount {
    std::size_t documents = 0;
    bool stalled = false;
    YAML::Mark stall;
};

DocumentCount count_documents(const std::string& text) {
    struct Starts final : YAML::EventHandler {
        YAML::Mark start;
        void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
        void OnDocumentEnd() override {}
        void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
        void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
        void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                      const std::string&) override {}
        void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                             YAML::EmitterStyle::value) override {}
        void OnSequenceEnd() override {}
        void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                        YAML::EmitterStyle::value) override {}
        void OnMapEnd() override {}
    };
    std::istringstream in(text);
    YAML::Parser parser(in);
    Starts starts;
    DocumentCount count;
    int previous = -1;
    while (parser.HandleNextDocument(starts)) {
        if (starts.start.pos == previous) {
            count.stalled = true;
            count.stall = starts.start;
            break;
        }
        previous = starts.start.pos;
        ++count.documents;
    }
    return count;
}

Config load(const std::string& text,
            const std::string& source,
            EnvLookup env,
            const std::string& base_dir,
            const std::string& file = {}) {
    using namespace config_detail;
    Report report(source);
    YAML::Node document;
    try {
        const DocumentCount count = count_documents(text);
        if (count.stalled) {
            report.error(position_of(count.stall),
                         "YAML syntax error: the parser makes no progress here (a ',' or another "
                         "flow indicator outside brackets?)");
            throw ConfigError(report.take_errors());
        }
        if (count.documents > 1) {
            report.error({}, "the file holds " + std::to_string(count.documents) +
                                 " YAML documents; a config is a single document");
        }
        document = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        report.error(position_of(e.mark), "YAML syntax error: " + e.msg);
        throw ConfigError(report.take_errors());
    }
    Config cfg;
    cfg.source = source;
    SourceMap where;
    read_document(document, cfg, where, report, env);
    apply_defaults(cfg, base_dir);
    validate(cfg, where, report, env);
    if (!file.empty()) check_exposure(file, where, report);
    std::vector<Diagnostic> errors = report.take_errors();
    if (!errors.empty()) throw ConfigError(std::move(errors), report.take_warnings());
    for (const Diagnostic& w : report.take_warnings()) cfg.warnings.push_back(w.to_string());
    return cfg;
}

}  // namespace

ConfigError::ConfigError(std::vector<Diagnostic> diags, std::vector<Diagnostic> warnings)
    : std::runtime_error(error_summary(diags, warnings)),
      diags_(std::move(diags)),
      warnings_(std::move(warnings)) {}

Config load_config_text(const std::string& text, const std::string& source, EnvLookup env) {
    return load(text, source, env, "");
}

Config load_config_file(const std::string& path, EnvLookup env) {
    std::ifstream in(path, std::ios::binary);
    std::error_code ec;
    if (!in || std::filesystem::is_directory(path, ec)) {
        const std::string reason = std::filesystem::exists(path, ec)
                                       ? "cannot be read (check its permissions)"
                                       : "does not exist";
        throw ConfigError({Diagnostic{path, 0, 0, "config file " + reason}});
    }
    std::ostringstream text;
    text << in.rdbuf();
    // Relative paths inside the file (ca_file) are relative to the file, not to the cwd.
    const std::string base_dir =
        std::filesystem::absolute(std::filesystem::path(path), ec).parent_path().string();
    return load(text.str(), path, env, base_dir, path);
}

std::string config_exposure(unsigned mode, const std::string& group, std::size_t group_accounts) {
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", mode & 07777);
    if (mode & S_IROTH) return std::string("every user (mode ") + octal + ")";
    if ((mode & S_IRGRP) && group_accounts > 1) {
        return "the " + std::to_string(group_accounts) + " accounts of group " + group + " (mode " +
               octal + ")";
    }
    return {};
}

Config load_config(const std::string& explicit_path) {
    if (const auto path = discover_config_path(explicit_path)) return load_config_file(*path);
    return default_config();
}

}  // namespace ccr::shared

namespace ccr::shared::config_detail {

Position position_of(const YAML::Mark& mark) {
    if (mark.is_null() || mark.line < 0 || mark.column < 0) return {};
    return {mark.line + 1, mark.column + 1};
}

Position SourceMap::find(const std::string& path) const {
    std::string p = path;
    while (!p.empty()) {
        if (const auto it = positions_.find(p); it != positions_.end()) return it->second;
        const std::size_t cut = p.find_last_of(".[");
        if (cut == std::string::npos) break;
        p.resize(cut);
    }
    return {};
}

void Report::error(Position pos, std::string message) {
    errors_.push_back(Diagnostic{file_, pos.line, pos.column, std::move(message)});
}

void Report::warning(Position pos, std::string message) {
    warnings_.push_back(Diagnostic{file_, pos.line, pos.column, std::move(message)});
}

std::string Report::where(Position pos) const {
    std::string out = file_;
    if (pos.line > 0) out += ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
    return out;
}

namespace {

void sort_by_position(std::vector<Diagnostic>& diags) {
    std::stable_sort(diags.begin(), diags.end(), [](const Diagnostic& a, const Diagnostic& b) {
        // Unknown positions (line 0) go last.
        const auto key = [](const Diagnostic& d) {
            return std::pair{d.line == 0 ? INT_MAX : d.line, d.column};
        };
        return key(a) < key(b);
    });
}

}  // namespace

std::vector<Diagnostic> Report::take_errors() {
    sort_by_position(errors_);
    return std::move(errors_);
}

std::vector<Diagnostic> Report::take_warnings() {
    sort_by_position(warnings_);
    return std::move(warnings_);
}

}  // namespace ccr::shared::config_detail
