// Bedrock credentials: the order and the file format follow botocore's EnvProvider and
// SharedCredentialProvider, and Claude Code's AWS_BEARER_TOKEN_BEDROCK.

#include "shared/cloud/aws.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <system_error>
#include <utility>

namespace ccr::shared::cloud {

bool has_error(const std::vector<Problem>& problems) {
    for (const Problem& p : problems) {
        if (p.severity == Problem::Severity::error) return true;
    }
    return false;
}

namespace {

using Severity = Problem::Severity;

// The SDKs treat an empty variable as unset.
std::string env_value(EnvLookup env, const char* name) {
    std::optional<std::string> v = env(name);
    return v ? *v : std::string();
}

std::string trim(const std::string& s) {
    const std::size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

using Profile = std::map<std::string, std::string>;

enum class FileState { read, missing, unreadable };

// The INI shape of ~/.aws/credentials: "[name]" sections, "key = value" lines, whole-line
// comments starting with # or ;. Later duplicates win, as in botocore.
FileState read_profiles(const std::string& path, std::map<std::string, Profile>& out) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return FileState::missing;
    std::ifstream in(path);
    if (!in || ::access(path.c_str(), R_OK) != 0) return FileState::unreadable;
    Profile* current = nullptr;
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        if (line.front() == '[' && line.back() == ']') {
            current = &out[trim(line.substr(1, line.size() - 2))];
            continue;
        }
        const std::size_t eq = line.find('=');
        if (current == nullptr || eq == std::string::npos) continue;
        (*current)[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
    }
    return FileState::read;
}

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

// Config keys: both or neither; a session token only with both.
void config_keys(const ProviderConfig& p, AwsResolution& r) {
    const bool id = !p.aws_access_key_id.empty();
    const bool secret = !p.aws_secret_access_key.empty();
    if (id && !secret) {
        r.problems.push_back({Severity::error, "aws_access_key_id",
                              "aws_access_key_id is set but aws_secret_access_key is not (give "
                              "both, or neither to take the keys from the environment or the "
                              "credentials file)"});
    } else if (secret && !id) {
        r.problems.push_back({Severity::error, "aws_secret_access_key",
                              "aws_secret_access_key is set but aws_access_key_id is not"});
    } else if (!id && !p.aws_session_token.empty()) {
        r.problems.push_back({Severity::error, "aws_session_token",
                              "aws_session_token needs aws_access_key_id and "
                              "aws_secret_access_key"});
    }
}

void bearer(const ProviderConfig& p, EnvLookup env, AwsResolution& r) {
    if (!p.aws_bearer_token.empty()) {
        r.bearer_token = p.aws_bearer_token;
        r.bearer_source = "config";
    } else if (std::string t = env_value(env, "AWS_BEARER_TOKEN_BEDROCK"); !t.empty()) {
        r.bearer_token = std::move(t);
        r.bearer_source = "environment";
    }
    if (!r.uses_bearer()) return;
    const std::string which =
        r.bearer_source == "config" ? "aws_bearer_token" : "AWS_BEARER_TOKEN_BEDROCK";
    for (const auto& [key, value] :
         {std::pair<const char*, const std::string&>{"aws_access_key_id", p.aws_access_key_id},
          {"aws_secret_access_key", p.aws_secret_access_key},
          {"aws_session_token", p.aws_session_token},
          {"aws_profile", p.aws_profile}}) {
        if (value.empty()) continue;
        r.problems.push_back({Severity::warning, key,
                              std::string(key) + " is not in effect: the Bedrock API key (" +
                                  which + ") is sent as a bearer token instead of SigV4"});
    }
}

void profile_not_in_effect(const ProviderConfig& p, const std::string& source, AwsResolution& r) {
    if (p.aws_profile.empty()) return;
    r.problems.push_back({Severity::warning, "aws_profile",
                          "aws_profile is not in effect: the SigV4 keys come from the " + source});
}

void from_file(const ProviderConfig& p, EnvLookup env, AwsResolution& r) {
    const std::string path = aws_credentials_file(env);
    std::string profile = p.aws_profile;
    std::string profile_from = "aws_profile";
    if (profile.empty()) {
        profile = env_value(env, "AWS_PROFILE");
        profile_from = "AWS_PROFILE";
    }
    if (profile.empty()) {
        profile = "default";
        profile_from.clear();
    }
    const std::string looked =
        "looked at aws_access_key_id/aws_secret_access_key in the config, "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment and profile " +
        in_quotes(profile) + (profile_from.empty() ? "" : " (from " + profile_from + ")") + " in ";
    const std::string advice =
        "; set one of these, or aws_bearer_token (or AWS_BEARER_TOKEN_BEDROCK) for a Bedrock API "
        "key";
    // An explicit aws_profile that is wrong is reported at that key.
    const std::string key = profile_from == "aws_profile" ? "aws_profile" : "";
    if (path.empty()) {
        r.problems.push_back({Severity::error, key,
                              "no AWS credentials found: " + looked +
                                  "the shared credentials file (neither "
                                  "AWS_SHARED_CREDENTIALS_FILE nor HOME is set)" +
                                  advice});
        return;
    }
    std::map<std::string, Profile> profiles;
    const FileState state = read_profiles(path, profiles);
    std::string reason;
    if (state == FileState::missing) {
        reason = "which does not exist";
    } else if (state == FileState::unreadable) {
        reason = "which cannot be read";
    } else if (const auto it = profiles.find(profile); it == profiles.end()) {
        reason = "which has no such profile";
    } else {
        const Profile& values = it->second;
        const auto get = [&](const char* name) {
            const auto v = values.find(name);
            return v == values.end() ? std::string() : v->second;
        };
        AwsCredentialSet set{get("aws_access_key_id"), get("aws_secret_access_key"),
                             get("aws_session_token"), path + " [profile " + profile + "]"};
        if (!set.access_key_id.empty() && !set.secret_access_key.empty()) {
            r.sigv4 = std::move(set);
            return;
        }
        if (!set.access_key_id.empty() || !set.secret_access_key.empty()) {
            r.problems.push_back({Severity::error, key,
                                  "profile " + in_quotes(profile) + " in " + path + " has " +
                                      (set.access_key_id.empty() ? "aws_secret_access_key but "
                                                                   "no aws_access_key_id"
                                                                 : "aws_access_key_id but no "
                                                                   "aws_secret_access_key")});
            return;
        }
        reason =
            "whose profile has no aws_access_key_id/aws_secret_access_key (role_arn, sso_* "
            "and credential_process profiles are not supported)";
    }
    r.problems.push_back({Severity::error, key,
                          "no AWS credentials found: " + looked + path + ", " + reason + advice});
}

void sigv4(const ProviderConfig& p, EnvLookup env, AwsResolution& r) {
    if (!p.aws_access_key_id.empty() && !p.aws_secret_access_key.empty()) {
        r.sigv4 = AwsCredentialSet{p.aws_access_key_id, p.aws_secret_access_key,
                                   p.aws_session_token, "config"};
        profile_not_in_effect(p, "config", r);
        return;
    }
    if (!p.aws_access_key_id.empty() || !p.aws_secret_access_key.empty() ||
        !p.aws_session_token.empty()) {
        return;  // a half-given pair, reported by config_keys(); nothing else is tried
    }
    const std::string id = env_value(env, "AWS_ACCESS_KEY_ID");
    const std::string secret = env_value(env, "AWS_SECRET_ACCESS_KEY");
    if (!id.empty() && !secret.empty()) {
        r.sigv4 = AwsCredentialSet{id, secret, env_value(env, "AWS_SESSION_TOKEN"), "environment"};
        profile_not_in_effect(p, "environment", r);
        return;
    }
    if (!id.empty() || !secret.empty()) {
        // botocore raises PartialCredentialsError here rather than falling through to the file.
        r.problems.push_back(
            {Severity::error, "",
             std::string(id.empty() ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") +
                 " is set in the environment but " +
                 (id.empty() ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") + " is not"});
        return;
    }
    from_file(p, env, r);
}

}  // namespace

std::string aws_credentials_file(EnvLookup env) {
    if (std::string f = env_value(env, "AWS_SHARED_CREDENTIALS_FILE"); !f.empty()) {
        if (f.rfind("~/", 0) == 0) {
            const std::string home = env_value(env, "HOME");
            if (!home.empty()) f = home + f.substr(1);
        }
        return f;
    }
    const std::string home = env_value(env, "HOME");
    return home.empty() ? std::string() : home + "/.aws/credentials";
}

std::string resolve_aws_region(const ProviderConfig& p, EnvLookup env, std::string* source) {
    std::string region = p.aws_region;
    std::string from = "config";
    for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
        if (!region.empty()) break;
        region = env_value(env, name);
        from = name;
    }
    if (source != nullptr) *source = region.empty() ? std::string() : from;
    return region;
}

AwsResolution resolve_aws(const ProviderConfig& p, EnvLookup env) {
    AwsResolution r;
    config_keys(p, r);
    bearer(p, env, r);
    if (!r.uses_bearer()) sigv4(p, env, r);
    r.region = resolve_aws_region(p, env, &r.region_source);
    if (r.region.empty()) {
        r.problems.push_back({Severity::error, "aws_region",
                              "no AWS region: set aws_region (or AWS_REGION or AWS_DEFAULT_REGION "
                              "in the environment)"});
    }
    return r;
}

}  // namespace ccr::shared::cloud
