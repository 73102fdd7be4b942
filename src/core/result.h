#pragma once
// Result<T> / Status: the error currency of Sluice. No exceptions cross module boundaries on the
// request path; third-party exceptions are caught at the adapter and turned into an Error.

#include <fmt/format.h>

#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace sluice {

enum class ErrorCode {
  kInvalidArgument,  // bad input: config, request, CLI flag
  kNotFound,
  kAlreadyExists,
  kUnavailable,  // a peer (upstream, registry) cannot be reached right now
  kTimeout,
  kResourceExhausted,
  kIo,
  kInternal,
};

// Where an error came from, so a log line or a 5xx body can say so (Pingora's lesson).
enum class ErrorSource { kDownstream, kUpstream, kRegistry, kConfig, kInternal };

const char* toString(ErrorCode code);
const char* toString(ErrorSource source);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  ErrorSource source = ErrorSource::kInternal;
  std::string message;
  bool retryable = false;

  std::string describe() const;
};

template <typename T>
using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

inline tl::unexpected<Error> makeError(ErrorCode code, ErrorSource source, std::string message,
                                       bool retryable = false) {
  return tl::unexpected<Error>(Error{code, source, std::move(message), retryable});
}

template <typename... Args>
tl::unexpected<Error> invalidArgument(fmt::format_string<Args...> f, Args&&... args) {
  return makeError(ErrorCode::kInvalidArgument, ErrorSource::kConfig,
                   fmt::format(f, std::forward<Args>(args)...));
}

inline Status ok() { return {}; }

}  // namespace sluice

// TRY-style helpers (Abseil's lesson): keep the happy path flat.
#define SLUICE_CONCAT_INNER(a, b) a##b
#define SLUICE_CONCAT(a, b) SLUICE_CONCAT_INNER(a, b)
#define SLUICE_RETURN_IF_ERROR(expr)                                    \
  do {                                                                  \
    auto sluice_status_ = (expr);                                       \
    if (!sluice_status_) return tl::unexpected(sluice_status_.error()); \
  } while (0)
#define SLUICE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp) return tl::unexpected(tmp.error());      \
  lhs = std::move(*tmp)
#define SLUICE_ASSIGN_OR_RETURN(lhs, expr) \
  SLUICE_ASSIGN_OR_RETURN_IMPL(SLUICE_CONCAT(sluice_result_, __LINE__), lhs, expr)
