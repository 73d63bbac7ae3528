#include "worker/providers/oauth/google.h"

#include <simdjson.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "shared/util/json.h"

namespace ccr::worker::oauth {

namespace od = simdjson::ondemand;

namespace {

using Kind = GoogleCredentials::Kind;

std::string env_or_empty(shared::EnvLookup env, const char* name) {
    std::optional<std::string> v = env(name);
    return v ? *v : std::string();
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read Google credentials " + path + ": " +
                                 std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The file's string fields by name (other value types skipped).
std::vector<std::pair<std::string, std::string>> string_fields(std::string_view json,
                                                               const std::string& source) {
    simdjson::padded_string padded(json);
    od::parser parser;
    od::document doc;
    od::object obj;
    if (parser.iterate(padded).get(doc) || doc.get_object().get(obj))
        throw std::runtime_error(source + ": Google credentials must be a JSON object");
    std::vector<std::pair<std::string, std::string>> out;
    for (auto field : obj) {
        std::string_view key, value;
        od::value v;
        if (field.unescaped_key().get(key) || field.value().get(v))
            throw std::runtime_error(source + ": malformed JSON");
        od::json_type type;
        if (v.type().get(type)) throw std::runtime_error(source + ": malformed JSON");
        if (type == od::json_type::string) {
            if (v.get_string().get(value)) throw std::runtime_error(source + ": malformed JSON");
            out.emplace_back(std::string(key), std::string(value));
        }
    }
    // The walk stops at the object's end; anything after it is an error, as in body.cc.
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS)
        throw std::runtime_error(source + ": malformed JSON (text after the object)");
    return out;
}

struct Mapping {
    unsigned status;
    std::string_view type;
};

std::optional<Mapping> by_google_status(std::string_view s) {
    if (s == "RESOURCE_EXHAUSTED") return Mapping{429, "rate_limit_error"};
    if (s == "UNAUTHENTICATED") return Mapping{401, "authentication_error"};
    if (s == "PERMISSION_DENIED") return Mapping{403, "permission_error"};
    if (s == "NOT_FOUND") return Mapping{404, "not_found_error"};
    if (s == "INVALID_ARGUMENT" || s == "FAILED_PRECONDITION")
        return Mapping{400, "invalid_request_error"};
    if (s == "UNAVAILABLE") return Mapping{529, "overloaded_error"};
    if (s == "DEADLINE_EXCEEDED") return Mapping{504, "api_error"};
    return std::nullopt;
}

Mapping by_code(std::int64_t code) {
    switch (code) {
        case 400:
            return {400, "invalid_request_error"};
        case 401:
            return {401, "authentication_error"};
        case 402:
            return {402, "billing_error"};
        case 403:
            return {403, "permission_error"};
        case 404:
            return {404, "not_found_error"};
        case 413:
            return {413, "request_too_large"};
        case 429:
            return {429, "rate_limit_error"};
        case 503:
        case 529:
            return {529, "overloaded_error"};
        default:
            break;
    }
    if (code > 400 && code < 500) return {static_cast<unsigned>(code), "invalid_request_error"};
    if (code > 500 && code < 600) return {static_cast<unsigned>(code), "api_error"};
    return {500, "api_error"};
}

std::optional<unsigned> status_of_anthropic_type(std::string_view type) {
    static constexpr Mapping kTypes[] = {
        {400, "invalid_request_error"}, {401, "authentication_error"},
        {402, "billing_error"},         {403, "permission_error"},
        {404, "not_found_error"},       {413, "request_too_large"},
        {429, "rate_limit_error"},      {500, "api_error"},
        {504, "timeout_error"},         {529, "overloaded_error"},
    };
    for (const auto& m : kTypes)
        if (m.type == type) return m.status;
    return std::nullopt;
}

// What a JSON error body says, Google's or Anthropic's.
struct Parsed {
    bool anthropic = false;  // top-level "type":"error"
    bool google = false;     // an "error" object
    std::optional<std::int64_t> code;
    std::string status, message, type;  // type: the "error" object's Anthropic type, if any
};

// Reads one object's "type" and its "error" object.
bool read_error_object(od::object obj, Parsed& p) {
    for (auto field : obj) {
        std::string_view key;
        od::value value;
        if (field.unescaped_key().get(key) || field.value().get(value)) return false;
        std::string_view s;
        od::object e;
        if (key == "type") {
            if (value.get_string().get(s) == simdjson::SUCCESS && s == "error") p.anthropic = true;
        } else if (key == "error" && value.get_object().get(e) == simdjson::SUCCESS) {
            p.google = true;
            for (auto ef : e) {
                std::string_view ek;
                od::value ev;
                if (ef.unescaped_key().get(ek) || ef.value().get(ev)) return false;
                std::int64_t n = 0;
                if (ek == "code" && ev.get_int64().get(n) == simdjson::SUCCESS) {
                    p.code = n;
                } else if (ek == "message" && ev.get_string().get(s) == simdjson::SUCCESS) {
                    p.message = std::string(s);
                } else if (ek == "status" && ev.get_string().get(s) == simdjson::SUCCESS) {
                    p.status = std::string(s);
                } else if (ek == "type" && ev.get_string().get(s) == simdjson::SUCCESS) {
                    p.type = std::string(s);
                }
            }
        }
    }
    return true;
}

// The body's error, from an object or the first element of an array.
std::optional<Parsed> parse_error(std::string_view body) {
    simdjson::padded_string padded(body);
    od::parser parser;
    od::document doc;
    if (parser.iterate(padded).get(doc)) return std::nullopt;
    od::json_type type;
    if (doc.type().get(type)) return std::nullopt;
    Parsed p;
    od::object obj;
    if (type == od::json_type::array) {
        od::array arr;
        if (doc.get_array().get(arr)) return std::nullopt;
        for (auto element : arr) {
            if (element.get_object().get(obj) || !read_error_object(obj, p)) return std::nullopt;
            return p;  // the first element: Vertex wraps one error in an array
        }
        return std::nullopt;
    }
    if (doc.get_object().get(obj) || !read_error_object(obj, p)) return std::nullopt;
    return p;
}

// An Anthropic error carried as JSON text inside Google's message ("…: {"type":"error",…}").
std::optional<AnthropicError> inner_anthropic_error(std::string_view message) {
    const std::size_t open = message.find('{');
    const std::size_t close = message.rfind('}');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open)
        return std::nullopt;
    std::optional<Parsed> inner = parse_error(message.substr(open, close - open + 1));
    if (!inner || !inner->google || inner->type.empty()) return std::nullopt;
    const std::optional<unsigned> status = status_of_anthropic_type(inner->type);
    if (!status) return std::nullopt;
    return AnthropicError{*status, inner->type, inner->message};
}

std::string require_missing(const std::vector<std::string_view>& missing) {
    std::string out;
    for (std::string_view m : missing) {
        if (!out.empty()) out += ", ";
        out += m;
    }
    return out;
}

}  // namespace

