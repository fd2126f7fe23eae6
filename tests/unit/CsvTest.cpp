//===- tests/unit/CsvTest.cpp - CSV data sets -----------------------------===//
#include "runtime/Csv.h"

#include "tests/TestUtil.h"

#include <gtest/gtest.h>

using namespace gradc;
using namespace gradc::rt;
using gradc::test::errorText;
using gradc::test::expectOk;

TEST(Csv, HeaderIsDetectedAndFieldsTrimmed) {
  Dataset d = expectOk(parseCsv("a, b ,label\r\n1.5, -2 ,0\r\n\r\n3e2,4,2.0\n", "t.csv"));
  EXPECT_EQ(d.count(), 2);
  EXPECT_EQ(d.features.shape(), (Shape{2, 2}));
  EXPECT_EQ(d.features.f32()[0], 1.5f);
  EXPECT_EQ(d.features.f32()[1], -2.0f);
  EXPECT_EQ(d.features.f32()[2], 300.0f);
  EXPECT_EQ(d.labels.i32()[0], 0);
  EXPECT_EQ(d.labels.i32()[1], 2);
  EXPECT_EQ(d.source, "t.csv");
}

TEST(Csv, NoHeader) {
  Dataset d = expectOk(parseCsv("1,2,1\n3,4,0", "t.csv"));
  EXPECT_EQ(d.count(), 2);
  EXPECT_EQ(d.labels.i32()[0], 1);
}

TEST(Csv, ErrorsNameFileAndLine) {
  EXPECT_EQ(errorText(parseCsv("x,y\n1,0\n\n2\n", "r.csv").takeError()),
            "r.csv:4: expected 2 fields like line 1, got 1");
  EXPECT_EQ(errorText(parseCsv("1,0\n2,0,1\n", "r.csv").takeError()),
            "r.csv:2: expected 2 fields like line 1, got 3");
  EXPECT_EQ(errorText(parseCsv("1,0\nnan,0\n", "n.csv").takeError()),
            "n.csv:2: field 1 is 'nan', not a number");
  EXPECT_EQ(errorText(parseCsv("1,0\n1e999,0\n", "n.csv").takeError()),
            "n.csv:2: field 1 is '1e999', not a number");
  EXPECT_EQ(errorText(parseCsv("1,0\n2,,0\n", "n.csv").takeError()),
            "n.csv:2: expected 2 fields like line 1, got 3");
  EXPECT_EQ(errorText(parseCsv("1,-1\n", "l.csv").takeError()),
            "l.csv:1: the label (last field) is '-1', not a non-negative integer");
  EXPECT_EQ(errorText(parseCsv("", "e.csv").takeError()), "e.csv: the file holds no records");
  EXPECT_EQ(errorText(parseCsv("\n\n", "e.csv").takeError()), "e.csv: the file holds no records");
  EXPECT_EQ(errorText(parseCsv("a,b\n", "h.csv").takeError()),
            "h.csv: the file holds a header but no records");
  EXPECT_EQ(errorText(parseCsv("7\n", "o.csv").takeError()),
            "o.csv:1: a record needs at least one feature and a label, got 1 field");
  // A second non-numeric line is an error, not another header.
  EXPECT_EQ(errorText(parseCsv("a,b\nc,d\n", "h.csv").takeError()),
            "h.csv:2: field 1 is 'c', not a number");
}
