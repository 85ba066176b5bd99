#pragma once
// The closed files a file sink wrote, for tests that check what it delivered.

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "test_support.hpp"

namespace traffic::test {

/// The files of `dir` whose names end with `suffix`, in name order (the order written).
inline std::vector<std::filesystem::path> files_in(const std::filesystem::path& dir, std::string_view suffix) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().string().ends_with(suffix)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Every line of the gzip'd files of `dir`, in the order written.
inline std::string all_closed_lines(const std::filesystem::path& dir) {
  std::string text;
  for (const auto& f : files_in(dir, ".ndjson.gz")) text += gunzip_file(f);
  return text;
}

}  // namespace traffic::test
