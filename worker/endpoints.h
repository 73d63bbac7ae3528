#pragma once
// Answers the relay makes without an upstream: /v1/models, /v1/providers, /health.

#include <string>
#include <string_view>

#include "worker/runtime.h"

namespace ccr::worker {

/// GET /v1/models in Anthropic's shape, de-duplicated over enabled providers. Supports the
/// `limit`, `after_id` and `before_id` query parameters.
std::string models_json(const Runtime& rt, std::string_view query);
/// GET /v1/providers.
std::string providers_json(const Runtime& rt);
/// GET /health.
std::string health_json(const Runtime& rt);

/// "Claude Sonnet 4.5" from "claude-sonnet-4-5-20250929"; other ids unchanged.
std::string display_name(std::string_view id);
/// RFC 3339 time from a trailing -YYYYMMDD in the id, else a fixed epoch.
std::string created_at(std::string_view id);
/// Value of `name` in a query string ("" when absent).
std::string_view query_param(std::string_view query, std::string_view name);

}  // namespace ccr::worker
