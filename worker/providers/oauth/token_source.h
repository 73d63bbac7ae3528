#pragma once
// Upstream authentication for cloud providers (Vertex, Foundry with Entra ID): an OAuth2 access
// token per provider and worker, cached, refreshed before it runs out by one request at a time.
// The request (google.h, entra.h) and the HTTP transport (http_transport.h, or a test's fake) are
// injected. Request path: token() never throws; a failure is a TokenResult with an error.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/clock.h"

namespace ccr::worker::oauth {

/// One HTTP request to a token endpoint.
struct TokenRequest {
    std::string method = "POST";
    std::string url;  // http:// or https://, with path (and query)
    std::vector<std::pair<std::string, std::string>> headers;
    /// application/x-www-form-urlencoded when not empty (the transport sets the Content-Type).
    std::string form;
};

/// What came back. `error` set: no answer at all (connect, TLS, timeout), status 0.
struct HttpReply {
    unsigned status = 0;
    std::string body;
    std::string error;
};

/// Sends one TokenRequest. Must not throw (the TokenSource turns an exception into an error all
/// the same, but that is a bug in the transport).
using Transport = std::function<boost::asio::awaitable<HttpReply>(const TokenRequest&)>;

/// Builds the request at refresh time (a JWT assertion carries the Unix time it was signed at).
/// nullopt with `error` set when it cannot be built.
using RequestBuilder =
    std::function<std::optional<TokenRequest>(std::int64_t unix_seconds, std::string& error)>;

/// token()'s answer: an access token (send "Authorization: Bearer <access_token>"), or why not.
/// `error` never contains a secret or a token.
struct TokenResult {
    std::string access_token;
    std::string error;
    bool ok() const { return error.empty(); }
};

/// A token endpoint's JSON reply: access_token, expires_in (number or string), token_type.
struct TokenReply {
    std::string access_token;
    std::int64_t expires_in_s = 0;
    std::string error;  // non-2xx (with the reply's error/error_description), or malformed
};
TokenReply parse_token_reply(const HttpReply& reply);

/// Appends `s` form-urlencoded (application/x-www-form-urlencoded: unreserved characters as
/// they are, space as '+', everything else %XX).
void append_form_encoded(std::string& out, std::string_view s);
/// `name=value` pairs, encoded and joined with '&'.
std::string form_encode(
    std::initializer_list<std::pair<std::string_view, std::string_view>> fields);

/// One provider's token in one worker. Single-threaded like the rest of the worker: no locks.
/// Must outlive every token() call (the provider that owns it outlives its requests).
class TokenSource {
  public:
    /// Refreshed this long before the token expires, or a tenth of its lifetime when shorter.
    static constexpr std::int64_t kRefreshMarginMs = 5 * 60 * 1000;
    /// While one caller refreshes, the others keep using the old token if it is valid this much
    /// longer; with less left they wait for the refresh.
    static constexpr std::int64_t kMinValidityMs = 30 * 1000;
    /// Lifetime assumed when a reply has no expires_in (conservative: refreshed every 4.5 min).
    static constexpr std::int64_t kDefaultLifetimeS = 300;

    /// `what` names the token in logs and errors ("vertex provider 'gcp'"), `clock` times expiry.
    TokenSource(std::string what,
                RequestBuilder build,
                Transport transport,
                const shared::Clock& clock);
    ~TokenSource();
    TokenSource(const TokenSource&) = delete;
    TokenSource& operator=(const TokenSource&) = delete;

    /// A valid access token. The cached one while it has more than the refresh margin left: then
    /// it returns at once, without suspending. Else one refresh at a time: the caller that finds
    /// none in flight performs it; callers arriving meanwhile get the old token when it is still
    /// valid for kMinValidityMs, else wait for that refresh and share its result. A failed refresh
    /// fails the callers waiting on it (the caller that ran it gets the old token instead when that
    /// is still valid for kMinValidityMs); the next call tries again.
    boost::asio::awaitable<TokenResult> token();

    /// Drops the cached token (the upstream refused it with a 401): the next call refreshes.
    void invalidate();

    const std::string& what() const { return what_; }

  private:
    struct Flight;
    boost::asio::awaitable<TokenResult> lead();
    boost::asio::awaitable<TokenResult> refresh();
    bool valid_for(std::int64_t now_ms, std::int64_t ms) const;

    std::string what_;
    RequestBuilder build_;
    Transport transport_;
    const shared::Clock& clock_;
    std::string token_;
    std::int64_t expires_at_ms_ = 0;  // clock_.mono_ms() scale
    std::int64_t refresh_at_ms_ = 0;
    std::shared_ptr<Flight> flight_;  // the refresh in flight, if any
};

}  // namespace ccr::worker::oauth
