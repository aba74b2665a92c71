// Option values the tools parse alike (DEVELOPERS.md "Options"). Each returns the value or exits
// with EX_USAGE after one line naming the option and the value:
//
//   case 'w': workers = int_option("--workers", optarg, 1, 64); break;
//       // ntp-serve: --workers: "0" is not an integer from 1 to 64
//   case 't': timeout = duration_option("-t", optarg); break;
//       // ntp-query: -t: bad duration "soon": not a number
//   case kDenyKod: deny_kod = on_off_option("--deny-kod", optarg); break;
//       // ntp-serve: --deny-kod: "maybe" is not on or off
//   case kBatchDelay: delay = duration_or_zero_option("--batch-delay", optarg); break;  // "0" too
//   case kOffset: offset = signed_duration_option("--offset", optarg); break;  // "-86400", "+1h", "0"
//       // roughtime-serve: --offset: bad duration "-1d": unknown unit "d" (ns, us, ms, s, m, h)
//   default: getopt_failure(c, argv);   // with opterr = 0 and a leading ':' in the optstring
//       // ntp-serve: --stratum: missing value (see -h)   ntp-serve: -q: unknown option (see -h)
#pragma once

#include <chrono>

namespace timepipe {

long int_option(const char* opt, const char* arg, long lo, long hi);
std::chrono::nanoseconds duration_option(const char* opt, const char* arg);  // libtime/base/duration.hpp
std::chrono::nanoseconds duration_or_zero_option(const char* opt, const char* arg);  // or exactly "0"
std::chrono::nanoseconds signed_duration_option(const char* opt, const char* arg);  // [+-]duration, or 0
bool on_off_option(const char* opt, const char* arg);
int file_mode_option(const char* opt, const char* arg);  // octal permissions, 0 to 0777
// What getopt_long returned when it failed: ':' (an option without its value) or anything
// else (an option it does not know), as one line naming the option; reads getopt's optind
// and optopt.
[[noreturn]] void getopt_failure(int c, char* const argv[]);

}  // namespace timepipe
