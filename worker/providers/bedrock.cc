#include "worker/providers/bedrock.h"

#include <openssl/evp.h>

#include <boost/beast/http/field.hpp>

#include "shared/clock.h"
#include "shared/util/json.h"
#include "worker/providers/aws/errors.h"
#include "worker/providers/aws/event_stream.h"
#include "worker/providers/aws/sigv4.h"

namespace ccr::worker {

namespace net = boost::asio;
namespace http = boost::beast::http;

namespace {

constexpr std::string_view kBedrockVersion = "bedrock-2023-05-31";
constexpr std::string_view kEventStream = "application/vnd.amazon.eventstream";

std::string base64(std::string_view in) {
    std::string out(4 * ((in.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// `"anthropic_version":"…","anthropic_beta":[…]` for what the body lacks.
std::string added_members(const BodyLayout& layout, std::string_view betas) {
    std::string add;
    if (!layout.has("anthropic_version")) {
        add += "\"anthropic_version\":";
        shared::append_json_string(add, kBedrockVersion);
    }
    if (!betas.empty() && !layout.has("anthropic_beta")) {
        if (!add.empty()) add += ',';
        add += "\"anthropic_beta\":[";
        bool first = true;
        while (!betas.empty()) {
            const std::size_t comma = betas.find(',');
            if (!first) add += ',';
            shared::append_json_string(add, betas.substr(0, comma));
            first = false;
            betas = comma == std::string_view::npos ? std::string_view{} : betas.substr(comma + 1);
        }
        add += ']';
    }
    return add;
}

// InvokeModelWithResponseStream's frames, as Anthropic SSE.
class EventStreamToSse final : public ResponseDecoder {
public:
    std::string_view content_type() const override { return "text/event-stream; charset=utf-8"; }
    bool sse() const override { return true; }
    bool feed(std::span<const char> in, std::string& out) override { return decoder_.feed(in, out); }
    bool finish(std::string& out) override { return decoder_.finish(out); }

private:
    aws::EventStreamDecoder decoder_;
};

// CountTokens answers {"inputTokens":N}; Anthropic's clients read {"input_tokens":N}.
class CountTokensReply final : public ResponseDecoder {
public:
    std::string_view content_type() const override { return "application/json"; }
    bool sse() const override { return false; }
    bool feed(std::span<const char> in, std::string& out) override {
        if (body_.size() + in.size() > kMax) return fail(out);
        body_.append(in.data(), in.size());
        return true;
    }
    bool finish(std::string& out) override {
        // The one number in a tiny object: read it where it is, without a parser.
        const std::size_t key = body_.find("\"inputTokens\"");
        if (key == std::string::npos) return fail(out);
        std::size_t i = body_.find(':', key);
        if (i == std::string::npos) return fail(out);
        ++i;
        while (i < body_.size() && (body_[i] == ' ' || body_[i] == '\t' || body_[i] == '\n' || body_[i] == '\r')) ++i;
        std::size_t end = i;
        while (end < body_.size() && body_[end] >= '0' && body_[end] <= '9') ++end;
        if (end == i) return fail(out);
        out += "{\"input_tokens\":";
        out.append(body_, i, end - i);
        out += '}';
        return true;
    }

private:
    static constexpr std::size_t kMax = 64 * 1024;
    bool fail(std::string& out) {
        if (!failed_) out += R"({"type":"error","error":{"type":"api_error","message":"Bedrock CountTokens answered without inputTokens"}})";
        failed_ = true;
        return false;
    }
    std::string body_;
    bool failed_ = false;
};

}  // namespace

BedrockProvider::BedrockProvider(const shared::ProviderConfig& cfg,
                                 const shared::ProviderTypeInfo& type,
                                 ProviderDeps deps)
    : Provider(cfg, type, deps), aws_(shared::cloud::resolve_aws(cfg)) {}

net::awaitable<std::optional<PrepareError>> BedrockProvider::prepare(UpstreamRequest& up) const {
    if (!aws_.uses_bearer() && !aws_.sigv4)
        co_return PrepareError{false, "no AWS credentials (see `cc-relay config validate`)"};
    const bool count = up.endpoint == Endpoint::count_tokens;
    up.path = origin_.base_path;
    up.path += "/model/";
    up.path += aws::encode_model_id(upstream_model(up.info.model));
    up.path += count ? "/count-tokens" : up.info.stream ? "/invoke-with-response-stream" : "/invoke";

    // The body InvokeModel takes: no model or stream; the version and betas as fields.
    const BodyLayout layout = layout_body(up.json, up.body, up.body_capacity);
    common_edits(up, strips_billing() ? &layout : nullptr);
    const std::string betas = up.beta ? *up.beta : filter_betas(up.anthropic_beta);
    std::string add = added_members(layout, betas);
    if (count && !layout.has("max_tokens")) add += add.empty() ? "\"max_tokens\":1" : ",\"max_tokens\":1";
    if (!edit_members(layout, {"model", "stream"}, std::move(add), up.splice))
        co_return PrepareError{false, "the request body could not be adapted for Bedrock"};
    if (count) {
        // CountTokens wraps the InvokeModel body, base64-encoded, in its own.
        up.owned_body = R"({"input":{"invokeModel":{"body":")" + base64(up.splice.str()) + "\"}}}";
        up.splice = BodySplice(up.owned_body);
    }

    up.headers.set(http::field::content_type, "application/json");
    if (!count && up.info.stream) {
        up.headers.set(http::field::accept, kEventStream);
        up.headers.set("X-Amzn-Bedrock-Accept", "application/json");
    } else {
        up.headers.set(http::field::accept, "application/json");
    }
    if (aws_.uses_bearer()) {
        up.headers.set(http::field::authorization, "Bearer " + aws_.bearer_token);
        co_return std::nullopt;
    }
    // SigV4 over the final bytes: nothing may change the body or these headers after this.
    const auto buffers = up.splice.buffers();
    const std::string payload_hash = aws::sha256_hex(buffers);
    const std::string host = origin_.host_header();
    const std::size_t q = up.path.find('?');
    aws::SigV4Input in;
    in.method = up.method;
    in.host = host;
    in.path = std::string_view(up.path).substr(0, q);
    in.query = q == std::string::npos ? std::string_view{} : std::string_view(up.path).substr(q + 1);
    in.content_type = "application/json";
    in.payload_sha256_hex = payload_hash;
    in.region = aws_.region;
    in.service = "bedrock";
    in.now = std::chrono::system_clock::time_point(std::chrono::milliseconds(deps_.clock->unix_ms()));
    const aws::AwsCredentials creds{aws_.sigv4->access_key_id, aws_.sigv4->secret_access_key,
                                    aws_.sigv4->session_token};
    for (auto& [name, value] : aws::sign_v4(in, creds)) up.headers.set(name, value);
    co_return std::nullopt;
}

std::unique_ptr<ResponseDecoder> BedrockProvider::decoder(unsigned status,
                                                          std::string_view content_type,
                                                          Endpoint endpoint) const {
    if (status != 200) return nullptr;
    if (endpoint == Endpoint::count_tokens) return std::make_unique<CountTokensReply>();
    if (content_type.substr(0, kEventStream.size()) == kEventStream) return std::make_unique<EventStreamToSse>();
    return nullptr;  // InvokeModel's answer is Anthropic's Message JSON already
}

std::optional<MappedError> BedrockProvider::map_error(unsigned status,
                                                      const http::fields& head,
                                                      std::string_view body) const {
    std::string_view error_type;
    if (auto it = head.find("x-amzn-ErrorType"); it != head.end()) error_type = it->value();
    aws::MappedError m = aws::map_bedrock_error(status, error_type, body);
    return MappedError{m.status, std::string(m.type), std::move(m.message)};
}

bool BedrockProvider::count_tokens_unavailable(unsigned status) const {
    // Models and regions without CountTokens answer 400 (ValidationException) or 404.
    return status == 404 || status == 400;
}

}  // namespace ccr::worker
