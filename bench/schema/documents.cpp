// Documents through the Store API, on one schema with three incremental aggregates over a
// 1:n relation:
//
//   entity Order { items: many Item via order
//                  n: int = count(items)  total: float = sum(items[*].price)
//                  largest: int = max(items[*].qty) }
//   entity Item  { price: float = 0  qty: int = 1 }
//
//   doc-load           loads D documents (10^6 unless --doc_load_documents says otherwise) in
//                      groups of one Order and 9 Items (create + link each Item), one commit
//                      per 1000 documents. One iteration loads everything (Iterations(1));
//                      items_per_second = documents per second. Afterwards every Order's n,
//                      total and largest are checked against plain C++ sums.
//   doc-update/N       a store of N documents: one Order and N - 1 Items linked to it. One
//                      iteration = one update touching one aggregate: Item k (mulberry32(3))
//                      gets a new price, commit, read Order.total. The checksum of the first
//                      1000 updates is checked against the same updates on a plain array.
//   doc-checkpoint     loads D documents as doc-load does (untimed), then times the two
//                      halves of a checkpoint: save (Store::export_image + encoding) and
//                      restore (decoding + import_image into a new Store). The restored
//                      store passes doc-load's check. Counters: save_s, restore_s,
//                      bytes_per_document, and the time to reload the same documents by
//                      running their mutations again (reload_s), which a log replay costs.
//   doc-update-hot/N   as doc-update/N, but k is drawn from the first 1000 Items only: the
//                      same work per update on a store of N documents whose touched part
//                      stays in cache, which separates the store's work from memory latency.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mgraph/codec/image_codec.hpp"
#include "schema/schema_common.hpp"

namespace mgraph::bench {
namespace {

using schema::FieldValues;
using schema::RecordId;

constexpr const char* kOrderSchema = R"(
entity Order {
  items: many Item via order
  n: int = count(items)
  total: float = sum(items[*].price)
  largest: int = max(items[*].qty)
}
entity Item { price: float = 0  qty: int = 1 }
)";

constexpr std::size_t kItemsPerOrder = 9;
constexpr std::size_t kGroup = 1 + kItemsPerOrder;
constexpr std::size_t kDocumentsPerCommit = 1000;
constexpr std::uint64_t kUpdateVerify = 1000;

/// Price and quantity of the item with 0-based load index j: small integers, so every sum
/// is exact in doubles and the plain C++ reference matches bit for bit.
double item_price(std::size_t j) { return static_cast<double>(j % 1000); }
std::int64_t item_qty(std::size_t j) { return static_cast<std::int64_t>(1 + (j * 7) % 13); }
/// New price of update u.
double update_price(std::uint64_t u) { return static_cast<double>((u * 31) % 1009); }

/// Loads `documents` documents into `store`; an error message, empty when all went well.
std::string load(schema::Store& store, std::size_t documents, std::vector<RecordId>* orders) {
  FieldValues item = {{"price", Value(0.0)}, {"qty", Value(std::int64_t{0})}};
  const FieldValues none;
  std::size_t item_index = 0;
  for (std::size_t done = 0; done < documents; done += kGroup) {
    Result<RecordId> order = store.create("Order", none);
    if (!order.is_ok()) [[unlikely]]
      return "create Order: " + order.status().to_string();
    orders->push_back(*order);
    for (std::size_t k = 0; k < kItemsPerOrder; ++k, ++item_index) {
      item[0].second = Value(item_price(item_index));
      item[1].second = Value(item_qty(item_index));
      Result<RecordId> id = store.create("Item", item);
      if (!id.is_ok()) [[unlikely]]
        return "create Item: " + id.status().to_string();
      Status linked = store.link(*id, "order", *order);
      if (!linked.is_ok()) [[unlikely]]
        return "link: " + linked.to_string();
    }
    if ((done + kGroup) % kDocumentsPerCommit == 0 || done + kGroup >= documents) {
      Result<CommitStats> committed = store.commit();
      if (!committed.is_ok()) [[unlikely]]
        return "commit: " + committed.status().to_string();
    }
  }
  return {};
}

/// Every Order's aggregates against plain C++ sums over the same items.
std::string check_load(schema::Store& store, const std::vector<RecordId>& orders) {
  std::size_t item_index = 0;
  for (RecordId order : orders) {
    double total = 0;
    std::int64_t largest = 0;
    for (std::size_t k = 0; k < kItemsPerOrder; ++k, ++item_index) {
      total += item_price(item_index);
      largest = std::max(largest, item_qty(item_index));
    }
    const Value expected[] = {Value(static_cast<std::int64_t>(kItemsPerOrder)), Value(total),
                              Value(largest)};
    const char* fields[] = {"n", "total", "largest"};
    for (int f = 0; f < 3; ++f) {
      Result<Value> got = store.get(order, fields[f]);
      if (!got.is_ok()) return "get: " + got.status().to_string();
      if (!(*got == expected[f])) {
        return "Order #" + std::to_string(order) + "." + fields[f] + " = " + got->to_json() +
               ", expected " + expected[f].to_json();
      }
    }
  }
  return {};
}

void doc_load(benchmark::State& state, std::size_t documents) {
  Result<std::shared_ptr<const schema::Schema>> compiled = compile_text("orders.mgs", kOrderSchema);
  if (!compiled.is_ok()) {
    report_failure("doc-load", compiled.status().to_string());
    state.SkipWithError("compile_schema failed");
    return;
  }
  std::string error;
  double rss_per_document = 0;
  double bytes_per_node = 0;
  double nodes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    trim_heap();
    const std::size_t rss_before = resident_bytes();
    auto store = std::make_unique<schema::Store>(*compiled);
    std::vector<RecordId> orders;
    orders.reserve(documents / kGroup);
    state.ResumeTiming();

    error = load(*store, documents, &orders);

    state.PauseTiming();
    rss_per_document =
        static_cast<double>(resident_bytes() - rss_before) / static_cast<double>(documents);
    nodes = static_cast<double>(store->graph().node_count());
    bytes_per_node = static_cast<double>(store->graph().memory_bytes()) / nodes;
    if (error.empty()) error = check_load(*store, orders);
    store.reset();
    state.ResumeTiming();
    if (!error.empty()) break;
  }
  if (!error.empty()) {
    report_failure("doc-load", error);
    state.SkipWithError(error.c_str());
    return;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * documents));
  state.counters["documents"] = static_cast<double>(documents);
  state.counters["nodes_per_document"] = nodes / static_cast<double>(documents);
  state.counters["bytes_per_node"] = bytes_per_node;
  state.counters["rss_bytes_per_document"] = rss_per_document;
}

