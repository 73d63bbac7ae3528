#pragma once
// What a provider is sent of Claude Code's additions: which `anthropic-beta` values, and whether
// the `x-anthropic-billing-header` system block is removed.

#include <string_view>

#include "shared/config/config.h"

namespace ccr::shared::cloud {

/// The provider's beta_headers when configured (it replaces the default, it does not extend
/// it); else bedrock's or vertex's default deny list (values those reject with "Unexpected
/// value(s) ... for the anthropic-beta header"); else allow-all (deny nothing).
const BetaFilter& effective_beta_filter(const ProviderConfig& p);

/// The default filter of a type (allow-all for types without a default).
const BetaFilter& default_beta_filter(const std::string& type);

/// Whether `filter` lets `value` through (exact match after trimming spaces).
bool beta_allowed(const BetaFilter& filter, std::string_view value);

/// strip_billing_header when set; else true for every type but anthropic.
bool effective_strip_billing(const ProviderConfig& p);

}  // namespace ccr::shared::cloud
