#include "encoding.hpp"
#include "store_impl.hpp"

namespace mgraph::persistence::detail {

Status put_meta(WriteTxn& txn, std::string_view key, std::string_view value) {
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  const std::size_t size = checksum_bytes + value.size();
  char* out = nullptr;
  Status s = txn.reserve(txn.store().meta_dbi, k, size, 0, &out, "mdb_put(meta)");
  if (!s) return s;
  fill_plain(out, value);
  seal(Db::meta, key, out, size);
  return Status::ok();
}

Result<std::optional<std::string>> get_meta(const StoreImpl& store, MDB_txn* txn,
                                            std::string_view key) {
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{};
  const int rc = mdb_get(txn, store.meta_dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != 0) return store.error(rc, "mdb_get(meta " + std::string(key) + ")");
  std::string out;
  Status s = decode_meta(store.data_file, k, v, out);
  if (!s) return s;
  return std::optional<std::string>(std::move(out));
}

Result<std::uint64_t> get_meta_u64(const StoreImpl& store, MDB_txn* txn, std::string_view key,
                                   std::uint64_t default_value) {
  auto value = get_meta(store, txn, key);
  if (!value) return value.status();
  if (!value->has_value()) return default_value;
  if ((*value)->size() != 8) {
    return Status(StatusCode::corruption, store.data_file + ": meta record '" + std::string(key) +
                                              "' holds " + std::to_string((*value)->size()) +
                                              " bytes, expected 8");
  }
  return get_u64((*value)->data());
}

}  // namespace mgraph::persistence::detail
