#pragma once
// Whether a finished TLS handshake chose HTTP/2 by ALPN: the same question for a client's
// connection (server.tls with server.enable_http2) and for a provider's (providers[].http2).

#include <openssl/ssl.h>

namespace ccr::worker {

inline bool alpn_chose_h2(const SSL* ssl) {
    const unsigned char* proto = nullptr;
    unsigned int len = 0;
    ::SSL_get0_alpn_selected(ssl, &proto, &len);
    return len == 2 && proto[0] == 'h' && proto[1] == '2';
}

}  // namespace ccr::worker
