// The config loader (shared/config/) on any file text, with a fixed fake environment, and the
// `${VAR}` expansion (env.cc) on any scalar. Asserts: loading either yields a config or throws a
// ConfigError (never another exception, never a crash) whose every diagnostic names the file,
// has a message and a position that is unknown (0:0) or inside the text; a loaded config has an
// enabled provider, its strategy parsed, warnings that name the file, and loads the same again;
// the light read of the operator commands behaves the same way; and expansion turns `$$` back
// into `$`, so the text with every `$` doubled expands to itself without a problem.

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "shared/config/config.h"
#include "shared/config/internal.h"
#include "tests/fuzz/check.h"

namespace {

using namespace ccr::shared;

const std::string kFile = "fuzz.yaml";

std::optional<std::string> fake_env(const std::string& name) {
    static const std::map<std::string, std::string> vars{
        {"KEY", "sk-fuzz"},  {"EMPTY", ""},       {"HOST", "127.0.0.1"},
        {"PORT", "8787"},    {"DOLLAR", "${KEY}"}, {"AWS_REGION", "us-east-1"}};
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
}

void check_diagnostics(const ConfigError& e, const std::string& text) {
    const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    FUZZ_CHECK(!e.diagnostics().empty(), "a ConfigError without a diagnostic: %s", e.what());
    const std::string what = e.what();
    for (const Diagnostic& d : e.diagnostics()) {
        FUZZ_CHECK(d.file == kFile, "diagnostic names %s", d.file.c_str());
        FUZZ_CHECK(!d.message.empty(), "diagnostic without a message at %d:%d", d.line, d.column);
        FUZZ_CHECK((d.line == 0 && d.column == 0) || (d.line >= 1 && d.column >= 1),
                   "half a position: %s", d.to_string().c_str());
        FUZZ_CHECK(d.line <= lines, "line %d of a %d-line text: %s", d.line, lines,
                   d.to_string().c_str());
        // what() is a C string: it ends at a NUL the YAML text put into a message.
        if (text.find('\0') == std::string::npos)
            FUZZ_CHECK(what.find(d.to_string()) != std::string::npos, "what() leaves out %s",
                       d.to_string().c_str());
    }
}

void check_load(const std::string& text) {
    std::optional<Config> cfg;
    try {
        cfg = load_config_text(text, kFile, &fake_env);
    } catch (const ConfigError& e) {
        check_diagnostics(e, text);
        return;
    }
    FUZZ_CHECK(cfg->source == kFile, "source %s", cfg->source.c_str());
    FUZZ_CHECK(std::any_of(cfg->providers.begin(), cfg->providers.end(),
                           [](const ProviderConfig& p) { return p.enabled; }),
               "a config without an enabled provider loaded");
    FUZZ_CHECK(parse_routing_strategy(cfg->routing.strategy) == cfg->routing.kind,
               "strategy %s parsed to another kind", cfg->routing.strategy.c_str());
    for (const std::string& w : cfg->warnings)
        FUZZ_CHECK(w.starts_with(kFile + ":"), "warning without its file: %s", w.c_str());
    const Config again = load_config_text(text, kFile, &fake_env);
    FUZZ_CHECK(again.server == cfg->server && again.providers == cfg->providers &&
                   again.routing == cfg->routing && again.logging == cfg->logging &&
                   again.health == cfg->health && again.clients == cfg->clients &&
                   again.ledger == cfg->ledger && again.warnings == cfg->warnings,
               "loading the same text twice gave two configs");
}

void check_instance_ref(const std::string& text) {
    try {
        (void)read_instance_ref_text(text, kFile, &fake_env);
    } catch (const ConfigError& e) {
        check_diagnostics(e, text);
    }
}

void check_expansion(const std::string& text) {
    namespace cd = ccr::shared::config_detail;
    const cd::Expansion plain = cd::expand_env(text, &fake_env);
    if (text.find('$') == std::string::npos) {
        FUZZ_CHECK(plain.value == text && plain.errors.empty() && plain.warnings.empty(),
                   "a text without $ changed");
    }
    std::string escaped;
    for (char c : text) {
        escaped += c;
        if (c == '$') escaped += '$';
    }
    const cd::Expansion round = cd::expand_env(escaped, &fake_env);
    FUZZ_CHECK(round.value == text, "$$-escaped text expanded to something else");
    FUZZ_CHECK(round.errors.empty() && round.warnings.empty(), "$$-escaped text has problems: %s",
               round.errors.empty() ? round.warnings.front().c_str() : round.errors.front().c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    check_load(text);
    check_instance_ref(text);
    check_expansion(text);
    return 0;
}
