#include "worker/providers/aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <ctime>
#include <memory>

#include "shared/util/hex.h"

namespace ccr::worker::aws {

namespace {

using Digest = std::array<unsigned char, 32>;

constexpr char kHex[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";
constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string to_hex(const unsigned char* p, std::size_t n) {
    std::string out(n * 2, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = kHex[p[i] >> 4];
        out[2 * i + 1] = kHex[p[i] & 0xf];
    }
    return out;
}

struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// OpenSSL fails here only when out of memory or misconfigured (no SHA-256 provider); neither is
// something a request can recover from, and a wrong signature would only be rejected upstream.
Digest sha256(std::span<const boost::asio::const_buffer> parts) {
    Digest out{};
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    unsigned int len = 0;
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return out;
    for (const auto& b : parts) EVP_DigestUpdate(ctx.get(), b.data(), b.size());
    EVP_DigestFinal_ex(ctx.get(), out.data(), &len);
    return out;
}

Digest hmac(std::span<const unsigned char> key, std::string_view data) {
    Digest out{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
    return out;
}

bool unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

void append_encoded(std::string& out, std::string_view s, std::string_view also_keep) {
    for (unsigned char c : s) {
        if (unreserved(c) || also_keep.find(static_cast<char>(c)) != std::string_view::npos) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHexUpper[c >> 4];
            out += kHexUpper[c & 0xf];
        }
    }
}

using shared::hex_value;

// Query components arrive encoded as the client chose; decoding first makes `%7E` and `~`, or
// `%3a` and `%3A`, sign alike. A '%' not followed by two hex digits is kept literally.
std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        int hi = 0, lo = 0;
        if (s[i] == '%' && i + 2 < s.size() && (hi = hex_value(s[i + 1])) >= 0 &&
            (lo = hex_value(s[i + 2])) >= 0) {
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// AWS's header value rule: trim both ends and collapse runs of spaces into one.
void append_trimmed(std::string& out, std::string_view v) {
    auto is_space = [](char c) { return c == ' ' || c == '\t'; };
    while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
    while (!v.empty() && is_space(v.back())) v.remove_suffix(1);
    bool in_space = false;
    for (char c : v) {
        if (is_space(c)) {
            in_space = true;
            continue;
        }
        if (in_space) out += ' ';
        in_space = false;
        out += c;
    }
}

std::string_view date_part(std::string_view amz) { return amz.substr(0, 8); }

std::string scope(std::string_view amz, std::string_view region, std::string_view service) {
    std::string s;
    s.append(date_part(amz)).append("/").append(region).append("/").append(service);
    s.append("/aws4_request");
    return s;
}

}  // namespace

std::string sha256_hex(std::span<const boost::asio::const_buffer> body) {
    Digest d = sha256(body);
    return to_hex(d.data(), d.size());
}

std::string sha256_hex(std::string_view data) {
    boost::asio::const_buffer b(data.data(), data.size());
    return sha256_hex(std::span<const boost::asio::const_buffer>(&b, 1));
}

std::string encode_model_id(std::string_view model_id) {
    std::string out;
    out.reserve(model_id.size() + 8);
    append_encoded(out, model_id, ":@");
    return out;
}

std::string amz_date(std::chrono::system_clock::time_point now) {
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[17];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

std::string canonical_uri(std::string_view wire_path) {
    if (wire_path.empty()) return "/";
    std::string out;
    out.reserve(wire_path.size() + 16);
    append_encoded(out, wire_path, "/");
    return out;
}

std::string canonical_query(std::string_view raw_query) {
    std::vector<std::pair<std::string, std::string>> pairs;
    while (!raw_query.empty()) {
        std::size_t amp = raw_query.find('&');
        std::string_view item = raw_query.substr(0, amp);
        raw_query = amp == std::string_view::npos ? std::string_view{} : raw_query.substr(amp + 1);
        if (item.empty()) continue;
        std::size_t eq = item.find('=');
        std::string_view key = item.substr(0, eq);
        std::string_view value =
            eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
        std::pair<std::string, std::string> p;
        append_encoded(p.first, percent_decode(key), "");
        append_encoded(p.second, percent_decode(value), "");
        pairs.push_back(std::move(p));
    }
    std::sort(pairs.begin(), pairs.end());
    std::string out;
    for (const auto& [k, v] : pairs) {
        if (!out.empty()) out += '&';
        out.append(k).append("=").append(v);
    }
    return out;
}

std::string signed_headers(const SigV4Input& in, const AwsCredentials& creds) {
    std::string out;
    if (!in.content_type.empty()) out += "content-type;";
    out += "host;";
    if (in.sign_content_sha256) out += "x-amz-content-sha256;";
    out += "x-amz-date";
    if (!creds.session_token.empty()) out += ";x-amz-security-token";
    return out;
}

std::string canonical_request(const SigV4Input& in,
                              const AwsCredentials& creds,
                              std::string_view amz) {
    std::string out;
    out.reserve(512);
    out.append(in.method).append("\n");
    out.append(canonical_uri(in.path)).append("\n");
    out.append(canonical_query(in.query)).append("\n");
    // Already in sorted order: content-type < host < x-amz-content-sha256 < x-amz-date <
    // x-amz-security-token.
    if (!in.content_type.empty()) {
        out += "content-type:";
        append_trimmed(out, in.content_type);
        out += '\n';
    }
    out += "host:";
    append_trimmed(out, in.host);
    out += '\n';
    if (in.sign_content_sha256)
        out.append("x-amz-content-sha256:").append(in.payload_sha256_hex) += '\n';
    out.append("x-amz-date:").append(amz) += '\n';
    if (!creds.session_token.empty()) {
        out += "x-amz-security-token:";
        append_trimmed(out, creds.session_token);
        out += '\n';
    }
    out += '\n';
    out.append(signed_headers(in, creds)).append("\n");
    out.append(in.payload_sha256_hex);
    return out;
}

std::string string_to_sign(std::string_view amz,
                           std::string_view region,
                           std::string_view service,
                           std::string_view creq) {
    std::string out;
    out.append(kAlgorithm).append("\n").append(amz).append("\n");
    out.append(scope(amz, region, service)).append("\n");
    out.append(sha256_hex(creq));
    return out;
}

std::string signature(std::string_view secret,
                      std::string_view amz,
                      std::string_view region,
                      std::string_view service,
                      std::string_view sts) {
    std::string k0 = "AWS4";
    k0.append(secret);
    auto bytes = [](const std::string& s) {
        return std::span<const unsigned char>(reinterpret_cast<const unsigned char*>(s.data()),
                                              s.size());
    };
    Digest k_date = hmac(bytes(k0), date_part(amz));
    Digest k_region = hmac(k_date, region);
    Digest k_service = hmac(k_region, service);
    Digest k_signing = hmac(k_service, "aws4_request");
    Digest sig = hmac(k_signing, sts);
    return to_hex(sig.data(), sig.size());
}

std::vector<std::pair<std::string, std::string>> sign_v4(const SigV4Input& in,
                                                         const AwsCredentials& creds) {
    std::string amz = amz_date(in.now);
    std::string creq = canonical_request(in, creds, amz);
    std::string sts = string_to_sign(amz, in.region, in.service, creq);
    std::string authz;
    authz.append(kAlgorithm).append(" Credential=").append(creds.access_key_id).append("/");
    authz.append(scope(amz, in.region, in.service));
    authz.append(", SignedHeaders=").append(signed_headers(in, creds));
    authz.append(", Signature=");
    authz.append(signature(creds.secret_access_key, amz, in.region, in.service, sts));

    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(4);
    out.emplace_back("X-Amz-Date", std::move(amz));
    if (!creds.session_token.empty()) out.emplace_back("X-Amz-Security-Token", creds.session_token);
    if (in.sign_content_sha256)
        out.emplace_back("X-Amz-Content-Sha256", std::string(in.payload_sha256_hex));
    out.emplace_back("Authorization", std::move(authz));
    return out;
}

}  // namespace ccr::worker::aws
