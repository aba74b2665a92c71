#include "libtime/server/acl.hpp"

#include <algorithm>

namespace timepipe {

void Acl::add(Verdict verdict, const Cidr& cidr) {
    for (auto& r : rules_) {
        if (r.cidr == cidr) {
            r.verdict = verdict;
            return;
        }
    }
    // Keep longest prefixes first so check() can stop at the first match. IPv4 and IPv6 rules
    // never match the same address, so comparing their lengths across families is harmless.
    auto pos = std::find_if(rules_.begin(), rules_.end(),
                            [&](const AclRule& r) { return r.cidr.prefix_len() < cidr.prefix_len(); });
    rules_.insert(pos, AclRule{verdict, cidr});
}

Result<void> Acl::add_rule(std::string_view rule) {
    auto trim = [](std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
        return s;
    };
    std::string_view s = trim(rule);
    std::size_t sp = s.find_first_of(" \t");
    std::string_view word = s.substr(0, sp);
    std::string_view arg = sp == std::string_view::npos ? std::string_view{} : trim(s.substr(sp));
    Verdict v;
    if (word == "allow")
        v = Verdict::Allow;
    else if (word == "deny")
        v = Verdict::Deny;
    else
        return fail(std::string(rule.substr(0, 80)) + ": expected \"allow CIDR\" or \"deny CIDR\"",
                    EX_USAGE);
    if (arg == "all") {
        add(v, Cidr(IpAddress::v4(0), 0));
        add(v, Cidr(IpAddress{}, 0));
        return {};
    }
    auto cidr = parse_cidr(arg);
    if (!cidr) return fail(std::string(rule.substr(0, 80)) + ": " + cidr.error().what, EX_USAGE);
    add(v, *cidr);
    return {};
}

Result<Acl> Acl::from_rules(std::span<const std::string> rules, Verdict default_verdict) {
    Acl acl(default_verdict);
    for (const auto& r : rules) {
        auto ok = acl.add_rule(r);
        if (!ok) return Unexpected<Error>{ok.error()};
    }
    return acl;
}

Verdict Acl::check(const IpAddress& addr) const noexcept {
    for (const auto& r : rules_)
        if (r.cidr.contains(addr)) return r.verdict;
    return default_;
}

Verdict Acl::check(std::span<const std::byte> raw) const noexcept {
    auto a = IpAddress::from_bytes(raw);
    return a ? check(*a) : Verdict::Deny;
}

std::string_view to_string(Verdict v) noexcept { return v == Verdict::Allow ? "allow" : "deny"; }

Result<AccessPolicy> make_access_policy(std::span<const std::string> rules) {
    AccessPolicy policy;
    for (const std::string& rule : rules) {
        std::string_view r = rule;
        if (r.starts_with("restrict ")) {
            std::string as_deny = "deny " + std::string(r.substr(9));
            if (auto ok = policy.restricted.add_rule(as_deny); !ok) {
                const std::string& why = ok.error().what;  // "deny X: reason"
                bool named = why.starts_with(as_deny + ": ");
                return fail(rule + ": " + (named ? why.substr(as_deny.size() + 2) : why), EX_USAGE);
            }
            continue;
        }
        if (auto ok = policy.access.add_rule(r); !ok) return fail(ok.error().what, EX_USAGE);
    }
    return policy;
}

Result<std::vector<std::string>> parse_acl_file(std::string_view text) {
    std::vector<std::string> rules;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
            line.remove_suffix(1);
        if (line.empty()) continue;
        std::string rule(line);
        std::vector<std::string> one{rule};
        if (auto ok = make_access_policy(one); !ok)
            return fail("line " + std::to_string(line_no) + ": " + ok.error().what, EX_DATAERR);
        rules.push_back(std::move(rule));
    }
    return rules;
}

}  // namespace timepipe
