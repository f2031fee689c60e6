#include "pki/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

namespace ambit::pki {
namespace {

TEST(FileTest, AtomicWriteSetsModeAndReadsBack) {
  char tmpl[] = "/tmp/ambit-pki-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/key.pem";
  ASSERT_TRUE(WriteFileAtomically(path, "secret", 0600).ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = ReadFileToString(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "secret");
  ASSERT_TRUE(WriteFileAtomically(path, "replaced", 0644).ok());
  EXPECT_EQ(*ReadFileToString(path), "replaced");
  auto big = ReadFileToString(path, 3);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message().find(path), std::string::npos);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace ambit::pki
