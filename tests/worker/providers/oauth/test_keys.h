#pragma once
// RSA keys made in the test, and JWT checks with OpenSSL directly (not with the code under test).

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>
#include <string_view>

#include "worker/providers/oauth/jwt.h"

namespace ccr::worker::oauth::testing {

inline PrivateKey generate_rsa_key() { return PrivateKey(EVP_RSA_gen(2048)); }

inline std::string private_key_pem(EVP_PKEY* key) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

/// Whether `jwt`'s signature verifies with `key`'s public half.
inline bool verifies(std::string_view jwt, EVP_PKEY* key) {
    const std::size_t last = jwt.rfind('.');
    if (last == std::string_view::npos) return false;
    const std::string_view input = jwt.substr(0, last);
    const std::optional<std::string> signature = base64url_decode(jwt.substr(last + 1));
    if (!signature) return false;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
           EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()),
                            signature->size(), reinterpret_cast<const unsigned char*>(input.data()),
                            input.size()) == 1;
}

/// The decoded JSON of a JWT's part 0 (header) or 1 (claims).
inline std::string jwt_part(std::string_view jwt, int part) {
    const std::size_t first = jwt.find('.');
    const std::size_t second = jwt.find('.', first + 1);
    const std::string_view text =
        part == 0 ? jwt.substr(0, first) : jwt.substr(first + 1, second - first - 1);
    return base64url_decode(text).value_or("<bad base64url>");
}

}  // namespace ccr::worker::oauth::testing
