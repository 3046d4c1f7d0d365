#include "mgraph/graph/value.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace mgraph {
namespace {

TEST(Value, ScalarsCompareByTypeAndContent) {
  EXPECT_EQ(Value(), Value(nullptr));
  EXPECT_EQ(Value(true), Value(true));
  EXPECT_NE(Value(true), Value(false));
  EXPECT_EQ(Value(std::int64_t{3}), Value(3));
  EXPECT_NE(Value(3), Value(3.0));  // int64 and double are different types
  EXPECT_EQ(Value(2.5), Value(2.5));
  EXPECT_EQ(Value(std::nan("")), Value(std::nan("")));  // NaN is not a change
  EXPECT_EQ(Value("abc"), Value(std::string("abc")));
  EXPECT_NE(Value("abc"), Value("abd"));
  EXPECT_NE(Value(), Value(0));
}

TEST(Value, IsTwoWordsAndCopiesShareStrings) {
  static_assert(sizeof(Value) == 16);
  Value a("a long enough string to live on the heap");
  Value b = a;
  EXPECT_EQ(a.as_string().data(), b.as_string().data());
  Value c = std::move(a);
  EXPECT_TRUE(a.is_null());
  EXPECT_EQ(b, c);
}

TEST(Value, NumberWidensIntegers) {
  EXPECT_DOUBLE_EQ(Value(7).number(), 7.0);
  EXPECT_DOUBLE_EQ(Value(0.5).number(), 0.5);
}

TEST(Tensor, ChecksShapeAgainstData) {
  EXPECT_TRUE(Tensor::make({2, 2}, {1, 2, 3, 4}).is_ok());
  Result<Tensor> bad = Tensor::make({2, 3}, {1, 2, 3});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("6 elements"), std::string::npos);
  Result<Tensor> deep = Tensor::make({1, 1, 1, 1, 1}, {1});
  ASSERT_FALSE(deep.is_ok());
  EXPECT_EQ(deep.status().code(), StatusCode::invalid_argument);
}

TEST(Tensor, RanksZeroToFourCompareByShapeAndContent) {
  Tensor s = Tensor::scalar(3);
  EXPECT_EQ(s.rank(), 0u);
  EXPECT_EQ(s.size(), 1u);
  Tensor r4 = Tensor::make({1, 2, 1, 2}, {1, 2, 3, 4}).value();
  EXPECT_EQ(r4.rank(), 4u);
  Tensor flat = Tensor::make({4}, {1, 2, 3, 4}).value();
  EXPECT_FALSE(Value(r4) == Value(flat));  // same data, other shape
  Tensor again = Tensor::make({1, 2, 1, 2}, {1, 2, 3, 4}).value();
  EXPECT_TRUE(Value(r4) == Value(again));
  Tensor other = Tensor::make({1, 2, 1, 2}, {1, 2, 3, 5}).value();
  EXPECT_FALSE(Value(r4) == Value(other));
}

TEST(Tensor, MapsToEigenForMath) {
  Tensor m = Tensor::make({2, 3}, {1, 2, 3, 4, 5, 6}).value();
  auto mm = m.as_matrix();
  EXPECT_EQ(mm.rows(), 2);
  EXPECT_EQ(mm.cols(), 3);
  EXPECT_DOUBLE_EQ(mm(1, 0), 4);
  Eigen::MatrixXd product = mm * mm.transpose();
  Tensor p = Tensor::matrix(product);
  EXPECT_EQ(p.dim(0), 2u);
  EXPECT_DOUBLE_EQ(p.as_matrix()(0, 0), 14);
  EXPECT_DOUBLE_EQ(p.as_matrix()(1, 1), 77);
}

TEST(Value, RendersJson) {
  EXPECT_EQ(Value().to_json(), "null");
  EXPECT_EQ(Value(true).to_json(), "true");
  EXPECT_EQ(Value(42).to_json(), "42");
  EXPECT_EQ(Value(2.5).to_json(), "2.5");
  EXPECT_EQ(Value("a\"b").to_json(), "\"a\\\"b\"");
  EXPECT_EQ(Value(Tensor::make({2}, {1, 2}).value()).to_json(), "{\"shape\":[2],\"data\":[1,2]}");
}

}  // namespace
}  // namespace mgraph
