#include "traffic/common/file.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace traffic {
namespace {

// errno_text is strerror without its shared buffer: the same texts, from any thread.
TEST(ErrnoText, GivesTheSystemsTextForEachError) {
  EXPECT_EQ(errno_text(ENOENT), "No such file or directory");
  EXPECT_EQ(errno_text(EACCES), "Permission denied");
  EXPECT_EQ(errno_text(ENOSPC), "No space left on device");
  std::vector<std::string> seen(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&seen, i] {
      for (int n = 0; n < 1000; ++n) seen[i] = errno_text(i % 2 == 0 ? EIO : EEXIST);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(seen[0], "Input/output error");
  EXPECT_EQ(seen[1], "File exists");
}

TEST(ReadFile, AMissingFileIsNamedWithItsReason) {
  try {
    (void)read_file("/nonexistent/traffic-test/file.json");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot open /nonexistent/traffic-test/file.json: No such file or directory");
  }
}

}  // namespace
}  // namespace traffic
