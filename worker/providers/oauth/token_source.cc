#include "worker/providers/oauth/token_source.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <exception>

namespace ccr::worker::oauth {

namespace net = boost::asio;
namespace od = simdjson::ondemand;

namespace {

// Of a reply body quoted in an error: enough to recognise it, not a page of HTML.
constexpr std::size_t kMaxQuoted = 400;

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

// A non-JSON reply body as one printable line.
std::string quote_text(std::string_view body) {
    std::string out;
    for (unsigned char c : body.substr(0, kMaxQuoted))
        out += c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (body.size() > kMaxQuoted) out += "...";
    return out;
}

// expires_in as a JSON number or a numeric string ("3599"): Entra's v1 endpoints send strings.
bool read_expires_in(od::value value, std::int64_t& out) {
    od::json_type type;
    if (value.type().get(type)) return false;
    if (type == od::json_type::number) {
        double d = 0;
        if (value.get_double().get(d) || d < 0 || d > 1e12) return false;
        out = static_cast<std::int64_t>(d);
        return true;
    }
    std::string_view s;
    if (type != od::json_type::string || value.get_string().get(s)) return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

void append_form_encoded(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (unsigned char c : s) {
        if (is_unreserved(c)) {
            out += static_cast<char>(c);
        } else if (c == ' ') {
            out += '+';
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        }
    }
}

std::string form_encode(
    std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
    std::string out;
    for (const auto& [name, value] : fields) {
        if (!out.empty()) out += '&';
        append_form_encoded(out, name);
        out += '=';
        append_form_encoded(out, value);
    }
    return out;
}

TokenReply parse_token_reply(const HttpReply& reply) {
    TokenReply r;
    if (!reply.error.empty()) {
        r.error = "token request failed: " + reply.error;
        return r;
    }
    const bool ok_status = reply.status >= 200 && reply.status < 300;
    const std::string answered = "token endpoint answered " + std::to_string(reply.status);
    simdjson::padded_string padded(reply.body);
    od::parser parser;
    od::document doc;
    od::object obj;
    if (parser.iterate(padded).get(doc) || doc.get_object().get(obj)) {
        r.error = ok_status ? answered + " with a body that is not a JSON object"
                            : answered + (reply.body.empty() ? "" : ": " + quote_text(reply.body));
        return r;
    }
    std::string error, description;
    bool have_expiry = false;
    for (auto field : obj) {
        std::string_view key;
        od::value value;
        if (field.unescaped_key().get(key) || field.value().get(value)) {
            r.error = answered + " with malformed JSON";
            return r;
        }
        std::string_view s;
        if (key == "access_token") {
            if (value.get_string().get(s) == simdjson::SUCCESS) r.access_token = std::string(s);
        } else if (key == "expires_in") {
            have_expiry = true;
            if (!read_expires_in(value, r.expires_in_s)) r.expires_in_s = -1;
        } else if (key == "error") {
            // OAuth2 (RFC 6749 §5.2): a code string; Google's API errors:
            // {"code","message","status"}.
            od::object e;
            if (value.get_string().get(s) == simdjson::SUCCESS) {
                error = std::string(s);
            } else if (value.get_object().get(e) == simdjson::SUCCESS) {
                for (auto ef : e) {
                    std::string_view ek, ev;
                    if (ef.unescaped_key().get(ek)) break;
                    if ((ek == "message" || ek == "status") &&
                        ef.value().get_string().get(ev) == simdjson::SUCCESS)
                        (ek == "status" ? error : description) = std::string(ev);
                }
            }
        } else if (key == "error_description") {
            if (value.get_string().get(s) == simdjson::SUCCESS) description = std::string(s);
        }
    }
    if (!ok_status || !error.empty()) {
        r.access_token.clear();
        r.error = answered;
        if (!error.empty()) r.error += ": " + quote_text(error);
        if (!description.empty()) r.error += ": " + quote_text(description);
        return r;
    }
    if (r.access_token.empty()) {
        r.error = answered + " without an access_token";
    } else if (!have_expiry) {
        r.expires_in_s = TokenSource::kDefaultLifetimeS;
    } else if (r.expires_in_s <= 0) {
        r.error = answered + " with an unusable expires_in";
    }
    if (!r.error.empty()) r.access_token.clear();
    return r;
}

// The refresh in flight. Waiters sleep on `done_timer` (it never expires by itself); the leader
// cancels it when the result is in. Shared with the waiters so that it outlives the TokenSource's
// reference to it.
struct TokenSource::Flight {
    explicit Flight(net::any_io_executor ex)
        : done_timer(ex, net::steady_timer::time_point::max()) {}
    net::steady_timer done_timer;
    bool done = false;
    TokenResult result;

    void finish(TokenResult r) {
        result = std::move(r);
        done = true;
        done_timer.cancel();
    }
};

TokenSource::TokenSource(std::string what,
                         RequestBuilder build,
                         Transport transport,
                         const shared::Clock& clock)
    : what_(std::move(what)),
      build_(std::move(build)),
      transport_(std::move(transport)),
      clock_(clock) {}

TokenSource::~TokenSource() = default;

void TokenSource::invalidate() {
    token_.clear();
    expires_at_ms_ = refresh_at_ms_ = 0;
}

bool TokenSource::valid_for(std::int64_t now_ms, std::int64_t ms) const {
    return !token_.empty() && now_ms + ms < expires_at_ms_;
}

net::awaitable<TokenResult> TokenSource::token() {
    const std::int64_t now = clock_.mono_ms();
    if (!token_.empty() && now < refresh_at_ms_) co_return TokenResult{token_, {}};
    // A finished flight still referenced here was abandoned (its leader's frame destroyed).
    if (flight_ && flight_->done) flight_.reset();
    if (!flight_) co_return co_await lead();
    if (valid_for(now, kMinValidityMs)) co_return TokenResult{token_, {}};
    std::shared_ptr<Flight> flight = flight_;
    // Ends when the leader cancels the timer (done is set first), or when this caller's own
    // operation is cancelled (done still false).
    auto [ec] = co_await flight->done_timer.async_wait(net::as_tuple(net::use_awaitable));
    (void)ec;  // operation_aborted either way; `done` tells which
    if (!flight->done)
        co_return TokenResult{{}, what_ + ": cancelled while waiting for a token refresh"};
    co_return flight->result;
}

net::awaitable<TokenResult> TokenSource::lead() {
    auto flight = std::make_shared<Flight>(co_await net::this_coro::executor);
    flight_ = flight;
    // When this frame is destroyed before the refresh ends (the io_context shut down), the
    // waiters are released with an error. It touches only the flight: `this` may be gone by then.
    struct Abandon {
        std::shared_ptr<Flight> flight;
        std::string what;
        ~Abandon() {
            if (!flight->done) flight->finish(TokenResult{{}, what + ": token refresh abandoned"});
        }
    } abandon{flight, what_};
    TokenResult result = co_await refresh();
    if (flight_ == flight) flight_.reset();
    flight->finish(result);
    co_return result;
}

net::awaitable<TokenResult> TokenSource::refresh() {
    // Expiry counts from before the request: the endpoint's clock started no earlier.
    const std::int64_t started = clock_.mono_ms();
    std::string error;
    TokenReply reply;
    if (std::optional<TokenRequest> request = build_(clock_.unix_ms() / 1000, error)) {
        HttpReply http;
        try {
            http = co_await transport_(*request);
        } catch (const std::exception& e) {
            http = HttpReply{0, {}, e.what()};
        }
        reply = parse_token_reply(http);
    } else {
        reply.error = error;
    }
    if (!reply.error.empty()) {
        const std::int64_t now = clock_.mono_ms();
        if (valid_for(now, kMinValidityMs)) {
            spdlog::warn("{}: token refresh failed, using the current token ({} s left): {}", what_,
                         (expires_at_ms_ - now) / 1000, reply.error);
            co_return TokenResult{token_, {}};
        }
        spdlog::warn("{}: token refresh failed: {}", what_, reply.error);
        co_return TokenResult{{}, what_ + ": " + reply.error};
    }
    const std::int64_t lifetime_ms = reply.expires_in_s * 1000;
    token_ = std::move(reply.access_token);
    expires_at_ms_ = started + lifetime_ms;
    refresh_at_ms_ = expires_at_ms_ - std::min(kRefreshMarginMs, lifetime_ms / 10);
    spdlog::info("{}: access token refreshed, valid for {} s", what_, reply.expires_in_s);
    co_return TokenResult{token_, {}};
}

}  // namespace ccr::worker::oauth
