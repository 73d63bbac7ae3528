// The shared-memory stats segment: creation (with stale-segment replacement), attaching with
// layout checks, provider rows and the reload-result seqlock. See segment.h for the layout.

#include "shared/stats/segment.h"

#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <new>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace ccr::shared::stats {

namespace bip = boost::interprocess;

static_assert(std::is_standard_layout_v<Layout>);
static_assert(std::atomic<std::int32_t>::is_always_lock_free);
static_assert(std::atomic<std::int64_t>::is_always_lock_free);

struct Segment::Impl {
    bip::shared_memory_object shm;
    bip::mapped_region region;
};

namespace {

constexpr unsigned kMode = 0640;

std::string errno_text(int err) { return std::strerror(err); }

/// Where Linux keeps POSIX shared memory, for the ownership shown in a permission error.
std::string shm_path(const std::string& name) { return "/dev/shm" + name; }

std::string group_hint(const std::string& name) {
    struct stat st {};
    if (::stat(shm_path(name).c_str(), &st) != 0) return "";
    std::string group = std::to_string(st.st_gid);
    if (const struct group* g = ::getgrgid(st.st_gid); g != nullptr) group = g->gr_name;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return " (mode " + std::string(mode) + ", group " + group + "): the user running this " +
           "command needs to be in group " + group + " to read it";
}

/// Reads just the header of an existing segment, for the stale check. nullopt: nothing usable
/// (too small, or not readable: the caller's remove/create then reports the real problem).
struct ExistingOwner {
    bool ours = false;  // magic and version match
    std::int32_t master_pid = 0;
};

std::optional<ExistingOwner> inspect_existing(const std::string& name) {
    try {
        bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_only);
        bip::offset_t size = 0;
        if (!shm.get_size(size) || size < static_cast<bip::offset_t>(sizeof(Header))) {
            return ExistingOwner{};
        }
        bip::mapped_region region(shm, bip::read_only, 0, sizeof(Header));
        const auto* h = static_cast<const Header*>(region.get_address());
        ExistingOwner o;
        o.ours = h->magic == kMagic && h->version == kVersion;
        o.master_pid = h->master_pid.load(std::memory_order_relaxed);
        return o;
    } catch (const bip::interprocess_exception& e) {
        if (e.get_error_code() == bip::not_found_error) return std::nullopt;
        return ExistingOwner{};
    }
}

}  // namespace

