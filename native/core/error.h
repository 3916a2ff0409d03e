// Errors raised by native code. The N-API layer maps each kind onto the JS
// error class of the same name, so a kernel never needs to know about N-API.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace cr {

enum class ErrorKind { Type, Range, Generic };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

template <typename... Args>
[[noreturn]] void throwType(Args&&... args) {
  throw Error(ErrorKind::Type, concat(std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void throwRange(Args&&... args) {
  throw Error(ErrorKind::Range, concat(std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void throwError(Args&&... args) {
  throw Error(ErrorKind::Generic, concat(std::forward<Args>(args)...));
}

}  // namespace cr
