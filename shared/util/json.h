#pragma once
// Small JSON writing helpers: the relay writes its own JSON by hand (a few fixed shapes) and
// never re-serialises a client's body.

#include <string>
#include <string_view>

namespace ccr::shared {

/// Appends `s` as a JSON string literal (quotes included), escaping as RFC 8259 requires.
void append_json_string(std::string& out, std::string_view s);

}  // namespace ccr::shared
