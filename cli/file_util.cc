#include "cli/file_util.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace ccr::cli {

namespace {

[[noreturn]] void throw_errno(const std::string& call, const std::string& path, int err) {
    throw std::runtime_error(call + " " + path + ": " + std::strerror(err));
}

// Closes a descriptor on every path out of a function.
class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

  private:
    int fd_;
};

void write_all(int fd, const std::string& content, const std::string& path) {
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("write", path, errno);
        }
        done += static_cast<std::size_t>(n);
    }
}

}  // namespace

std::string home_dir() {
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return home;
    if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr) {
        return pw->pw_dir;
    }
    throw std::runtime_error("cannot find the home directory (HOME is not set)");
}

std::string expand_home(const std::string& path) {
    if (path == "~") return home_dir();
    if (path.rfind("~/", 0) == 0) return home_dir() + path.substr(1);
    return path;
}

std::string parent_dir(const std::string& path) {
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

bool path_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

std::string read_file(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) throw_errno("open", path, errno);
    std::string out;
    char buf[65536];
    while (true) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read", path, errno);
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

void make_dirs(const std::string& dir, mode_t mode) {
    if (dir.empty() || dir == "." || dir == "/") return;
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) throw std::runtime_error(dir + " exists and is not a directory");
        return;
    }
    make_dirs(parent_dir(dir), mode);
    // EEXIST: created by someone else between the stat and here, which is fine.
    if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) throw_errno("mkdir", dir, errno);
}

void write_file_atomic(const std::string& path, const std::string& content, mode_t mode) {
    const std::string dir = parent_dir(path);
    auto slash = path.find_last_of('/');
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    std::string tmp = (dir == "/" ? "" : dir) + "/." + base + ".tmp-XXXXXX";
    Fd fd(::mkstemp(tmp.data()));
    if (fd.get() < 0) throw_errno("mkstemp", tmp, errno);
    try {
        // mkstemp creates 0600; fchmod sets the exact mode whatever the umask.
        if (::fchmod(fd.get(), mode) != 0) throw_errno("fchmod", tmp, errno);
        write_all(fd.get(), content, tmp);
        if (::fsync(fd.get()) != 0) throw_errno("fsync", tmp, errno);
        if (::close(fd.release()) != 0) throw_errno("close", tmp, errno);
        if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno("rename", path, errno);
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    // Make the rename itself durable; the new content is already in place if this fails,
    // so a failure here is not worth reporting.
    Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd.get() >= 0) ::fsync(dfd.get());
}

}  // namespace ccr::cli
