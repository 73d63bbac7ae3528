#pragma once
// A finding of a cloud resolver, tied to the provider setting it concerns so that the config
// validator can report it at that key's file:line:col.

#include <string>
#include <vector>

namespace ccr::shared::cloud {

struct Problem {
    enum class Severity { error, warning };
    Severity severity = Severity::error;
    /// The provider key it concerns ("aws_region"); empty: the provider entry as a whole.
    std::string key;
    std::string message;
    friend bool operator==(const Problem&, const Problem&) = default;
};

/// Whether `problems` holds an error.
bool has_error(const std::vector<Problem>& problems);

}  // namespace ccr::shared::cloud
