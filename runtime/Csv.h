//===- runtime/Csv.h - Labelled data sets from CSV files ----------*- C++ -*-===//
//
// A CSV data set: one record a line, fields separated by commas (spaces
// around a field are ignored, "\r\n" line ends accepted, blank lines
// skipped), every field a finite decimal number. The last column is the
// label, a non-negative integer ("2" or "2.0"); the others are the features.
// The first line is a header when any of its fields is not a number, and
// then it must have as many fields as the records. Quoted fields are not
// supported (numeric data needs none).
//
// Errors name the file and the line: ragged rows ("iris.csv:7: expected 5
// fields like line 2, got 4"), non-numeric fields ("iris.csv:9: field 3 is
// 'abc', not a number"), bad labels, and a file without records.
// Features become f32 [count, fields - 1], labels i32 [count].
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Dataset.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace gradc::rt {

llvm::Expected<Dataset> loadCsv(llvm::StringRef path);
/// Parses CSV text; `path` names it in errors.
llvm::Expected<Dataset> parseCsv(llvm::StringRef text, llvm::StringRef path);

} // namespace gradc::rt
