#pragma once
/// Part of step 6 (exchange.h): an upstream that echoes the request's credentials back in an
/// error answer ("invalid x-api-key: sk-...", a debug header repeating Authorization) must not
/// hand the provider's key to the client or to the log. The credentials are taken from the
/// request head the relay sent, and each occurrence is overwritten with '*' of the same length,
/// so a Content-Length stays true and an answer read in part can still be relayed.

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ccr::worker::upstream {

/// The credential values an upstream request head carries: x-api-key, api-key, x-goog-api-key,
/// x-amz-security-token, the token of `Authorization: Bearer`, the access key id of a SigV4
/// `Authorization`, any other Authorization value whole. Values under 8 bytes are left out
/// (masking them would mangle ordinary text and they are no real key).
std::vector<std::string> credentials_in_head(std::string_view head);

/// Overwrites every occurrence of each of `secrets` in `text` with '*'. True when it changed.
bool mask_secrets(std::span<char> text, const std::vector<std::string>& secrets);

/// `value` with every secret masked (a copy only when one occurs).
std::string masked(std::string_view value, const std::vector<std::string>& secrets);

}  // namespace ccr::worker::upstream
