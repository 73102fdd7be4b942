#include "core/result.h"

namespace sluice {

const char* toString(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kAlreadyExists:
      return "already exists";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kResourceExhausted:
      return "resource exhausted";
    case ErrorCode::kIo:
      return "i/o error";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown";
}

const char* toString(ErrorSource source) {
  switch (source) {
    case ErrorSource::kDownstream:
      return "downstream";
    case ErrorSource::kUpstream:
      return "upstream";
    case ErrorSource::kRegistry:
      return "registry";
    case ErrorSource::kConfig:
      return "config";
    case ErrorSource::kInternal:
      return "internal";
  }
  return "unknown";
}

std::string Error::describe() const {
  return fmt::format("{} ({}{}): {}", toString(code), toString(source),
                     retryable ? ", retryable" : "", message);
}

}  // namespace sluice
