// Fuzzes device detection with arbitrary User-Agent bytes and Client Hints: never a crash,
// and every result has a browser, OS and device family.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "traffic/device/detector.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const traffic::device::DeviceDetector detector(std::string(traffic::device::kDefaultRegexesPath), 4096);
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto info = detector.detect(input);
  if (info->browser_family.empty() || info->os_family.empty() || info->device_family.empty()) std::abort();
  // The same bytes as every Client Hint at once.
  traffic::device::ClientHints hints;
  hints.brands = input;
  hints.mobile = input.substr(0, 2);
  hints.platform = input;
  hints.platform_version = input;
  hints.model = input;
  (void)detector.detect(input, hints);
  return 0;
}
