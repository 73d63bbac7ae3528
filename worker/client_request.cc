#include "worker/client_request.h"

#include "worker/request.h"

namespace ccr::worker {

const HeadField* find_field(const HeadFields& fields, std::string_view name) {
    for (const HeadField& f : fields) {
        if (f.name.size() == name.size() && iequals(f.name, name)) return &f;
    }
    return nullptr;
}

void rebase_fields(HeadFields& fields, const char* from, const char* to) {
    for (HeadField& f : fields) {
        f.name = rebased(f.name, from, to);
        f.value = rebased(f.value, from, to);
    }
}

void ClientRequest::rebase(const char* from, const char* to) {
    method_ = rebased(method_, from, to);
    target_ = rebased(target_, from, to);
    rebase_fields(fields_, from, to);
}

}  // namespace ccr::worker
