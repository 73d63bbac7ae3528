#include "shared/log/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "shared/util/json.h"

namespace ccr::shared {
namespace {

// `%*` in a pattern: `"msg":"<the message as a JSON string>"`, so JSON lines stay valid whatever
// a message contains; a message made of JSON members (kJsonFieldsMarker) is spliced in as they are.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg,
                const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const std::string_view payload(msg.payload.data(), msg.payload.size());
        if (!payload.empty() && payload.front() == kJsonFieldsMarker) {
            dest.append(payload.data() + 1, payload.data() + payload.size());
            return;
        }
        std::string quoted = "\"msg\":";
        append_json_string(quoted, payload);
        dest.append(quoted.data(), quoted.data() + quoted.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<JsonMessageFlag>();
    }
};

// What setup_logging() chose, for reopen_log_file() (one logger per process, set up after fork).
struct Installed {
    std::string path;  // empty: not a file
    std::string tag;
    bool json = false;
};
Installed& installed() {
    static Installed i;
    return i;
}

}  // namespace

std::unique_ptr<spdlog::formatter> line_formatter(bool json, std::string_view tag) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    const std::string t(tag);
    // Local time with its UTC offset, so lines from hosts in different zones (and across a DST
    // change) order correctly.
    if (json) {
        formatter->add_flag<JsonMessageFlag>('*');
        std::string quoted_tag;
        append_json_string(quoted_tag, t);
        formatter->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","proc":)" + quoted_tag +
                               R"(,"pid":%P,%*})");
    } else {
        formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%L%$ [" + t + "] %v");
    }
    return formatter;
}

bool log_is_json() { return installed().json; }

bool reopen_log_file() {
    const Installed& i = installed();
    if (i.path.empty()) return false;
    auto& sinks = spdlog::default_logger_raw()->sinks();
    if (sinks.empty()) return false;
    try {
        auto fresh = std::make_shared<spdlog::sinks::basic_file_sink_st>(i.path);
        fresh->set_formatter(line_formatter(i.json, i.tag));
        sinks[0] = std::move(fresh);
    } catch (const std::exception& e) {
        spdlog::error("cannot reopen the log file {}: {} (still writing the old one)", i.path, e.what());
        return false;
    }
    return true;
}

bool valid_log_level(std::string_view level) {
    return level == "trace" || level == "debug" || level == "info" || level == "warn" ||
           level == "error" || level == "critical" || level == "off";
}

void setup_logging(const LoggingConfig& cfg,
                   const std::string& level_override,
                   std::string_view tag,
                   bool startup) {
    std::vector<spdlog::sink_ptr> sinks;
    if (cfg.output.empty() || cfg.output == "stdout") {
        sinks.push_back(std::make_shared<spdlog::sinks::stdout_sink_st>());
    } else if (cfg.output == "stderr") {
        sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_st>());
    } else {
        sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_st>(cfg.output));
        if (startup) {
            // The second sink: end_startup_logging() removes it.
            auto terminal = std::make_shared<spdlog::sinks::stderr_sink_st>();
            terminal->set_level(spdlog::level::err);
            sinks.push_back(std::move(terminal));
        }
    }
    auto logger = std::make_shared<spdlog::logger>("cc-relay", sinks.begin(), sinks.end());
    Installed& i = installed();
    i.path = cfg.output.empty() || cfg.output == "stdout" || cfg.output == "stderr" ? std::string() : cfg.output;
    i.json = cfg.format == "json";
    i.tag = std::string(tag);
    logger->set_formatter(line_formatter(i.json, i.tag));
    const std::string& level = level_override.empty() ? cfg.level : level_override;
    logger->set_level(spdlog::level::from_str(level));
    // Every line is flushed: the access log is read by operators tailing it, and by the tests.
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
}

void end_startup_logging() {
    // Single-threaded (the master): no log call runs while the sink list changes.
    auto& sinks = spdlog::default_logger_raw()->sinks();
    if (sinks.size() > 1) sinks.resize(1);
}

}  // namespace ccr::shared
