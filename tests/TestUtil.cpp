#include "tests/TestUtil.h"

namespace gradc::test {

std::string sourcePath(const std::string &rel) {
  return std::string(GRADC_SOURCE_DIR) + "/" + rel;
}

} // namespace gradc::test
