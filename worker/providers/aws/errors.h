#pragma once
// Bedrock errors that arrive before any stream starts (a non-2xx rest-json response), mapped to
// the status and `error.type` an Anthropic client expects (anthropic-wire.md §2.2, §5.5). The
// message is passed through verbatim: Claude Code matches on error wording.
//
//   x-amzn-ErrorType                        Bedrock  ->  status  error.type
//   ValidationException                     400          400     invalid_request_error
//   AccessDeniedException                   403          403     permission_error
//   UnrecognizedClientException,            403          403     permission_error
//     InvalidSignatureException, ...
//   ResourceNotFoundException               404          404     not_found_error
//   ModelTimeoutException                   408          504     timeout_error
//   ModelErrorException                     424          500     api_error
//   ModelStreamErrorException               424          500     api_error
//   ThrottlingException,                    429          429     rate_limit_error
//     TooManyRequestsException
//   ModelNotReadyException                  429          429     rate_limit_error
//   ServiceQuotaExceededException           400          429     rate_limit_error
//   InternalServerException                 500          500     api_error
//   ServiceUnavailableException             503          529     overloaded_error
//   anything else, by Bedrock's status: 401 authentication_error, 403 permission_error,
//   404 not_found_error, 413 request_too_large, 429 rate_limit_error, 504 timeout_error,
//   529 overloaded_error, other 4xx invalid_request_error, 5xx api_error (status kept);
//   a status below 400 becomes 502 api_error. A 401 from Bedrock is always 401
//   authentication_error, whatever the type says.
//
// 408 and 424 are not statuses the Anthropic SDKs know; the model timing out is the upstream's
// gateway timeout (504, retried by the SDKs) and a model failure is an upstream server error.

#include <string>
#include <string_view>

namespace ccr::worker::aws {

struct MappedError {
    unsigned status;
    std::string_view type;  // Anthropic error.type (static storage)
    std::string message;
};

/// `error_type`: the x-amzn-ErrorType header (may carry ":http://..." suffix; strip it); when
/// empty, the body's `__type` or `code` (after any '#') names it. `body`: the rest-json body
/// {"message":..} or {"Message":..}; its message is kept verbatim, else the error type name, else
/// "Bedrock returned HTTP <status>".
MappedError map_bedrock_error(unsigned status, std::string_view error_type, std::string_view body);

}  // namespace ccr::worker::aws