bool process_alive(std::int32_t pid) {
    if (pid <= 0) return false;
    // EPERM: the process exists but belongs to someone else; it is alive all the same.
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

Segment::Segment(std::string name, std::unique_ptr<Impl> impl, Layout* layout)
    : name_(std::move(name)), impl_(std::move(impl)), layout_(layout) {}

Segment::~Segment() = default;

std::unique_ptr<Segment> Segment::create(const std::string& name) {
    if (auto existing = inspect_existing(name)) {
        const std::int32_t pid = existing->master_pid;
        if (existing->ours && pid != ::getpid() && process_alive(pid)) {
            throw std::runtime_error("another cc-relay master (pid " + std::to_string(pid) +
                                     ") owns " + name);
        }
        // Stale: left by a master that was killed, or by an incompatible build.
        bip::shared_memory_object::remove(name.c_str());
    }

    auto impl = std::make_unique<Impl>();
    try {
        bip::permissions perm(kMode);
        impl->shm =
            bip::shared_memory_object(bip::create_only, name.c_str(), bip::read_write, perm);
    } catch (const bip::interprocess_exception& e) {
        throw std::runtime_error("cannot create shared memory " + name + ": " + e.what());
    }
    // shm_open applies the umask; the operator group's read bit must survive it.
    if (::fchmod(impl->shm.get_mapping_handle().handle, kMode) != 0) {
        const int err = errno;
        bip::shared_memory_object::remove(name.c_str());
        throw std::runtime_error("fchmod(" + name + ", 0640): " + errno_text(err));
    }
    // ftruncate, not shm.truncate(): Boost's posix_fallocate()s the whole 18 MB up front, while
    // the pages of unused worker slots and provider rows should never be allocated. Fresh pages
    // read as zero, the initial value of every field. (The price: a worker that touches a new page
    // when /dev/shm is full gets SIGBUS and is respawned, which a full tmpfs deserves.)
    if (::ftruncate(impl->shm.get_mapping_handle().handle, static_cast<off_t>(sizeof(Layout))) !=
        0) {
        const int err = errno;
        bip::shared_memory_object::remove(name.c_str());
        throw std::runtime_error("ftruncate(" + name + ", " + std::to_string(sizeof(Layout)) +
                                 "): " + errno_text(err));
    }
    try {
        impl->region = bip::mapped_region(impl->shm, bip::read_write);
    } catch (const bip::interprocess_exception& e) {
        bip::shared_memory_object::remove(name.c_str());
        throw std::runtime_error("cannot map shared memory " + name + " (" +
                                 std::to_string(sizeof(Layout)) + " bytes): " + e.what());
    }
    auto* layout = std::launder(static_cast<Layout*>(impl->region.get_address()));
    Header& h = layout->header;
    h.version = kVersion;
    h.size = sizeof(Layout);
    h.master_pid.store(::getpid(), std::memory_order_relaxed);
    h.start_unix_ms.store(unix_ms_now(), std::memory_order_relaxed);
    h.reload_ok.store(-1, std::memory_order_relaxed);
    // The magic last: a reader that sees it sees an initialised header.
    std::atomic_thread_fence(std::memory_order_release);
    h.magic = kMagic;
    return std::unique_ptr<Segment>(new Segment(name, std::move(impl), layout));
}

std::unique_ptr<Segment> Segment::open(const std::string& name, bool writable) {
    auto impl = std::make_unique<Impl>();
    const bip::mode_t mode = writable ? bip::read_write : bip::read_only;
    try {
        impl->shm = bip::shared_memory_object(bip::open_only, name.c_str(), mode);
    } catch (const bip::interprocess_exception& e) {
        if (e.get_error_code() == bip::not_found_error) {
            throw std::runtime_error("no running cc-relay instance: shared memory " + name +
                                     " not found (is the service running? does --config point "
                                     "at its config?)");
        }
        if (e.get_error_code() == bip::security_error || e.get_native_error() == EACCES) {
            throw std::runtime_error("permission denied opening shared memory " + name +
                                     group_hint(name));
        }
        throw std::runtime_error("cannot open shared memory " + name + ": " + e.what());
    }
    bip::offset_t size = 0;
    if (!impl->shm.get_size(size) || size < static_cast<bip::offset_t>(sizeof(Header))) {
        throw std::runtime_error("shared memory " + name + " is too small (" +
                                 std::to_string(size) +
                                 " bytes) to be a cc-relay segment: is the master still starting?");
    }
    try {
        impl->region = bip::mapped_region(impl->shm, mode);
    } catch (const bip::interprocess_exception& e) {
        throw std::runtime_error("cannot map shared memory " + name + ": " + e.what());
    }
    auto* layout = std::launder(static_cast<Layout*>(impl->region.get_address()));
    const Header& h = layout->header;
    if (h.magic != kMagic) {
        throw std::runtime_error("shared memory " + name +
                                 " is not a cc-relay stats segment (bad magic): another program "
                                 "uses this name, or the master is still starting");
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (h.version != kVersion) {
        throw std::runtime_error("segment " + name + " has layout version " +
                                 std::to_string(h.version) + ", this cc-relay reads version " +
                                 std::to_string(kVersion) +
                                 ": restart the service or use the matching cc-relay binary");
    }
    if (h.size != sizeof(Layout) || static_cast<std::uint64_t>(size) < sizeof(Layout)) {
        throw std::runtime_error("segment " + name + " has size " + std::to_string(size) +
                                 " (header says " + std::to_string(h.size) +
                                 "), this cc-relay expects " + std::to_string(sizeof(Layout)) +
                                 ": restart the service or use the matching cc-relay binary");
    }
    return std::unique_ptr<Segment>(new Segment(name, std::move(impl), layout));
}

void Segment::remove(const std::string& name) { bip::shared_memory_object::remove(name.c_str()); }

int Segment::find_provider_row(std::string_view name) const {
    const Header& h = layout_->header;
    std::int32_t count = h.provider_count.load(std::memory_order_acquire);
    if (count > kMaxProviders) count = kMaxProviders;
    if (name.size() > kNameLen - 1) name = name.substr(0, kNameLen - 1);  // stored truncated
    for (int i = 0; i < count; ++i) {
        if (fixed_view(h.provider_names[i]) == name) return i;
    }
    return -1;
}

int Segment::provider_row(std::string_view name) {
    if (const int row = find_provider_row(name); row >= 0) return row;
    Header& h = layout_->header;
    const std::int32_t count = h.provider_count.load(std::memory_order_relaxed);
    if (count >= kMaxProviders) return -1;
    copy_fixed(h.provider_names[count], name);
    // Release: a reader that sees the new count sees the name.
    h.provider_count.store(count + 1, std::memory_order_release);
    return count;
}

void Segment::set_reload_result(bool ok, std::uint64_t generation, std::string_view message) {
    Header& h = layout_->header;
    const std::uint64_t seq = h.reload_seq.load(std::memory_order_relaxed);
    const std::uint64_t odd = seq | 1;  // even before; a writer that died left it odd already
    h.reload_seq.store(odd, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    h.reload_ok.store(ok ? 1 : 0, std::memory_order_relaxed);
    h.reload_generation.store(generation, std::memory_order_relaxed);
    copy_fixed(h.reload_message, message);
    h.reload_seq.store(odd + 1, std::memory_order_release);
}

Segment::ReloadResult Segment::reload_result() const {
    const Header& h = layout_->header;
    ReloadResult r;
    for (int attempt = 0; attempt < 1000; ++attempt) {
        const std::uint64_t before = h.reload_seq.load(std::memory_order_acquire);
        r.seq = before;
        r.ok = h.reload_ok.load(std::memory_order_relaxed);
        r.generation = h.reload_generation.load(std::memory_order_relaxed);
        char message[kMessageLen];
        std::memcpy(message, h.reload_message, sizeof message);
        message[kMessageLen - 1] = '\0';
        r.message = message;
        std::atomic_thread_fence(std::memory_order_acquire);
        const std::uint64_t after = h.reload_seq.load(std::memory_order_relaxed);
        if (before == after && (before & 1) == 0) return r;
        // The master is writing: a few hundred nanoseconds; yield rather than spin hard.
        std::this_thread::yield();
    }
    return r;
}

int bucket_of(std::uint64_t us) {
    const int b = static_cast<int>(std::bit_width(us));  // 0 -> 0, [2^(i-1), 2^i) -> i
    return b < kBuckets ? b : kBuckets - 1;
}

std::uint64_t bucket_upper_us(int bucket) {
    if (bucket <= 0) return 1;
    if (bucket >= 63) return ~0ULL;
    return 1ULL << bucket;
}

std::int64_t unix_ms_now() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace ccr::shared::stats
