#pragma once
// AWS Bedrock (`type: bedrock`): InvokeModel / InvokeModelWithResponseStream / CountTokens.
// The model id goes into the path, the body loses `model` and `stream` and gains
// `anthropic_version` and `anthropic_beta` (spliced, never re-serialised), and the request is
// signed with SigV4 over its final bytes — or carries a Bedrock API key as a bearer token. The
// event-stream answer is decoded into Anthropic SSE; Bedrock's errors are mapped to Anthropic's.

#include "shared/cloud/aws.h"
#include "worker/providers/provider.h"

namespace ccr::worker {

class BedrockProvider final : public Provider {
public:
    BedrockProvider(const shared::ProviderConfig& cfg, const shared::ProviderTypeInfo& type, ProviderDeps deps);

    boost::asio::awaitable<std::optional<PrepareError>> prepare(UpstreamRequest& up) const override;
    bool prepare_now(UpstreamRequest&) const override { return false; }
    std::unique_ptr<ResponseDecoder> decoder(unsigned status,
                                             std::string_view content_type,
                                             Endpoint endpoint) const override;
    bool maps_errors() const override { return true; }
    std::optional<MappedError> map_error(unsigned status,
                                         const boost::beast::http::fields& head,
                                         std::string_view body) const override;
    bool count_tokens_unavailable(unsigned status) const override;
    bool has_models_route() const override { return false; }

private:
    shared::cloud::AwsResolution aws_;
};

}  // namespace ccr::worker
