// An access list for a server: "allow CIDR" / "deny CIDR" rules, the most specific matching
// prefix decides (like chrony's allow/deny), the default verdict when nothing matches.
//
//   // while parsing options: --allow 192.0.2.0/24 --deny 192.0.2.128/25 --acl-default deny
//   std::vector<std::string> rules = {"allow 192.0.2.0/24", "deny 192.0.2.128/25"};
//   Result<Acl> acl = Acl::from_rules(rules, Verdict::Deny);
//   if (!acl) log::fatalx(EX_USAGE, "%s", acl.error().what.c_str());
//   // per packet (no allocation, never throws):
//   if (acl->check(peer_bytes) == Verdict::Deny) ... // KoD DENY or silent drop: ntp-serve decides
//
// Reload (SIGHUP): build a fresh Acl from the saved option strings; only if that succeeds,
// assign it over the live one (`live = std::move(*fresh)`) between packets. A bad reload keeps
// the old list. Rules are few (a sorted linear scan), so matching is O(rules).
//
// A server's whole policy is an AccessPolicy: the --allow/--deny list and the --restrict list,
// built from the rules of the command line and of an --acl-file (parse_acl_file).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/base/cidr.hpp"
#include "libtime/base/error.hpp"

namespace timepipe {

enum class Verdict : std::uint8_t { Allow, Deny };

struct AclRule {
    Verdict verdict = Verdict::Allow;
    Cidr cidr;
};

class Acl {
public:
    explicit Acl(Verdict default_verdict = Verdict::Allow) : default_(default_verdict) {}

    // A rule for exactly the same prefix as an earlier one replaces it (the last word wins).
    void add(Verdict verdict, const Cidr& cidr);
    // "allow 192.0.2.0/24", "deny 2001:db8::/32", "allow all" (= 0.0.0.0/0 and ::/0).
    // Errors name the rule: "deny 10.0.0.0/33: bad prefix length 33".
    Result<void> add_rule(std::string_view rule);
    // Every rule of `rules` in order, e.g. the repeated --allow/--deny options.
    static Result<Acl> from_rules(std::span<const std::string> rules,
                                  Verdict default_verdict = Verdict::Allow);

    Verdict check(const IpAddress& addr) const noexcept;
    // Raw 4 or 16 bytes (IPv4-mapped IPv6 is IPv4); any other size is denied.
    Verdict check(std::span<const std::byte> raw) const noexcept;

    Verdict default_verdict() const noexcept { return default_; }
    void set_default(Verdict v) noexcept { default_ = v; }
    // Most specific first; ties keep insertion order.
    std::span<const AclRule> rules() const noexcept { return rules_; }

private:
    std::vector<AclRule> rules_;
    Verdict default_;
};

std::string_view to_string(Verdict v) noexcept;  // "allow" / "deny"

// Who may use the server: `access` (--allow/--deny, most specific prefix wins, default allow)
// and `restricted` (--restrict: reachable, but answered KoD RSTR).
struct AccessPolicy {
    Acl access{Verdict::Allow};
    Acl restricted{Verdict::Allow};  // a Deny verdict here means "restricted"
};

// Rules as on the command line or in an --acl-file: "allow CIDR", "deny CIDR", "restrict CIDR"
// ("all" for every address). Errors name the rule (EX_USAGE for options, callers may re-code).
Result<AccessPolicy> make_access_policy(std::span<const std::string> rules);
// The lines of an --acl-file: one rule per line, '#' comments and blank lines ignored.
// Errors: "line 3: ...", EX_DATAERR.
Result<std::vector<std::string>> parse_acl_file(std::string_view text);

}  // namespace timepipe
