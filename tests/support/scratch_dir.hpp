#pragma once
// A fresh directory under the system's temporary directory for one test, removed with
// everything in it when the test ends.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace mgraph::testing {

class ScratchDir {
 public:
  /// `prefix` names the directory (prefix-XXXXXX); path() is empty if it cannot be made.
  explicit ScratchDir(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  /// Writes `text` to the file `name` in the directory; its path.
  std::string file(const std::string& name, const std::string& text) const {
    const std::string p = sub(name);
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  /// The path of `name` in the directory.
  std::string sub(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace mgraph::testing
