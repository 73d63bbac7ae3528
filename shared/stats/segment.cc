// The shared-memory stats segment: creation (with stale-segment replacement), attaching with
// layout checks, provider rows and the reload-result seqlock. See segment.h for the layout.

#include "shared/stats/segment.h"

#include <grp.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
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

std::string user_name(uid_t uid) {
    if (const struct passwd* pw = ::getpwuid(uid); pw != nullptr) return pw->pw_name;
    return "uid " + std::to_string(uid);
}

std::string group_name(gid_t gid) {
    if (const struct group* g = ::getgrgid(gid); g != nullptr) return g->gr_name;
    return "gid " + std::to_string(gid);
}

std::string mode_text(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

/// What an operator who may not read the segment can do about it.
std::string permission_hint(const std::string& name) {
    struct stat st {};
    if (::stat(shm_path(name).c_str(), &st) != 0) return "";
    const std::string group = group_name(st.st_gid);
    std::string out = " (" + shm_path(name) + ": owner " + user_name(st.st_uid) + ", group " +
                      group + ", mode " + mode_text(st.st_mode) + "): ";
    if ((st.st_mode & S_IRGRP) == 0) {
        return out + "only its owner may read it; run this command as " + user_name(st.st_uid) +
               " or root";
    }
    return out + "the stats are readable by group " + group + ": join it (sudo usermod -aG " +
           group + " $USER, then log in again) or run this command as root";
}

/// Reads just the header of an existing segment, for the stale check. nullopt: no such segment.
struct ExistingOwner {
    bool readable = false;  // this user could map the header
    bool ours = false;      // magic and version match
    std::int32_t master_pid = 0;
};

std::optional<ExistingOwner> inspect_existing(const std::string& name) {
    try {
        bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_only);
        bip::offset_t size = 0;
        if (!shm.get_size(size) || size < static_cast<bip::offset_t>(sizeof(Header))) {
            return ExistingOwner{true, false, 0};
        }
        bip::mapped_region region(shm, bip::read_only, 0, sizeof(Header));
        const auto* h = static_cast<const Header*>(region.get_address());
        ExistingOwner o;
        o.readable = true;
        o.ours = h->magic == kMagic && h->version == kVersion;
        o.master_pid = h->master_pid.load(std::memory_order_relaxed);
        return o;
    } catch (const bip::interprocess_exception& e) {
        if (e.get_error_code() == bip::not_found_error) return std::nullopt;
        return ExistingOwner{};
    }
}

/// A segment left by another instance that this user may not unlink (/dev/shm is sticky: only
/// its owner or root may): name the file and the command that removes it, rather than let a
/// service restart loop on "File exists".
[[noreturn]] void throw_cannot_replace(const std::string& name,
                                       const ExistingOwner& existing,
                                       int err) {
    const std::string path = shm_path(name);
    struct stat st {};
    std::string owner = "another user";
    std::string about;
    if (::stat(path.c_str(), &st) == 0) {
        owner = user_name(st.st_uid);
        about = "owner " + owner + ", group " + group_name(st.st_gid) + ", mode " +
                mode_text(st.st_mode) + "; ";
    }
    if (existing.readable && existing.ours) {
        about += "its master, pid " + std::to_string(existing.master_pid) + ", is not running";
    } else if (existing.readable) {
        about += "not a segment of this cc-relay version";
    } else {
        about += "this user cannot read it to check whether its master still runs";
    }
    throw std::runtime_error(
        "shared memory " + name + " already exists (" + path + ": " + about + ") and user " +
        user_name(::geteuid()) + " may not replace it (" + errno_text(err) +
        "). It is most likely left by a crashed cc-relay of " + owner + ": if no cc-relay of " +
        owner + " is running with it, remove it with `sudo rm " + path +
        "` and start again; or give this instance another server.shm_name");
}

