#pragma once

#include <filesystem>
#include <string>

namespace traffic {

/// Reads a whole file. Throws std::runtime_error naming the path (never the contents).
std::string read_file(const std::filesystem::path& path);

}  // namespace traffic
