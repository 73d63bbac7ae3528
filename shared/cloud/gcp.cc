// Vertex credentials. The key file is only recognised here (its "type" and the fields that type
// needs), not parsed as a whole: the JSON parser's kernel flags belong to worker/ (see
// worker/json_parser.h), and the worker's token source reads the file properly anyway.

#include "shared/cloud/gcp.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace ccr::shared::cloud {
namespace {

using Severity = Problem::Severity;

constexpr std::size_t kMaxKeyFileBytes = 1 << 20;  // a key file is a few KB

// The string value of the first `"name": "..."` in `text`; empty when absent.
std::string string_field(const std::string& text, const std::string& name) {
    const std::string quoted = "\"" + name + "\"";
    for (std::size_t at = text.find(quoted); at != std::string::npos;
         at = text.find(quoted, at + 1)) {
        std::size_t i = text.find_first_not_of(" \t\r\n", at + quoted.size());
        if (i == std::string::npos || text[i] != ':') continue;
        i = text.find_first_not_of(" \t\r\n", i + 1);
        if (i == std::string::npos || text[i] != '"') continue;
        std::string out;
        for (++i; i < text.size() && text[i] != '"'; ++i) {
            if (text[i] == '\\' && i + 1 < text.size()) ++i;
            out += text[i];
        }
        return out;
    }
    return {};
}

// What is wrong with the key file at `path` (empty when nothing); sets `type`.
std::string key_file_problem(const std::string& path, std::string& type) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return "does not exist";
    if (!std::filesystem::is_regular_file(path, ec)) return "is not a regular file";
    if (::access(path.c_str(), R_OK) != 0) return "cannot be read (check its permissions)";
    if (std::filesystem::file_size(path, ec) > kMaxKeyFileBytes)
        return "is too large for a key file";
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    const std::string body = text.str();
    const std::size_t first = body.find_first_not_of(" \t\r\n");
    if (!in || first == std::string::npos || body[first] != '{') return "is not a JSON key file";
    type = string_field(body, "type");
    const char* const* needed = nullptr;
    static const char* const kServiceAccount[] = {"client_email", "private_key", nullptr};
    static const char* const kAuthorizedUser[] = {"client_id", "client_secret", "refresh_token",
                                                  nullptr};
    if (type == "service_account") {
        needed = kServiceAccount;
    } else if (type == "authorized_user") {
        needed = kAuthorizedUser;
    } else {
        return "is not a service_account or authorized_user key file (its \"type\" is " +
               (type.empty() ? std::string("missing") : "\"" + type + "\"") + ")";
    }
    for (; *needed != nullptr; ++needed) {
        if (string_field(body, *needed).empty()) {
            return "is a " + type + " key file without \"" + *needed + "\"";
        }
    }
    return {};
}

void credentials(const ProviderConfig& p, EnvLookup env, GcpResolution& r) {
    std::string path = p.gcp_credentials_file;
    std::string source = "config";
    if (path.empty()) {
        const std::optional<std::string> v = env("GOOGLE_APPLICATION_CREDENTIALS");
        if (v && !v->empty()) {
            path = *v;
            source = "GOOGLE_APPLICATION_CREDENTIALS";
        }
    }
    if (path.empty()) {
        r.credentials_source = "metadata server";
        r.problems.push_back(
            {Severity::warning, "gcp_credentials_file",
             "neither gcp_credentials_file nor GOOGLE_APPLICATION_CREDENTIALS is set: access "
             "tokens will come from the GCE/GKE metadata server, which answers only on Google "
             "Cloud"});
        return;
    }
    std::string type;
    if (const std::string problem = key_file_problem(path, type); !problem.empty()) {
        const bool from_config = source == "config";
        r.problems.push_back(
            {Severity::error, from_config ? "gcp_credentials_file" : "",
             (from_config ? "gcp_credentials_file \"" : "GOOGLE_APPLICATION_CREDENTIALS names \"") +
                 path + "\", which " + problem});
        return;
    }
    r.credentials_file = path;
    r.credentials_source = source;
    r.credentials_type = type;
}

}  // namespace

GcpResolution resolve_gcp(const ProviderConfig& p, EnvLookup env) {
    GcpResolution r;
    r.project_id = p.gcp_project_id;
    r.region = p.gcp_region;
    if (r.project_id.empty()) {
        r.problems.push_back({Severity::error, "gcp_project_id",
                              "gcp_project_id is required for a vertex provider (the Google Cloud "
                              "project that has Claude enabled)"});
    }
    if (r.region.empty()) {
        r.problems.push_back({Severity::error, "gcp_region",
                              "gcp_region is required for a vertex provider (e.g. \"global\", "
                              "\"us-east5\", \"europe-west1\")"});
    }
    credentials(p, env, r);
    return r;
}

}  // namespace ccr::shared::cloud
