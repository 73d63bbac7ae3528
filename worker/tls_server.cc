#include "worker/tls_server.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/ssl.h>

#include <cstring>
#include <string_view>

namespace ccr::worker {

namespace ssl = boost::asio::ssl;

namespace {

std::string openssl_reason() {
    const unsigned long e = ::ERR_get_error();
    ::ERR_clear_error();
    if (e == 0) return "unknown OpenSSL error";
    char buf[256];
    ::ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

// Picks h2 when HTTP/2 is on and the client offers it, else HTTP/1.1 when the client lists it,
// else no protocol: the client then falls back to HTTP/1.1 as well.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void* http2) {
    auto find = [&](std::string_view proto) {
        for (unsigned int i = 0; i < inlen;) {
            const unsigned int len = in[i];
            if (i + 1 + len > inlen) break;
            if (len == proto.size() && std::memcmp(in + i + 1, proto.data(), len) == 0) {
                *out = in + i + 1;
                *outlen = static_cast<unsigned char>(len);
                return true;
            }
            i += 1 + len;
        }
        return false;
    };
    if (http2 && find("h2")) return SSL_TLSEXT_ERR_OK;
    return find("http/1.1") ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::unique_ptr<ssl::context> make_server_tls(const shared::TlsListenConfig& tls, bool http2, std::string& err) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::single_dh_use);
    SSL_CTX* native = ctx->native_handle();
    ::SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    // Any non-null argument means h2 is offered (the callback only tests it).
    ::SSL_CTX_set_alpn_select_cb(native, select_alpn, http2 ? native : nullptr);
    ::ERR_clear_error();
    if (::SSL_CTX_use_certificate_chain_file(native, tls.cert_file.c_str()) != 1) {
        err = "server.tls.cert_file \"" + tls.cert_file + "\": " + openssl_reason();
        return nullptr;
    }
    if (::SSL_CTX_use_PrivateKey_file(native, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        const bool mismatch = ERR_GET_REASON(::ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        err = "server.tls.key_file \"" + tls.key_file + "\"" +
              (mismatch ? " does not match server.tls.cert_file" : "") + ": " + openssl_reason();
        return nullptr;
    }
    if (::SSL_CTX_check_private_key(native) != 1) {
        err = "server.tls.key_file \"" + tls.key_file + "\" does not match server.tls.cert_file: " + openssl_reason();
        return nullptr;
    }
    return ctx;
}

}  // namespace ccr::worker