/// The gid of server.stats_group, with an error that says how to create it.
gid_t stats_gid(const std::string& group) {
    errno = 0;
    const struct group* g = ::getgrnam(group.c_str());
    if (g == nullptr) {
        throw std::runtime_error("server.stats_group: no group named \"" + group +
                                 "\" on this host (create it: `groupadd " + group +
                                 "`, or systemd-sysusers with the shipped cc-relay.conf)");
    }
    return g->gr_gid;
}

/// Gives the segment to `gid` (server.stats_group, else this process's group) with mode 0640:
/// the group may read the stats, nobody else may.
void give_to_group(int fd, const std::string& name, const std::string& group, gid_t gid) {
    if (::fchown(fd, static_cast<uid_t>(-1), gid) != 0) {
        const int err = errno;
        const std::string user = user_name(::geteuid());
        throw std::runtime_error("server.stats_group: cannot give shared memory " + name +
                                 " to group " + group + ": fchown: " + errno_text(err) +
                                 " (the service user " + user + " must be a member of " + group +
                                 ": `usermod -aG " + group + " " + user + "`)");
    }
    // shm_open applies the umask; the stats group's read bit must survive it.
    if (::fchmod(fd, kMode) != 0) {
        throw std::runtime_error("fchmod(" + name + ", 0640): " + errno_text(errno));
    }
}

}  // namespace

std::string shm_path(const std::string& name) { return "/dev/shm" + name; }

