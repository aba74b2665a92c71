#include "libtime/sys/privileges.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <linux/capability.h>
#include <sys/syscall.h>
#include "libtime/sys/os_error.hpp"

namespace timepipe {
namespace {

// The effective and permitted capability sets, as capget(2) gives them (no libcap).
bool has_any_capability() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capget, &header, data) != 0) return true;  // cannot tell: assume the worst
    for (const auto& d : data)
        if (d.effective != 0 || d.permitted != 0 || d.inheritable != 0) return true;
    return false;
}

}  // namespace

Result<UserIds> lookup_user(std::string_view name) {
    if (name.empty() || name.size() > 256) return fail("\"" + std::string(name.substr(0, 32)) + "\": no such user", EX_NOUSER);
    std::string n(name);
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    int rc = ::getpwnam_r(n.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc == 0 && found != nullptr) return UserIds{n, pw.pw_uid, pw.pw_gid};
    uid_t uid = 0;
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), uid);
    if (ec != std::errc{} || end != n.data() + n.size()) {
        if (rc != 0 && rc != ENOENT && rc != ESRCH) return os_error("getpwnam_r", rc);
        return fail(n + ": no such user", EX_NOUSER);
    }
    rc = ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found);
    if (rc == 0 && found != nullptr) return UserIds{n, pw.pw_uid, pw.pw_gid};
    return UserIds{n, uid, static_cast<gid_t>(uid)};
}

Result<void> drop_privileges(const UserIds& user) {
    if (::geteuid() == 0 || ::getegid() != user.gid) {
        const gid_t groups[1] = {user.gid};
        if (::setgroups(1, groups) != 0) return os_error("setgroups", errno);
    }
    if (::setresgid(user.gid, user.gid, user.gid) != 0) return os_error("setgid", errno);
    if (::setresuid(user.uid, user.uid, user.uid) != 0) return os_error("setuid", errno);
    // Nothing left to regain: no capability in any set, and root out of reach.
    if (user.uid != 0) {
        if (has_any_capability()) return fail("capabilities remain after setuid", EX_SOFTWARE);
        if (::setuid(0) == 0) return fail("setuid(0) still works after dropping root", EX_SOFTWARE);
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return os_error("PR_SET_NO_NEW_PRIVS", errno);
    return {};
}

}  // namespace timepipe
