#pragma once
// Google Vertex AI (`type: vertex`): rawPredict / streamRawPredict / count-tokens:rawPredict under
// projects/{project}/locations/{region}/publishers/anthropic/models/{model}. The body loses
// `model` (count-tokens keeps it) and gains `anthropic_version`; betas stay a header. Requests
// carry an OAuth2 access token (service account JWT, authorized_user refresh token or the
// metadata server), cached per worker. Google's error envelope is mapped to Anthropic's.

#include <memory>
#include <string>

#include "worker/providers/provider.h"

namespace ccr::worker {

namespace oauth {
class TokenSource;
}

class VertexProvider final : public Provider {
public:
    VertexProvider(const shared::ProviderConfig& cfg, const shared::ProviderTypeInfo& type, ProviderDeps deps);
    ~VertexProvider() override;

    boost::asio::awaitable<std::optional<PrepareError>> prepare(UpstreamRequest& up) const override;
    bool prepare_now(UpstreamRequest&) const override { return false; }
    bool maps_errors() const override { return true; }
    std::optional<MappedError> map_error(unsigned status,
                                         const boost::beast::http::fields& head,
                                         std::string_view body) const override;
    bool has_models_route() const override { return false; }

private:
    std::unique_ptr<oauth::TokenSource> tokens_;  // null when the credentials could not be loaded
    std::string credentials_error_;
    std::string quota_project_;                   // x-goog-user-project, when the key file names one
};

}  // namespace ccr::worker