void doc_checkpoint(benchmark::State& state, std::size_t documents) {
  Result<std::shared_ptr<const schema::Schema>> compiled = compile_text("orders.mgs", kOrderSchema);
  if (!compiled.is_ok()) {
    report_failure("doc-checkpoint", compiled.status().to_string());
    state.SkipWithError("compile_schema failed");
    return;
  }
  std::string error;
  double save_s = 0, restore_s = 0, reload_s = 0, bytes = 0;
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  for (auto _ : state) {
    auto store = std::make_unique<schema::Store>(*compiled);
    std::vector<RecordId> orders;
    const Clock::time_point t0 = Clock::now();
    error = load(*store, documents, &orders);
    const Clock::time_point t1 = Clock::now();
    if (!error.empty()) break;
    Result<schema::StoreImage> image = store->export_image();
    Result<std::string> encoded =
        image.is_ok() ? codec::encode_runner_image(schema::RunnerImage{std::move(image).value(), {}})
                      : Result<std::string>(image.status());
    const Clock::time_point t2 = Clock::now();
    store.reset();
    if (!encoded.is_ok()) {
      error = "save: " + encoded.status().to_string();
      break;
    }
    const Clock::time_point t3 = Clock::now();
    auto restored = std::make_unique<schema::Store>(*compiled);
    Result<schema::RunnerImage> decoded = codec::decode_runner_image(*encoded);
    const Status imported = decoded.is_ok() ? restored->import_image(std::move(decoded->store))
                                            : decoded.status();
    const Clock::time_point t4 = Clock::now();
    if (!imported.is_ok()) {
      error = "restore: " + imported.to_string();
      break;
    }
    error = check_load(*restored, orders);
    if (!error.empty()) break;
    reload_s = seconds(t0, t1);
    save_s = seconds(t1, t2);
    restore_s = seconds(t3, t4);
    bytes = static_cast<double>(encoded->size());
    state.SetIterationTime(save_s + restore_s);
  }
  if (!error.empty()) {
    report_failure("doc-checkpoint", error);
    state.SkipWithError(error.c_str());
    return;
  }
  state.counters["documents"] = static_cast<double>(documents);
  state.counters["save_s"] = save_s;
  state.counters["restore_s"] = restore_s;
  state.counters["reload_s"] = reload_s;
  state.counters["bytes_per_document"] = bytes / static_cast<double>(documents);
}