GoogleCredentials parse_google_credentials(std::string_view json, const std::string& source) {
    GoogleCredentials c;
    c.source = source;
    std::string type, private_key;
    for (auto& [key, value] : string_fields(json, source)) {
        if (key == "type")
            type = std::move(value);
        else if (key == "project_id")
            c.project_id = std::move(value);
        else if (key == "quota_project_id")
            c.quota_project_id = std::move(value);
        else if (key == "token_uri")
            c.token_uri = std::move(value);
        else if (key == "client_email")
            c.client_email = std::move(value);
        else if (key == "private_key_id")
            c.private_key_id = std::move(value);
        else if (key == "private_key")
            private_key = std::move(value);
        else if (key == "client_id")
            c.client_id = std::move(value);
        else if (key == "client_secret")
            c.client_secret = std::move(value);
        else if (key == "refresh_token")
            c.refresh_token = std::move(value);
    }
    if (c.token_uri.empty()) c.token_uri = kGoogleTokenUrl;
    std::vector<std::string_view> missing;
    if (type == "service_account") {
        c.kind = Kind::service_account;
        if (c.client_email.empty()) missing.push_back("client_email");
        if (private_key.empty()) missing.push_back("private_key");
    } else if (type == "authorized_user") {
        c.kind = Kind::authorized_user;
        if (c.client_id.empty()) missing.push_back("client_id");
        if (c.client_secret.empty()) missing.push_back("client_secret");
        if (c.refresh_token.empty()) missing.push_back("refresh_token");
    } else {
        throw std::runtime_error(
            source + ": Google credentials " +
            (type.empty() ? "without a \"type\"" : "of type \"" + type + "\"") +
            " are not supported (service_account or authorized_user)");
    }
    if (!missing.empty())
        throw std::runtime_error(source + ": " + type + " credentials lack " +
                                 require_missing(missing));
    if (c.token_uri.substr(0, 8) != "https://" && c.token_uri.substr(0, 7) != "http://")
        throw std::runtime_error(source + ": token_uri must be an http(s) URL");
    if (c.kind == Kind::service_account) {
        std::string error;
        c.private_key = load_private_key_pem(private_key, error);
        if (!c.private_key) throw std::runtime_error(source + ": private_key: " + error);
    }
    return c;
}

