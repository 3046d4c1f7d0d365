#include "schema/schema_common.hpp"

#include <limits>
#include <utility>

namespace mgraph::bench {

Result<std::shared_ptr<const schema::Schema>> compile_text(std::string file, std::string text,
                                                           schema::CompileOptions options) {
  return schema::compile_schema(schema::SourceFile{std::move(file), std::move(text)}, options);
}

double StoreShape::bytes_per_node() const {
  if (store_ == nullptr || store_->graph().node_count() == 0) return 0;
  return static_cast<double>(store_->graph().memory_bytes()) /
         static_cast<double>(store_->graph().node_count());
}

bool StoreShape::open(std::string file, std::string text, schema::CompileOptions options,
                      schema::StoreOptions store_options) {
  Result<std::shared_ptr<const schema::Schema>> compiled =
      compile_text(std::move(file), std::move(text), options);
  if (!compiled.is_ok()) {
    fail("compile_schema", compiled.status());
    return false;
  }
  store_ = std::make_unique<schema::Store>(std::move(compiled).value(), store_options);
  return true;
}

schema::RecordId StoreShape::create(std::string_view entity, const schema::FieldValues& values) {
  Result<schema::RecordId> id = store_->create(entity, values);
  if (!id.is_ok()) [[unlikely]] {
    fail("create", id.status());
    return 0;
  }
  return *id;
}

void StoreShape::update_record(schema::RecordId id, const schema::FieldValues& values) {
  Status status = store_->update(id, values);
  if (!status.is_ok()) [[unlikely]] {
    fail("update", status);
  }
}

void StoreShape::link(schema::RecordId id, std::string_view relation, schema::RecordId other) {
  Status status = store_->link(id, relation, other);
  if (!status.is_ok()) [[unlikely]] {
    fail("link", status);
  }
}

void StoreShape::store_commit() {
  Result<CommitStats> result = store_->commit();
  if (!result.is_ok()) [[unlikely]] {
    fail("commit", result.status());
    return;
  }
  last_commit_ = *result;
}

double StoreShape::get(schema::RecordId id, std::string_view field) {
  Result<Value> value = store_->get(id, field);
  if (!value.is_ok()) [[unlikely]] {
    fail("get", value.status());
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (!value->is_double()) [[unlikely]] {
    fail("get", Status(StatusCode::invalid_argument,
                       std::string(field) + ": expected a double, got " + value->to_json()));
    return std::numeric_limits<double>::quiet_NaN();
  }
  return value->as_double();
}

}  // namespace mgraph::bench
