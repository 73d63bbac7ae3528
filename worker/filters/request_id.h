#pragma once
/// Filter: the request's id. The client's X-Request-ID when it is a safe token, else a new UUID;
/// it is logged, sent upstream and returned on the answer. Never rejects.

#include <string>
#include <string_view>

namespace ccr::worker::filters {

/// A random UUIDv4, as X-Request-ID when the client sent none (or one we do not adopt).
std::string new_request_id();

/// Whether a client's X-Request-ID is safe to adopt: 1-128 letters, digits and `-_.:` (nothing
/// that could break a log line or a header).
bool acceptable_request_id(std::string_view id);

/// The id for a request whose X-Request-ID header is `sent` ("" when absent).
inline std::string request_id_for(std::string_view sent) {
    return acceptable_request_id(sent) ? std::string(sent) : new_request_id();
}

}  // namespace ccr::worker::filters