/// doc-update/N: one Order, N - 1 Items linked to it; updates pick among the first
/// `picked` Items.
class DocUpdate final : public StoreShape {
 public:
  DocUpdate(std::size_t documents, std::size_t picked)
      : items_count_(documents - 1), picked_(std::min(picked, documents - 1)), rng_(3) {
    if (!open("orders.mgs", kOrderSchema)) return;
    order_ = create("Order", {});
    FieldValues item = {{"price", Value(0.0)}, {"qty", Value(std::int64_t{0})}};
    prices_.reserve(items_count_);
    std::int64_t largest = 0;
    for (std::size_t j = 0; j < items_count_; ++j) {
      item[0].second = Value(item_price(j));
      item[1].second = Value(item_qty(j));
      prices_.push_back(item_price(j));
      largest = std::max(largest, item_qty(j));
      const RecordId id = create("Item", item);
      link(id, "order", order_);
      // Ids are consecutive (store.hpp, invariant 1): Item j is first_item_ + j, so an
      // update finds its id without a lookup table of its own to miss in.
      if (j == 0) first_item_ = id;
      if (id != first_item_ + j) {
        fail("build", Status(StatusCode::internal, "Item ids are not consecutive"));
        return;
      }
      if ((j + 2) % kDocumentsPerCommit == 0) store_commit();
    }
    store_commit();
    // The two aggregates the updates leave alone, against the plain values.
    Result<Value> n = store_->get(order_, "n");
    Result<Value> top = store_->get(order_, "largest");
    if (!n.is_ok() || !(*n == Value(static_cast<std::int64_t>(items_count_))) || !top.is_ok() ||
        !(*top == Value(largest))) {
      fail("build",
           Status(StatusCode::internal, "Order.n or Order.largest differs from the items"));
    }
    get(order_, "total");
    write_ = {{"price", Value(0.0)}};
  }

  double update(std::uint64_t u) override {
    const std::size_t k = rng_.next() % picked_;
    write_[0].second = Value(update_price(u));
    update_record(first_item_ + k, write_);
    store_commit();
    return get(order_, "total");
  }

  std::optional<double> computed_checksum(std::uint64_t updates) const override {
    std::vector<double> prices = prices_;
    double total = 0;
    for (double p : prices) total += p;
    Mulberry32 rng(3);
    double checksum = 0;
    for (std::uint64_t u = 1; u <= updates; ++u) {
      const std::size_t k = rng.next() % picked_;
      total += update_price(u) - prices[k];
      prices[k] = update_price(u);
      checksum += total;
    }
    return checksum;
  }

  void add_counters(benchmark::UserCounters& counters) const override {
    counters["documents"] = static_cast<double>(items_count_ + 1);
    counters["computed"] = static_cast<double>(last_commit_.computed);
  }

 private:
  std::size_t items_count_;
  std::size_t picked_;
  Mulberry32 rng_;
  RecordId order_ = 0;
  RecordId first_item_ = 0;
  std::vector<double> prices_;
  FieldValues write_;
};

}  // namespace

void register_document_benchmarks(std::size_t load_documents) {
  benchmark::RegisterBenchmark(
      "doc-load", [load_documents](benchmark::State& state) { doc_load(state, load_documents); })
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("doc-checkpoint",
                               [load_documents](benchmark::State& state) {
                                 doc_checkpoint(state, load_documents);
                               })
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond)
      ->UseManualTime();
  for (std::size_t n : {std::size_t{1000}, std::size_t{1000000}}) {
    register_shape({"doc-update/" + std::to_string(n), kUpdateVerify, std::nullopt,
                    [n] { return std::make_unique<DocUpdate>(n, n); }});
  }
  register_shape({"doc-update-hot/1000000", kUpdateVerify, std::nullopt,
                  [] { return std::make_unique<DocUpdate>(1000000, 1000); }});
}

}  // namespace mgraph::bench