bool process_alive(std::int32_t pid) {
    if (pid <= 0) return false;
    // EPERM: the process exists but belongs to someone else; it is alive all the same.
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

Segment::Segment(std::string name, std::unique_ptr<Impl> impl, Layout* layout)
    : name_(std::move(name)), impl_(std::move(impl)), layout_(layout) {}

Segment::~Segment() = default;

void Segment::set_group(const std::string& group) {
    give_to_group(impl_->shm.get_mapping_handle().handle, name_, group,
                  group.empty() ? ::getegid() : stats_gid(group));
}

std::unique_ptr<Segment> Segment::create(const std::string& name, const std::string& group) {
    const gid_t gid = group.empty() ? ::getegid() : stats_gid(group);
    if (auto existing = inspect_existing(name)) {
        const std::int32_t pid = existing->master_pid;
        if (existing->ours && pid != ::getpid() && process_alive(pid)) {
            throw std::runtime_error("another cc-relay master (pid " + std::to_string(pid) +
                                     ") owns shared memory " + name + " (" + shm_path(name) +
                                     "): stop it, or give this instance another port or "
                                     "server.shm_name");
        }
        // Stale: left by a master that was killed, or by an incompatible build.
        if (::shm_unlink(name.c_str()) != 0 && errno != ENOENT) {
            throw_cannot_replace(name, *existing, errno);
        }
    }

    auto impl = std::make_unique<Impl>();
    try {
        bip::permissions perm(kMode);
        impl->shm =
            bip::shared_memory_object(bip::create_only, name.c_str(), bip::read_write, perm);
    } catch (const bip::interprocess_exception& e) {
        // Another process created it since the check above.
        throw std::runtime_error("cannot create shared memory " + name + " (" + shm_path(name) +
                                 "): " + e.what() +
                                 "; is another cc-relay starting with the same port or "
                                 "server.shm_name?");
    }
    const int fd = impl->shm.get_mapping_handle().handle;
    try {
        give_to_group(fd, name, group, gid);
    } catch (const std::exception&) {
        bip::shared_memory_object::remove(name.c_str());
        throw;
    }
    // ftruncate, not shm.truncate(): Boost's posix_fallocate()s the whole 18 MB up front, while
    // the pages of unused worker slots and provider rows should never be allocated. Fresh pages
    // read as zero, the initial value of every field. (The price: a worker that touches a new page
    // when /dev/shm is full gets SIGBUS and is respawned, which a full tmpfs deserves.)
    if (::ftruncate(fd, static_cast<off_t>(sizeof(Layout))) != 0) {
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
        using Kind = SegmentError::Kind;
        if (e.get_error_code() == bip::not_found_error) {
            throw SegmentError(Kind::not_found, "no running cc-relay instance: shared memory " +
                                                    name + " not found");
        }
        if (e.get_error_code() == bip::security_error || e.get_native_error() == EACCES) {
            throw SegmentError(Kind::permission, "permission denied opening shared memory " + name +
                                                     permission_hint(name));
        }
        throw SegmentError(Kind::other, "cannot open shared memory " + name + ": " + e.what());
    }
    bip::offset_t size = 0;
    if (!impl->shm.get_size(size) || size < static_cast<bip::offset_t>(sizeof(Header))) {
        throw SegmentError(SegmentError::Kind::incompatible,
                           "shared memory " + name + " is too small (" + std::to_string(size) +
                               " bytes) to be a cc-relay segment: is the master still starting?");
    }
    try {
        impl->region = bip::mapped_region(impl->shm, mode);
    } catch (const bip::interprocess_exception& e) {
        throw SegmentError(SegmentError::Kind::other,
                           "cannot map shared memory " + name + ": " + e.what());
    }
    auto* layout = std::launder(static_cast<Layout*>(impl->region.get_address()));
    const Header& h = layout->header;
    if (h.magic != kMagic) {
        throw SegmentError(SegmentError::Kind::incompatible,
                           "shared memory " + name +
                               " is not a cc-relay stats segment (bad magic): another program "
                               "uses this name, or the master is still starting");
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (h.version != kVersion) {
        throw SegmentError(SegmentError::Kind::incompatible,
                           "segment " + name + " has layout version " + std::to_string(h.version) +
                               ", this cc-relay reads version " + std::to_string(kVersion) +
                               ": restart the service or use the matching cc-relay binary");
    }
    if (h.size != sizeof(Layout) || static_cast<std::uint64_t>(size) < sizeof(Layout)) {
        throw SegmentError(SegmentError::Kind::incompatible,
                           "segment " + name + " has size " + std::to_string(size) +
                               " (header says " + std::to_string(h.size) +
                               "), this cc-relay expects " + std::to_string(sizeof(Layout)) +
                               ": restart the service or use the matching cc-relay binary");
    }
    return std::unique_ptr<Segment>(new Segment(name, std::move(impl), layout));
}

void Segment::remove(const std::string& name) { bip::shared_memory_object::remove(name.c_str()); }

std::vector<std::string> Segment::list() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
        std::error_code size_ec;
        // The size first: it skips other programs' objects without opening them.
        if (!entry.is_regular_file(size_ec) || entry.file_size(size_ec) != sizeof(Layout)) {
            continue;
        }
        const std::string name = "/" + entry.path().filename().string();
        try {
            open(name, /*writable=*/false);
            names.push_back(name);
        } catch (const SegmentError&) {
            // Not ours, another layout, or not readable by this user: not a candidate.
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

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
    if (const int row = find_provider_row(name); row >= 0) {
        layout_->providers[row].gone.store(0, std::memory_order_relaxed);
        return row;
    }
    Header& h = layout_->header;
    const std::int32_t count = h.provider_count.load(std::memory_order_relaxed);
    if (count >= kMaxProviders) return -1;
    copy_fixed(h.provider_names[count], name);
    // Release: a reader that sees the new count sees the name.
    h.provider_count.store(count + 1, std::memory_order_release);
    return count;
}

void Segment::set_provider_type(int row, std::string_view type) {
    if (row < 0 || row >= kMaxProviders) return;
    char bytes[sizeof(std::uint64_t) * 2] = {};
    std::memcpy(bytes, type.data(), std::min(type.size(), sizeof bytes));
    for (int i = 0; i < 2; ++i) {
        std::uint64_t word;
        std::memcpy(&word, bytes + i * sizeof word, sizeof word);
        layout_->providers[row].type[i].store(word, std::memory_order_relaxed);
    }
}

std::string Segment::provider_type(int row) const {
    if (row < 0 || row >= kMaxProviders) return {};
    char bytes[sizeof(std::uint64_t) * 2];
    for (int i = 0; i < 2; ++i) {
        const std::uint64_t word = layout_->providers[row].type[i].load(std::memory_order_relaxed);
        std::memcpy(bytes + i * sizeof word, &word, sizeof word);
    }
    return std::string(bytes, strnlen(bytes, sizeof bytes));
}

void Segment::retire_providers_except(const std::vector<std::string>& names) {
    const std::int32_t count =
        std::min(layout_->header.provider_count.load(std::memory_order_acquire), kMaxProviders);
    for (int i = 0; i < count; ++i) {
        const std::string_view row = fixed_view(layout_->header.provider_names[i]);
        const bool kept = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
            return std::string_view(n).substr(0, kNameLen - 1) == row;
        });
        layout_->providers[i].gone.store(kept ? 0 : 1, std::memory_order_relaxed);
    }
}

