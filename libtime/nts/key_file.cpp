#include "libtime/nts/key_file.hpp"

#include <ctime>
#include <span>
#include <sysexits.h>

#include "libtime/base/crypto.hpp"
#include "libtime/sys/file.hpp"
#include "libtime/sys/keyfile.hpp"

namespace timepipe::nts {

Result<CookieKeys> load_cookie_key_file(const std::string& path) {
    auto text = read_private_file(path.c_str(), kMaxKeyFileSize);
    if (!text) return Unexpected<Error>{text.error()};
    auto keys = parse_cookie_keys(*text);
    crypto::secure_zero(std::as_writable_bytes(std::span(*text)));
    if (!keys) return fail(keys.error().what, EX_DATAERR);
    return keys;
}

Result<CookieKeys> rotate_cookie_key_file(const std::string& path, std::size_t keep_old) {
    CookieKeys keys;
    auto old = load_cookie_key_file(path);
    if (old) keys = std::move(*old);
    else if (old.error().exit_code != EX_NOINPUT) return old;
    rotate_cookie_keys(keys, static_cast<std::int64_t>(std::time(nullptr)), keep_old);
    auto text = format_cookie_keys(keys);
    auto w = write_file_atomic(path.c_str(), text, 0600);
    crypto::secure_zero(std::as_writable_bytes(std::span(text)));
    if (!w) return Unexpected<Error>{w.error()};
    return keys;
}

}  // namespace timepipe::nts
