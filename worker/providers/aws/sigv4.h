#pragma once
// AWS Signature Version 4 for the Bedrock provider (step 5 of the request path: the provider
// signs the final upstream request just before it is written). Pure functions over OpenSSL's
// EVP SHA-256 and HMAC; no clock or I/O of its own (the caller passes `now`).
//
// Only what a relay needs is canonicalised: the path and query as sent, and a fixed set of
// signed headers (content-type, host, x-amz-content-sha256, x-amz-date, x-amz-security-token).
// No path normalisation (Bedrock paths have no dot segments) and no S3 single encoding.

#include <boost/asio/buffer.hpp>
#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ccr::worker::aws {

struct AwsCredentials {
    std::string access_key_id, secret_access_key, session_token;
};

/// Hex SHA-256 over a gather list (the request body is sent as BodySplice buffers, never joined).
std::string sha256_hex(std::span<const boost::asio::const_buffer> body);
/// Hex SHA-256 of one string (canonical requests, tests).
std::string sha256_hex(std::string_view data);

struct SigV4Input {
    std::string_view method;        // "POST"
    std::string_view host;          // the Host header value as sent ("host" or "host:port")
    std::string_view path;          // the path as sent on the wire (already percent-encoded once)
    std::string_view query;         // raw query string without '?', may be empty
    std::string_view content_type;  // signed when non-empty
    std::string_view payload_sha256_hex;
    std::string_view region, service;  // "us-east-1", "bedrock"
    std::chrono::system_clock::time_point now;
    /// Add and sign `x-amz-content-sha256` (the AWS SDKs do; AWS's published test vectors
    /// predate it and sign without it, so the tests turn it off).
    bool sign_content_sha256 = true;
};

/// The headers to add to the request, in order: X-Amz-Date, [X-Amz-Security-Token],
/// X-Amz-Content-Sha256 (when sign_content_sha256), Authorization.
std::vector<std::pair<std::string, std::string>> sign_v4(const SigV4Input&, const AwsCredentials&);

/// Percent-encoding of a Bedrock model id for the URL path as the AWS/Anthropic SDKs do (keep
/// A-Za-z0-9-_.~ and ':' and '@'; encode '/' as %2F and everything else).
std::string encode_model_id(std::string_view model_id);

// The intermediate pieces, exposed so tests can check each step against published vectors.

/// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
std::string amz_date(std::chrono::system_clock::time_point now);
/// The wire path URI-encoded once more (every byte except A-Za-z0-9-_.~ and '/'): the rule for
/// every service but S3, so ':' becomes %3A and %2F becomes %252F. An empty path is "/".
std::string canonical_uri(std::string_view wire_path);
/// `k=v` pairs sorted by key then value, each side percent-decoded and re-encoded strictly
/// (everything but A-Za-z0-9-_.~), joined by '&'. A pair without '=' has an empty value.
std::string canonical_query(std::string_view raw_query);
/// `content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token`, less what is absent.
std::string signed_headers(const SigV4Input&, const AwsCredentials&);
/// The canonical request for `amz_date` (see amz_date()).
std::string canonical_request(const SigV4Input&, const AwsCredentials&, std::string_view amz_date);
/// `AWS4-HMAC-SHA256\n<amz_date>\n<date>/<region>/<service>/aws4_request\n<hex sha256(creq)>`.
std::string string_to_sign(std::string_view amz_date,
                           std::string_view region,
                           std::string_view service,
                           std::string_view canonical_request);
/// Hex HMAC chain over the string to sign (kDate, kRegion, kService, kSigning).
std::string signature(std::string_view secret_access_key,
                      std::string_view amz_date,
                      std::string_view region,
                      std::string_view service,
                      std::string_view string_to_sign);

}  // namespace ccr::worker::aws