GoogleCredentials load_google_credentials(const shared::ProviderConfig& cfg,
                                          shared::EnvLookup env) {
    std::string path = cfg.gcp_credentials_file;
    if (path.empty()) path = env_or_empty(env, "GOOGLE_APPLICATION_CREDENTIALS");
    if (path.empty()) {
        std::string dir = env_or_empty(env, "CLOUDSDK_CONFIG");
        if (dir.empty()) {
            const std::string home = env_or_empty(env, "HOME");
            if (!home.empty()) dir = home + "/.config/gcloud";
        }
        std::error_code ec;  // an unreadable directory counts as no file: the metadata server next
        if (!dir.empty() &&
            std::filesystem::is_regular_file(dir + "/application_default_credentials.json", ec))
            path = dir + "/application_default_credentials.json";
    }
    if (!path.empty()) return parse_google_credentials(read_file(path), path);
    GoogleCredentials c;
    c.kind = Kind::metadata_server;
    c.metadata_host = env_or_empty(env, "GCE_METADATA_HOST");
    if (c.metadata_host.empty()) c.metadata_host = env_or_empty(env, "GCE_METADATA_ROOT");
    if (c.metadata_host.empty()) c.metadata_host = kMetadataHost;
    while (!c.metadata_host.empty() && c.metadata_host.back() == '/') c.metadata_host.pop_back();
    c.source = "the metadata server at " + c.metadata_host +
               " (no gcp_credentials_file, GOOGLE_APPLICATION_CREDENTIALS or gcloud ADC file)";
    return c;
}

std::optional<TokenRequest> google_token_request(const GoogleCredentials& c,
                                                 std::int64_t unix_seconds,
                                                 std::string& error) {
    TokenRequest req;
    switch (c.kind) {
        case Kind::service_account: {
            std::string header = R"({"alg":"RS256","typ":"JWT")";
            if (!c.private_key_id.empty()) {
                header += R"(,"kid":)";
                shared::append_json_string(header, c.private_key_id);
            }
            header += '}';
            std::string claims = R"({"iss":)";
            shared::append_json_string(claims, c.client_email);
            claims += R"(,"scope":)";
            shared::append_json_string(claims, kCloudPlatformScope);
            claims += R"(,"aud":)";
            shared::append_json_string(claims, c.token_uri);
            claims += R"(,"iat":)" + std::to_string(unix_seconds);
            claims += R"(,"exp":)" + std::to_string(unix_seconds + kJwtLifetimeS) + "}";
            std::string jwt = sign_rs256_jwt(header, claims, c.private_key.get(), error);
            if (jwt.empty()) return std::nullopt;
            req.url = c.token_uri;
            req.form = form_encode({{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"},
                                    {"assertion", jwt}});
            return req;
        }
        case Kind::authorized_user:
            req.url = c.token_uri;
            req.form = form_encode({{"grant_type", "refresh_token"},
                                    {"client_id", c.client_id},
                                    {"client_secret", c.client_secret},
                                    {"refresh_token", c.refresh_token}});
            return req;
        case Kind::metadata_server:
            req.method = "GET";
            req.url = (c.metadata_host.find("://") == std::string::npos ? "http://" : "") +
                      c.metadata_host +
                      "/computeMetadata/v1/instance/service-accounts/default/token";
            req.headers.emplace_back("Metadata-Flavor", "Google");
            return req;
    }
    error = "unknown credentials kind";
    return std::nullopt;
}

std::unique_ptr<TokenSource> make_google_token_source(GoogleCredentials creds,
                                                      std::string what,
                                                      Transport transport,
                                                      const shared::Clock& clock) {
    auto shared_creds = std::make_shared<const GoogleCredentials>(std::move(creds));
    RequestBuilder build = [shared_creds](std::int64_t now, std::string& error) {
        return google_token_request(*shared_creds, now, error);
    };
    what += " (Google credentials from " + shared_creds->source + ")";
    return std::make_unique<TokenSource>(std::move(what), std::move(build), std::move(transport),
                                         clock);
}

std::optional<AnthropicError> convert_google_error(std::string_view body) {
    std::optional<Parsed> p = parse_error(body);
    if (!p || p->anthropic || !p->google) return std::nullopt;
    if (std::optional<AnthropicError> inner = inner_anthropic_error(p->message)) return inner;
    Mapping m = by_code(p->code.value_or(500));
    if (std::optional<Mapping> s = by_google_status(p->status)) m = *s;
    std::string message = p->message.empty()
                              ? (p->status.empty() ? std::string("upstream error") : p->status)
                              : p->message;
    return AnthropicError{m.status, std::string(m.type), std::move(message)};
}

std::string anthropic_error_body(const AnthropicError& e, std::string_view request_id) {
    std::string out = R"({"type":"error","error":{"type":)";
    shared::append_json_string(out, e.type);
    out += R"(,"message":)";
    shared::append_json_string(out, e.message);
    out += '}';
    if (!request_id.empty()) {
        out += R"(,"request_id":)";
        shared::append_json_string(out, request_id);
    }
    out += '}';
    return out;
}

}  // namespace ccr::worker::oauth
