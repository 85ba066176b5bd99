#pragma once
// The one error policy of libtraffic (docs/architecture.md, "Error policy").
//
// At run time — the request path, the emitter and sinks, the background exchanges with
// Redis, S3 and collectors — an operation that can fail returns `Result<T>`: a value, or a
// `Failure` that says what kind of failure it was (an error_code of our category, for the
// caller to branch on) and what happened (one line for an operator's log; never a
// credential). Nothing on those paths throws. Start-up and configuration parsing throw
// std::exception subclasses with one line naming the setting; `main` prints it and exits.

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <ostream>
#include <string>
#include <utility>

namespace traffic {

/// What kind of failure: what a caller needs to choose between retrying, answering 503 or
/// refusing the input.
enum class Errc {
  unavailable = 1,  ///< a peer (Redis, a collector, S3) cannot be reached or answered badly; retry later
  refused,          ///< a peer understood and said no (an error reply, a 4xx); retrying the same will not help
  io,               ///< the local disk or a file failed
  invalid_input,    ///< the input is malformed (a request field, a stored record)
};

[[nodiscard]] const boost::system::error_category& error_category() noexcept;
[[nodiscard]] inline boost::system::error_code make_error_code(Errc code) noexcept {
  return {static_cast<int>(code), error_category()};
}

/// A failure: its kind and one line saying what happened.
struct Failure {
  boost::system::error_code code;
  std::string detail;  ///< e.g. "127.0.0.1:6379: Connection refused"; never a credential

  Failure() = default;
  Failure(Errc kind, std::string what) : code(make_error_code(kind)), detail(std::move(what)) {}
  Failure(boost::system::error_code kind, std::string what) : code(kind), detail(std::move(what)) {}
  /// "<kind>: <detail>", for logs.
  [[nodiscard]] std::string message() const;
  [[nodiscard]] bool is(Errc kind) const noexcept { return code == make_error_code(kind); }
  friend bool operator==(const Failure&, const Failure&) = default;
  friend std::ostream& operator<<(std::ostream& out, const Failure& failure) { return out << failure.message(); }
};

/// Thrown only by Result::value() on a failure — a programming error; callers test first.
class FailureError;
[[noreturn]] void throw_exception_from_error(const Failure& failure, const boost::source_location& location);

/// A value or a Failure. `Result<>` is success or a Failure.
template <class T = void>
using Result = boost::system::result<T, Failure>;

/// The failure value for `return fail(Errc::unavailable, "…");` in a function returning Result.
[[nodiscard]] inline Failure fail(Errc kind, std::string detail) {
  return {kind, std::move(detail)};
}

}  // namespace traffic
