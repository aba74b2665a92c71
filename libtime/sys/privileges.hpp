// Giving up root after binding: a server started as root (by hand, or by an init system that
// does not do it for us) runs as an ordinary user from then on, keeping no capability — as
// chronyd's -u does.
//
//   auto user = lookup_user(opt.user);            // before binding: a bad name is a usage error
//   ... bind port 123 ...
//   if (auto ok = drop_privileges(*user); !ok) log::fatalx(ok.error().exit_code, ...);
//
// drop_privileges: supplementary groups become the user's primary group alone (setgroups),
// then setgid, then setuid. From uid 0 to another uid the kernel clears the permitted,
// effective and ambient capabilities (capabilities(7)); drop_privileges checks that it did
// and that root cannot be taken back. Call it before starting threads.
#pragma once

#include <string>
#include <string_view>

#include <sys/types.h>

#include "libtime/base/error.hpp"

namespace timepipe {

struct UserIds {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;  // the user's primary group
};

// A name from the password database, or a numeric uid (its primary group from the database
// when it has an entry, else gid = uid). Errors: "NAME: no such user", EX_NOUSER.
Result<UserIds> lookup_user(std::string_view name);

// Errors: "setuid: Operation not permitted" and the like, EX_NOPERM / EX_OSERR.
Result<void> drop_privileges(const UserIds& user);

}  // namespace timepipe