namespace {

/// The row among `count` whose identity matches, or -1. `matches(i)` compares row i.
template <typename Matches>
int find_row(std::int32_t count, int capacity, Matches matches) {
    if (count > capacity) count = capacity;
    for (int i = 0; i < count; ++i) {
        if (matches(i)) return i;
    }
    return -1;
}

std::string_view stored(std::string_view name) {
    return name.size() > kNameLen - 1 ? name.substr(0, kNameLen - 1) : name;
}

}  // namespace

int Segment::find_key_row(std::string_view provider, std::uint64_t fingerprint) const {
    const Layout& l = *layout_;
    provider = stored(provider);
    return find_row(l.header.key_count.load(std::memory_order_acquire), kMaxKeys, [&](int i) {
        return l.keys[i].fingerprint == fingerprint && fixed_view(l.keys[i].provider) == provider;
    });
}

int Segment::key_row(std::string_view provider, std::uint64_t fingerprint) {
    if (const int row = find_key_row(provider, fingerprint); row >= 0) return row;
    Header& h = layout_->header;
    const std::int32_t count = h.key_count.load(std::memory_order_relaxed);
    if (count >= kMaxKeys) return -1;
    KeyRow& k = layout_->keys[count];
    copy_fixed(k.provider, provider);
    k.fingerprint = fingerprint;
    h.key_count.store(count + 1, std::memory_order_release);  // the identity before the count
    return count;
}

int Segment::find_client_row(std::string_view name) const {
    const Layout& l = *layout_;
    name = stored(name);
    return find_row(l.header.client_count.load(std::memory_order_acquire), kMaxClients,
                    [&](int i) { return fixed_view(l.clients[i].name) == name; });
}

int Segment::client_row(std::string_view name) {
    if (const int row = find_client_row(name); row >= 0) {
        layout_->clients[row].gone.store(0, std::memory_order_relaxed);
        return row;
    }
    Header& h = layout_->header;
    const std::int32_t count = h.client_count.load(std::memory_order_relaxed);
    if (count >= kMaxClients) return -1;
    copy_fixed(layout_->clients[count].name, name);
    h.client_count.store(count + 1, std::memory_order_release);
    return count;
}

void Segment::retire_clients_except(const std::vector<std::string>& names) {
    const std::int32_t count =
        std::min(layout_->header.client_count.load(std::memory_order_acquire), kMaxClients);
    for (int i = 0; i < count; ++i) {
        const std::string_view row = fixed_view(layout_->clients[i].name);
        const bool kept = std::any_of(names.begin(), names.end(),
                                      [&](const std::string& n) { return stored(n) == row; });
        layout_->clients[i].gone.store(kept ? 0 : 1, std::memory_order_relaxed);
    }
}

void Segment::claim_slot(int slot) {
    if (slot < 0 || slot >= kMaxWorkers) return;
    Header& h = layout_->header;
    h.workers[slot].relaying.store(0, std::memory_order_relaxed);
    std::int32_t high = h.slots_high.load(std::memory_order_relaxed);
    while (high < slot + 1 &&
           !h.slots_high.compare_exchange_weak(high, slot + 1, std::memory_order_relaxed)) {
    }
}

std::int64_t Segment::relaying_total() const {
    const Header& h = layout_->header;
    const int high = std::min(h.slots_high.load(std::memory_order_relaxed), kMaxWorkers);
    std::int64_t sum = 0;
    for (int s = 0; s < high; ++s) sum += h.workers[s].relaying.load(std::memory_order_relaxed);
    return sum;
}

