#include "mgraph/persistence/crc32c.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mgraph::persistence {
namespace {

TEST(Crc32c, MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32c("123456789"), 0xe3069283u);  // the catalogued CRC-32C check value
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8a9136aau);  // RFC 3720 B.4
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62a8ab43u);
}

TEST(Crc32c, ExtendingPiecewiseEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  for (std::size_t split : {0u, 1u, 7u, 8u, 9u, 500u, 999u, 1000u}) {
    const std::uint32_t first = crc32c_extend(0, data.data(), split);
    EXPECT_EQ(crc32c_extend(first, data.data() + split, data.size() - split), crc32c(data));
  }
}

TEST(Crc32c, HardwareAndPortableImplementationsAgree) {
  std::string data;
  for (int i = 0; i < 4099; ++i) data.push_back(static_cast<char>((i * 131) ^ (i >> 3)));
  for (std::size_t offset = 0; offset < 9; ++offset) {  // every alignment
    for (std::size_t size : {0u, 1u, 3u, 8u, 15u, 64u, 4090u}) {
      EXPECT_EQ(crc32c_extend(5, data.data() + offset, size),
                crc32c_extend_portable(5, data.data() + offset, size));
    }
  }
}

TEST(Crc32c, MaskIsInvertibleAndChangesTheValue) {
  for (std::uint32_t crc : {0u, 1u, 0xe3069283u, 0xffffffffu}) {
    EXPECT_EQ(crc32c_unmask(crc32c_mask(crc)), crc);
    EXPECT_NE(crc32c_mask(crc), crc);
  }
}

}  // namespace
}  // namespace mgraph::persistence
