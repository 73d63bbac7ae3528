// ccr-seccomp-exec NUMBERS PROGRAM [ARGS...]: runs PROGRAM under a seccomp filter that allows
// only the system calls whose numbers are listed (comma separated) and kills the process on any
// other, as a unit's SystemCallFilter= allow list would refuse it. master-systemd.test.mjs uses
// it to run the relay under the unit's @system-service set where systemd is not PID 1. The
// filter is inherited by every child (the workers, the admin process). x86_64 only.

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s NUMBERS PROGRAM [ARGS...]\n", argv[0]);
        return 2;
    }
    std::vector<sock_filter> filter = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
    };
    std::stringstream numbers(argv[1]);
    for (std::string n; std::getline(numbers, n, ',');) {
        filter.push_back(
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(std::stoul(n)), 0, 1));
        filter.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    }
    filter.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
    const sock_fprog program{static_cast<unsigned short>(filter.size()), filter.data()};
    // As the unit's NoNewPrivileges=yes; also what lets an unprivileged caller install a filter.
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        std::perror("prctl(PR_SET_NO_NEW_PRIVS)");
        return 2;
    }
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) {
        std::perror("seccomp(SECCOMP_SET_MODE_FILTER)");
        return 2;
    }
    ::execv(argv[2], argv + 2);
    std::perror("execv");
    return 127;
}
