#pragma once
// Vertex AI's project, region and credentials: gcp_credentials_file, else
// GOOGLE_APPLICATION_CREDENTIALS, else the GCE/GKE metadata server. A key file is a
// service_account key or an authorized_user file (`gcloud auth application-default login`).

#include <string>
#include <vector>

#include "shared/cloud/problem.h"
#include "shared/config/config.h"

namespace ccr::shared::cloud {

struct GcpResolution {
    std::string project_id;
    std::string region;
    std::string credentials_file;  // empty: the metadata server
    std::string
        credentials_source;  // "config", "GOOGLE_APPLICATION_CREDENTIALS" or "metadata server"
    std::string
        credentials_type;  // "service_account", "authorized_user"; empty for the metadata server
    /// Errors (no project or region, a key file that is missing, unreadable or not a key) and
    /// the warning that the metadata server will be used. Messages never quote the file.
    std::vector<Problem> problems;

    bool uses_metadata_server() const { return credentials_file.empty(); }
};

GcpResolution resolve_gcp(const ProviderConfig& p, EnvLookup env = &process_env);

}  // namespace ccr::shared::cloud
