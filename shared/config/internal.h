#pragma once
// Private to shared/config/: the pieces the loader is built from (reader, expansion, defaults,
// validation). Nothing outside this folder includes it.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "shared/config/config.h"

namespace ccr::shared::config_detail {

/// 1-based line and column; 0 when unknown.
struct Position {
    int line = 0;
    int column = 0;
};

Position position_of(const YAML::Mark& mark);

/// Where each value read from the file sits, by path ("server.listen", "providers[1].keys[0]").
class SourceMap {
  public:
    void set(const std::string& path, Position pos) { positions_[path] = pos; }
    bool has(const std::string& path) const { return positions_.count(path) != 0; }
    /// The position of `path`, else of its nearest recorded parent, else unknown.
    Position find(const std::string& path) const;
    /// A list item of the wrong shape (already reported): validation skips it.
    void set_invalid(const std::string& path) { invalid_.insert(path); }
    bool is_invalid(const std::string& path) const { return invalid_.count(path) != 0; }
    /// A credential written into the file itself rather than taken from `${VAR}`.
    void add_literal_secret(const std::string& path) { literal_secrets_.push_back(path); }
    const std::vector<std::string>& literal_secrets() const { return literal_secrets_; }

  private:
    std::map<std::string, Position> positions_;
    std::set<std::string> invalid_;
    std::vector<std::string> literal_secrets_;
};

/// Errors and warnings of one load, each tied to the loaded file.
class Report {
  public:
    explicit Report(std::string file) : file_(std::move(file)) {}

    void error(Position pos, std::string message);
    void warning(Position pos, std::string message);
    const std::string& file() const { return file_; }
    /// "file:line:col" of a position (for "first defined at ..." messages).
    std::string where(Position pos) const;

    /// Both sorted by position, unknown positions last.
    std::vector<Diagnostic> take_errors();
    std::vector<Diagnostic> take_warnings();

  private:
    std::string file_;
    std::vector<Diagnostic> errors_;
    std::vector<Diagnostic> warnings_;
};

/// Result of expanding `${VAR}`, `${VAR:-default}` and `$$` in one scalar.
struct Expansion {
    std::string value;
    std::vector<std::string> errors;
    std::vector<std::string> warnings;
};
Expansion expand_env(std::string_view text, EnvLookup env);

std::size_t edit_distance(std::string_view a, std::string_view b);
/// The candidate closest to `word` when it is close enough to be a likely typo.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);
/// `"a", "b", "c"` for messages.
std::string join_quoted(const std::vector<std::string>& words);

/// Fills `cfg` from the document root: types checked, scalars expanded, unknown keys warned.
void read_document(
    const YAML::Node& root, Config& cfg, SourceMap& where, Report& report, EnvLookup env);
/// Turns "0 / empty means the default" values into the defaults; resolves relative `ca_file`
/// against `base_dir` when it is not empty.
void apply_defaults(Config& cfg, const std::string& base_dir);
/// Checks every rule of the schema; problems go to `report`. `env` is where the cloud providers'
/// credentials and regions are looked up (shared/cloud/).
void validate(const Config& cfg, const SourceMap& where, Report& report, EnvLookup env);
/// The cloud rules of one provider at `path` ("providers[2]"): settings of another type's family
/// (warnings) and, when enabled, what shared/cloud/ resolves for it (errors and warnings).
void validate_cloud_provider(const ProviderConfig& p,
                             const std::string& path,
                             const SourceMap& where,
                             Report& report,
                             EnvLookup env);

/// Validation vocabularies, shared with the reader for suggestions.
const std::vector<std::string>& routing_strategies();
const std::vector<std::string>& pooling_strategies();
const std::vector<std::string>& log_levels();
const std::vector<std::string>& log_formats();

}  // namespace ccr::shared::config_detail
