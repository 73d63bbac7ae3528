#include "worker/providers/oauth/jwt.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>

namespace ccr::worker::oauth {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

// The oldest queued OpenSSL reason, and the queue emptied so it cannot leak into an unrelated
// later check (the TLS code reads the same thread-local queue). OpenSSL's reasons name the
// failing step ("bad decrypt", "no start line"), never key material.
std::string openssl_reason() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "unknown OpenSSL error";
    std::array<char, 256> buf{};
    ERR_error_string_n(code, buf.data(), buf.size());
    return buf.data();
}

// Without a callback OpenSSL would prompt on the terminal for an encrypted key's passphrase.
int no_passphrase(char*, int, int, void*) { return -1; }

struct MdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
struct BioFree {
    void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};

}  // namespace

void PrivateKeyFree::operator()(evp_pkey_st* key) const noexcept { EVP_PKEY_free(key); }

std::string base64url_encode(std::string_view data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        const unsigned v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    if (const std::size_t rest = data.size() - i; rest > 0) {
        const unsigned v = (p[i] << 16) | (rest == 2 ? p[i + 1] << 8 : 0);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        if (rest == 2) out += kAlphabet[(v >> 6) & 63];
    }
    return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    while (!text.empty() && text.back() == '=') text.remove_suffix(1);
    if (text.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(text.size() * 3 / 4);
    unsigned acc = 0;
    int bits = 0;
    for (char c : text) {
        const int v = decode_char(c);
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

PrivateKey load_private_key_pem(std::string_view pem, std::string& error) {
    ERR_clear_error();
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        error = "cannot read the private key: " + openssl_reason();
        return nullptr;
    }
    PrivateKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr));
    if (!key) {
        error = "private key is not an unencrypted PEM private key (" + openssl_reason() + ")";
        return nullptr;
    }
    if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
        error = "private key is not an RSA key (RS256 needs one)";
        return nullptr;
    }
    return key;
}

std::string sign_rs256_jwt(std::string_view header_json,
                           std::string_view claims_json,
                           evp_pkey_st* key,
                           std::string& error) {
    std::string jwt = base64url_encode(header_json);
    jwt += '.';
    jwt += base64url_encode(claims_json);
    ERR_clear_error();
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    std::size_t size = 0;
    const auto* input = reinterpret_cast<const unsigned char*>(jwt.data());
    // An RSA key's default padding is PKCS #1 v1.5, which is what RS256 means.
    if (!ctx || key == nullptr ||
        EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &size, input, jwt.size()) != 1) {
        error =
            "cannot sign the JWT: " + (key == nullptr ? std::string("no key") : openssl_reason());
        return {};
    }
    std::string signature(size, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, input,
                       jwt.size()) != 1) {
        error = "cannot sign the JWT: " + openssl_reason();
        return {};
    }
    signature.resize(size);
    jwt += '.';
    jwt += base64url_encode(signature);
    return jwt;
}

}  // namespace ccr::worker::oauth
