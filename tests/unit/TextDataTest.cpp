//===- tests/unit/TextDataTest.cpp - Text windows for character LMs --------===//
#include "runtime/TextData.h"
#include "tests/TestUtil.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <fstream>
#include <string>

using namespace gradc;

namespace {

std::string writeTemp(const std::string &text) {
  llvm::SmallString<128> path;
  EXPECT_FALSE(llvm::sys::fs::createTemporaryFile("gradc-text", "txt", path));
  std::ofstream(path.c_str()) << text;
  return std::string(path);
}

TEST(TextData, VocabularySplitAndWindows) {
  // Ten lines: the 10th ("jj") is the dev split.
  std::string text = "ab\nb\nc\nd\ne\nf\ng\nh\ni\njj\n";
  std::string path = writeTemp(text);
  auto d = rt::loadTextData(path, 2, 64);
  ASSERT_TRUE(bool(d)) << llvm::toString(d.takeError());
  // Sorted distinct bytes, newline included.
  EXPECT_EQ(d->vocab, "\nabcdefghij");
  // Train stream "ab\nb\nc\n...i\n" = 19 characters -> (19 - 1) / 2 = 9 windows.
  ASSERT_EQ(d->train.count(), 9);
  EXPECT_EQ(d->train.ids.i32()[0], 1);  // 'a'
  EXPECT_EQ(d->train.ids.i32()[1], 2);  // 'b'
  EXPECT_EQ(d->train.next.i32()[0], 2); // next of 'a' is 'b'
  EXPECT_EQ(d->train.next.i32()[1], 0); // next of 'b' is '\n'
  EXPECT_EQ(d->train.ids.i32()[2], 0);  // window 1 starts at stride 2: '\n'
  // Dev stream "jj\n": one window ids "jj", next "j\n".
  ASSERT_EQ(d->dev.count(), 1);
  EXPECT_EQ(d->dev.ids.i32()[0], 10);
  EXPECT_EQ(d->dev.next.i32()[1], 0);
  llvm::sys::fs::remove(path);
}

TEST(TextData, Errors) {
  std::string path = writeTemp("abc\nd\ne\nf\ng\nh\ni\nj\nk\nlm\n");
  auto small = rt::loadTextData(path, 2, 5);
  ASSERT_FALSE(bool(small));
  EXPECT_EQ(llvm::toString(small.takeError()),
            path + ": the text has 14 distinct characters, but the model's vocabulary holds 5");
  auto longWindows = rt::loadTextData(path, 8, 64);
  ASSERT_FALSE(bool(longWindows));
  EXPECT_EQ(llvm::toString(longWindows.takeError()),
            path + " (dev split: every 10th line): fewer than 9 characters, not one window");
  llvm::sys::fs::remove(path);
  auto missing = rt::loadTextData(path, 2, 64);
  ASSERT_FALSE(bool(missing));
  EXPECT_NE(llvm::toString(missing.takeError()).find(path + ": "), std::string::npos);
}

} // namespace
