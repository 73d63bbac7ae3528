#pragma once
// Upstream authentication, Vertex: the JWT a Google service account signs for the OAuth2
// JWT-bearer grant (RFC 7523). OpenSSL stays in jwt.cc; callers hold the key as an opaque handle.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace ccr::worker::oauth {

/// RFC 4648 §5 without padding.
std::string base64url_encode(std::string_view data);
/// Accepts input with or without padding; nullopt on a character outside the alphabet.
std::optional<std::string> base64url_decode(std::string_view text);

struct PrivateKeyFree {
    void operator()(evp_pkey_st* key) const noexcept;
};
/// An OpenSSL private key (EVP_PKEY), freed with EVP_PKEY_free.
using PrivateKey = std::unique_ptr<evp_pkey_st, PrivateKeyFree>;

/// Loads an unencrypted RSA private key from PEM text: PKCS#8 ("BEGIN PRIVATE KEY", as in Google
/// key files) or PKCS#1 ("BEGIN RSA PRIVATE KEY"). Null when it is not one, with `error` saying
/// why (never any of the key's text).
PrivateKey load_private_key_pem(std::string_view pem, std::string& error);

/// `b64url(header) "." b64url(claims) "." b64url(RSASSA-PKCS1-v1_5-SHA256(signing input))`.
/// The JSON is used as given. Empty with `error` set when OpenSSL fails.
std::string sign_rs256_jwt(std::string_view header_json,
                           std::string_view claims_json,
                           evp_pkey_st* key,
                           std::string& error);

}  // namespace ccr::worker::oauth
