#include "traffic/common/error.hpp"

#include <stdexcept>

namespace traffic {
namespace {

class Category final : public boost::system::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "traffic"; }
  [[nodiscard]] std::string message(int code) const override {
    switch (static_cast<Errc>(code)) {
      case Errc::unavailable: return "unavailable";
      case Errc::refused: return "refused";
      case Errc::io: return "i/o error";
      case Errc::invalid_input: return "invalid input";
    }
    return "unknown error";
  }
};

}  // namespace

class FailureError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

const boost::system::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

std::string Failure::message() const {
  return detail.empty() ? code.message() : code.message() + ": " + detail;
}

void throw_exception_from_error(const Failure& failure, const boost::source_location& /*location*/) {
  throw FailureError(failure.message());
}

}  // namespace traffic