std::int64_t Segment::provider_in_flight(int row) const {
    if (row < 0 || row >= kMaxProviders) return 0;
    const int high =
        std::min(layout_->header.slots_high.load(std::memory_order_relaxed), kMaxWorkers);
    std::uint64_t sum = 0;  // wraps like the counters; read back as signed
    for (int s = 0; s < high; ++s)
        sum += layout_->counters[s][row].in_flight.load(std::memory_order_relaxed);
    return static_cast<std::int64_t>(sum);
}

std::uint64_t Segment::next_route_turn(int cursor) {
    if (cursor < 0 || cursor >= kRouteCursors) cursor = 0;
    return layout_->header.route_cursors[cursor].fetch_add(1, std::memory_order_relaxed);
}

void Segment::set_reload_result(bool ok, std::uint64_t generation, std::string_view message) {
    Header& h = layout_->header;
    const std::uint64_t seq = h.reload_seq.load(std::memory_order_relaxed);
    const std::uint64_t odd = seq | 1;  // even before; a writer that died left it odd already
    h.reload_seq.store(odd, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    h.reload_ok.store(ok ? 1 : 0, std::memory_order_relaxed);
    h.reload_generation.store(generation, std::memory_order_relaxed);
    h.reload_unix_ms.store(unix_ms_now(), std::memory_order_relaxed);
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
        r.unix_ms = h.reload_unix_ms.load(std::memory_order_relaxed);
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

BreakerWord BreakerWord::decode(std::uint64_t w) {
    constexpr std::uint64_t kCountMask = 0x7ff;
    BreakerWord d;
    d.state = static_cast<BreakerState>(w & 3);
    d.count = static_cast<int>((w >> 2) & kCountMask);
    d.admitted = static_cast<int>((w >> 13) & kCountMask);
    d.time = static_cast<std::int64_t>(w >> 24);
    return d;
}

std::uint64_t BreakerWord::encode() const {
    constexpr std::uint64_t kTimeMask = (1ULL << 40) - 1;
    const auto clamp = [](int v) {
        return static_cast<std::uint64_t>(std::clamp(v, 0, kMaxCount));
    };
    const auto t = static_cast<std::uint64_t>(std::max<std::int64_t>(time, 0)) & kTimeMask;
    return static_cast<std::uint64_t>(state) | clamp(count) << 2 | clamp(admitted) << 13 | t << 24;
}

const char* breaker_state_name(BreakerState s) {
    switch (s) {
        case BreakerState::closed:
            return "closed";
        case BreakerState::open:
            return "open";
        case BreakerState::half_open:
            return "half_open";
    }
    return "unknown";
}

std::uint64_t key_fingerprint(std::string_view key) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(key.data(), key.size(), digest, &len, EVP_sha256(), nullptr) != 1 || len < 8) {
        // Only on a broken OpenSSL; a fingerprint of 0 still keeps the key out of the segment.
        return 0;
    }
    std::uint64_t fp = 0;
    for (int i = 0; i < 8; ++i) fp = (fp << 8) | digest[i];
    return fp;
}

std::uint64_t update_ewma(std::atomic<std::uint64_t>& ewma, std::uint64_t sample, int shift) {
    if (sample == 0) sample = 1;  // 0 means "no sample"
    std::uint64_t old = ewma.load(std::memory_order_relaxed);
    std::uint64_t next = 0;
    do {
        if (old == 0) {
            next = sample;
        } else {
            const auto diff = static_cast<std::int64_t>(sample) - static_cast<std::int64_t>(old);
            const std::int64_t moved = static_cast<std::int64_t>(old) + diff / (1LL << shift);
            next = moved > 0 ? static_cast<std::uint64_t>(moved) : 1;
        }
    } while (!ewma.compare_exchange_weak(old, next, std::memory_order_relaxed));
    return next;
}

std::int64_t unix_ms_now() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace ccr::shared::stats
