// Checkpoint images: values and session images survive encode/decode exactly, a
// session restored from an image continues exactly like the one it was taken from
// (undo and redo across the checkpoint included), and bad bytes give errors.

#include <gtest/gtest.h>

#include <bit>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/prng.hpp"
#include "mgraph/codec/image_codec.hpp"
#include "mgraph/graph/graph.hpp"
#include "mgraph/session/script_runner.hpp"

namespace mgraph::codec {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::shared_ptr<const schema::Schema> compile(const std::string& name, const std::string& text) {
  auto r = schema::compile_schema(schema::SourceFile{name, text});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return std::move(r).value();
}

/// The runner's image, encoded.
std::string checkpoint(session::ScriptRunner& runner) {
  Result<schema::RunnerImage> im = runner.export_image();
  EXPECT_TRUE(im.is_ok()) << im.status().message();
  Result<std::string> bytes = encode_runner_image(*im);
  EXPECT_TRUE(bytes.is_ok()) << bytes.status().message();
  return std::move(bytes).value();
}

void restore(session::ScriptRunner& runner, const std::string& bytes) {
  Result<schema::RunnerImage> im = decode_runner_image(bytes);
  ASSERT_TRUE(im.is_ok()) << im.status().message();
  const Status s = runner.import_image(std::move(im).value());
  ASSERT_TRUE(s.is_ok()) << s.message();
}

TEST(ImageCodec, ValuesRoundTrip) {
  const std::vector<Value> values = {
      Value(),
      Value(true),
      Value(false),
      Value(std::int64_t{-9'223'372'036'854'775'807 - 1}),
      Value(2.5),
      Value(std::nan("")),
      Value(""),
      Value("text with \0 inside and ünïcödé"),
      Value(Tensor::scalar(3)),
      Value(Tensor::make({2, 3}, {1, 2, 3, 4, 5, 6}).value()),
      Value(Tensor::make({1, 1, 2, 2}, {1, 2, 3, 4}).value()),
  };
  for (const Value& v : values) {
    Result<std::string> bytes = encode_value(v);
    ASSERT_TRUE(bytes.is_ok());
    Result<Value> back = decode_value(*bytes);
    ASSERT_TRUE(back.is_ok()) << back.status().message();
    EXPECT_EQ(*back, v) << v.to_json();
    EXPECT_EQ(back->type(), v.type());
  }
}

TEST(ImageCodec, BadBytesGiveErrorsNamingWhatIsWrong) {
  const std::string good = encode_value(Value("hello")).value();
  EXPECT_NE(decode_value("").status().message().find("no 'MGIM' prefix"), std::string::npos);
  EXPECT_NE(decode_value("XXXXXXXXXXXXXXXX").status().message().find("prefix"), std::string::npos);
  std::string future = good;
  future[4] = 9;
  const Status v = decode_value(future).status();
  EXPECT_EQ(v.code(), StatusCode::failed_precondition);
  EXPECT_NE(v.message().find("format version 9"), std::string::npos) << v.message();
  // Every truncation fails cleanly; so does every single-byte change of the framing.
  for (std::size_t len = 0; len < good.size(); ++len) {
    EXPECT_FALSE(decode_value(good.substr(0, len)).is_ok()) << "length " << len;
  }
  std::string trailing = good + std::string(8, '\0');
  EXPECT_FALSE(decode_value(trailing).is_ok());
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (const unsigned char x : {0x01, 0x80, 0xff}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ x);
      (void)decode_value(bad);  // must not crash (checked under ASan/UBSan)
    }
  }
}

TEST(ImageCodec, GraphImageRestoresValuesHistoryAndTrackedDependencies) {
  auto build = [](Graph& g, NodeId* a, NodeId* b, NodeId* sel, NodeId* pick, NodeId* lazy,
                  NodeId* lazy_a) {
    *a = g.add_variable(Value(1));
    *b = g.add_variable(Value(10));
    *sel = g.add_variable(Value(true));
    const NodeId va = *a, vb = *b, vs = *sel;
    *pick = g.add_formula([=](Context& c) { return c.read(vs).as_bool() ? c.read(va) : c.read(vb); });
    FieldSpec spec;
    spec.evaluation = Evaluation::lazy;
    spec.dependencies = Dependencies::declared;
    spec.formula = [](Context& c) { return Value(c.input(0).as_int() * 2); };
    const SpecId s = g.add_spec(std::move(spec));
    *lazy = g.add_derived(s, {*pick}).value();
    *lazy_a = g.add_derived(s, {*a}).value();
  };
  Graph g(GraphOptions{8});
  NodeId a, b, sel, pick, lazy, lazy_a;
  build(g, &a, &b, &sel, &pick, &lazy, &lazy_a);
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.write(a, Value(2)).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(g.read(lazy), Value(4));
  ASSERT_TRUE(g.write(sel, Value(false)).is_ok());  // pick now depends on b, not a
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.write(b, Value(20)).is_ok());
  ASSERT_TRUE(g.commit().is_ok());  // lazy stays stale: nobody read it
  EXPECT_EQ(g.read(lazy_a), Value(4));  // a computation outside any transaction

  const std::string bytes = encode_graph_image(g.export_image().value()).value();
  Graph h(GraphOptions{8});
  NodeId a2, b2, sel2, pick2, lazy2, lazy_a2;
  build(h, &a2, &b2, &sel2, &pick2, &lazy2, &lazy_a2);
  ASSERT_TRUE(h.import_image(decode_graph_image(bytes).value()).is_ok());
  EXPECT_EQ(h.revision(), g.revision());
  EXPECT_TRUE(h.is_stale(lazy2));
  EXPECT_EQ(std::vector<NodeId>(h.dependencies(pick2).begin(), h.dependencies(pick2).end()),
            std::vector<NodeId>(g.dependencies(pick).begin(), g.dependencies(pick).end()));
  // Both continue alike: a write to `a` no longer reaches pick; undo walks back past
  // the checkpoint on both.
  for (Graph* x : {&g, &h}) {
    ASSERT_TRUE(x->write(a, Value(5)).is_ok());
    const CommitStats st = x->commit().value();
    EXPECT_EQ(st.computed, 0u);
    EXPECT_EQ(x->read(lazy), Value(40));
    for (int k = 0; k < 3; ++k) ASSERT_TRUE(x->undo().is_ok());  // back to revision 2
    EXPECT_EQ(x->read(pick), Value(2));
    EXPECT_EQ(x->read(lazy), Value(4));
    EXPECT_EQ(x->read(lazy_a), Value(4));
    ASSERT_TRUE(x->redo().is_ok());
    EXPECT_TRUE(x->check_invariants().is_ok());
  }
  EXPECT_EQ(encode_graph_image(g.export_image().value()).value(),
            encode_graph_image(h.export_image().value()).value());

  // Another structure refuses the image, changing nothing.
  Graph other;
  other.add_variable(Value(1));
  const Status s = other.import_image(decode_graph_image(bytes).value());
  EXPECT_EQ(s.code(), StatusCode::failed_precondition);
  EXPECT_NE(s.message().find("another structure"), std::string::npos) << s.message();
  EXPECT_EQ(other.read(0), Value(1));
  // Inside a transaction there is no image.
  ASSERT_TRUE(g.write(a, Value(7)).is_ok());
  EXPECT_EQ(g.export_image().status().code(), StatusCode::failed_precondition);
  g.reject();
}

TEST(ImageCodec, ImportRejectsInconsistentImages) {
  Graph g;
  const NodeId a = g.add_variable(Value(1));
  const NodeId d = g.add_formula([a](Context& c) { return c.read(a); });
  ASSERT_TRUE(g.commit().is_ok());
  const GraphImage good = g.export_image().value();
  auto expect_refused = [&](GraphImage im, const char* what) {
    Graph h;
    const NodeId a2 = h.add_variable(Value(1));
    h.add_formula([a2](Context& c) { return c.read(a2); });
    ASSERT_TRUE(h.commit().is_ok());
    const Status s = h.import_image(std::move(im));
    EXPECT_FALSE(s.is_ok()) << what;
    EXPECT_TRUE(h.check_invariants().is_ok()) << what;
  };
  GraphImage im = good;
  im.values.pop_back();
  expect_refused(im, "short values");
  im = good;
  im.dep_ids.push_back(99);
  im.dep_offsets.back() += 1;
  expect_refused(im, "dependency out of range");
  im = good;
  im.meta[a] |= 1;  // a stale variable
  expect_refused(im, "stale variable");
  im = good;
  im.last_changed.push_back(1000);
  expect_refused(im, "node list out of range");
  im = good;
  im.revision = im.next_revision;
  expect_refused(im, "revisions");
  (void)d;
}

/// A graph for the invariant checks below: variables a and b, strict d = a, e = d + 1,
/// and lazy l = d * 2, committed, with l read (so computed, and fresh).
struct Diamond {
  Graph g;
  NodeId a, b, d, e, l;
  Diamond() {
    a = g.add_variable(Value(1));
    b = g.add_variable(Value(2));
    const NodeId va = a;
    d = g.add_formula([va](Context& c) { return c.read(va); });
    const NodeId vd = d;
    e = g.add_formula([vd](Context& c) { return Value(c.read(vd).as_int() + 1); });
    FieldSpec spec;
    spec.evaluation = Evaluation::lazy;
    spec.formula = [](Context& c) { return Value(c.input(0).as_int() * 2); };
    l = g.add_derived(g.add_spec(std::move(spec)), {d}).value();
    EXPECT_TRUE(g.commit().is_ok());
    EXPECT_EQ(g.read(l), Value(2));
  }
};

/// Removes the first `id` from list `node` of an offsets + ids encoding.
void drop_from_list(std::vector<std::uint64_t>* offsets, std::vector<NodeId>* ids, NodeId node,
                    NodeId id) {
  for (std::uint64_t k = (*offsets)[node]; k < (*offsets)[node + 1]; ++k) {
    if ((*ids)[k] != id) continue;
    ids->erase(ids->begin() + static_cast<std::ptrdiff_t>(k));
    for (std::size_t i = node + 1; i < offsets->size(); ++i) --(*offsets)[i];
    return;
  }
  ADD_FAILURE() << id << " is not in list " << node;
}

// Found by mgraph_image_fuzz: import_image checked that every node id was in range but
// not that the state was consistent, so it accepted images that broke invariants 1-4
// (an edge listed on one side only, a node not above its input, a stale node with a
// fresh dependent), leaving a graph that marks and computes wrongly.
TEST(ImageCodec, ImportRejectsImagesThatBreakGraphInvariants) {
  Diamond base;
  const GraphImage good = base.g.export_image().value();
  // d is fresh, strict and one above a variable: its meta is exactly 1 << the height shift.
  const int height_shift = std::countr_zero(good.meta[base.d]);
  ASSERT_EQ(good.meta[base.d], 1u << height_shift);
  auto import_into_fresh = [](GraphImage im) {
    Diamond h;
    const Status s = h.g.import_image(std::move(im));
    EXPECT_TRUE(h.g.check_invariants().is_ok());
    return s;
  };
  ASSERT_TRUE(import_into_fresh(good).is_ok());
  auto expect_refused = [&](GraphImage im, const char* what, const char* message) {
    const Status s = import_into_fresh(std::move(im));
    EXPECT_EQ(s.code(), StatusCode::invalid_argument) << what;
    EXPECT_NE(s.message().find(message), std::string::npos) << what << ": " << s.message();
  };

  GraphImage im = good;
  drop_from_list(&im.rdep_offsets, &im.rdep_ids, base.a, base.d);
  expect_refused(im, "a dependency without its dependent entry", "do not list the same edges");
  im = good;
  drop_from_list(&im.dep_offsets, &im.dep_ids, base.d, base.a);
  expect_refused(im, "a dependent entry without its dependency", "do not list the same edges");
  im = good;
  im.meta[base.e] = good.meta[base.d];  // e at d's height
  expect_refused(im, "a node not above its input", "is not above its input");
  im = good;
  im.meta[base.b] |= 1u << height_shift;
  expect_refused(im, "a variable with a height", "variable 1 has height 1");
  im = good;
  im.meta[base.d] |= 1;  // stale, while e and l are fresh
  expect_refused(im, "a stale node with fresh dependents", "is stale but its dependent");
  im = good;
  im.meta[base.e] |= 1;
  expect_refused(im, "a stale strict node outside a transaction", "eager node 3 is stale");

  // Consistent staleness stays accepted: a stale lazy field, and a never-computed node.
  im = good;
  im.meta[base.l] |= 1;
  EXPECT_TRUE(import_into_fresh(im).is_ok());
}

/// Runs an example's script with a checkpoint after every line: the restored session
/// prints exactly what the original prints for the rest of the script.
TEST(ImageCodec, FailedAndBlockedFieldsKeepTheirStateAcrossAnImageAndRecover) {
  const auto schema = compile("t.mgs",
                              "entity Item {\n  price: float = 100\n  qty: int = 4\n"
                              "  unit: float = price / qty\n  net: float = unit * 0.8\n}\n");
  const schema::StoreOptions options{.history_limit = 16, .placement = {}};
  session::ScriptRunner a(schema, options);
  std::string out;
  for (const char* line : {"create Item i1", "commit", "update i1 qty=0", "commit"}) {
    ASSERT_TRUE(a.run_line(line, 1, &out)) << out;
  }
  out.clear();
  a.run_line("get i1.net", 1, &out);
  ASSERT_NE(out.find("\"state\":\"blocked\""), std::string::npos) << out;
  const std::string bytes = checkpoint(a);
  session::ScriptRunner b(schema, options);
  restore(b, bytes);
  // The same states, reasons and causes; the same image again.
  for (const char* line : {"get i1.unit", "get i1.net"}) {
    std::string out_a, out_b;
    a.run_line(line, 1, &out_a);
    b.run_line(line, 1, &out_b);
    EXPECT_EQ(out_a, out_b) << line;
  }
  EXPECT_NE(out.find("Item.unit: the result is infinite"), std::string::npos) << out;
  EXPECT_EQ(checkpoint(b), bytes);
  // Both recover alike when the input changes, and undo back past the image brings the
  // failed state back on both.
  for (session::ScriptRunner* x : {&a, &b}) {
    std::string o;
    ASSERT_TRUE(x->run_line("update i1 qty=5", 1, &o)) << o;
    ASSERT_TRUE(x->run_line("commit", 1, &o)) << o;
    o.clear();
    x->run_line("get i1.net", 1, &o);
    EXPECT_NE(o.find("\"value\":16"), std::string::npos) << o;
    EXPECT_EQ(o.find("\"state\""), o.find("\"state\":\"ok\"")) << o;
    ASSERT_TRUE(x->run_line("undo", 1, &o)) << o;
    o.clear();
    x->run_line("get i1.unit", 1, &o);
    EXPECT_NE(o.find("\"state\":\"failed\""), std::string::npos) << o;
  }
  EXPECT_EQ(checkpoint(a), checkpoint(b));
}

TEST(ImageCodec, ImportRejectsConditionsAFieldCannotHave) {
  Graph g;
  const NodeId a = g.add_variable(Value(1));
  const NodeId f = g.add_formula([a](Context& c) { return c.read(a); });
  ASSERT_TRUE(g.commit().is_ok());
  const GraphImage good = g.export_image().value();
  auto refused = [&](ConditionEntry c, const char* what) {
    GraphImage im = good;
    im.conditions.push_back(std::move(c));
    Graph h;
    h.add_variable(Value(1));
    h.add_formula([a](Context& c) { return c.read(a); });
    ASSERT_TRUE(h.commit().is_ok());
    const Status s = h.import_image(decode_graph_image(encode_graph_image(im).value()).value());
    EXPECT_EQ(s.code(), StatusCode::invalid_argument) << what;
    EXPECT_NE(s.message().find("is no condition it may have"), std::string::npos) << what << ": " << s.message();
    EXPECT_EQ(h.condition(f).state, FieldState::ok) << what;
  };
  refused({f, {FieldState::ok, kNoNode, {}}}, "an ok entry");
  refused({f, {FieldState::failed, a, "x"}}, "failed naming another field");
  refused({f, {FieldState::blocked, f, {}}}, "blocked by itself");
  refused({a, {FieldState::failed, a, "x"}}, "a failed variable");
  refused({f, {static_cast<FieldState>(7), f, {}}}, "no state");
  refused({99, {FieldState::failed, 99, "x"}}, "a node out of range");
}

void check_example(const std::string& name) {
  const std::string dir = MGRAPH_EXAMPLES_DIR;
  const std::string schema_text = read_file(dir + "/" + name + ".mgs");
  const std::vector<std::string> lines = lines_of(read_file(dir + "/" + name + ".mgscript"));
  ASSERT_FALSE(lines.empty());
  const auto schema = compile(name + ".mgs", schema_text);
  for (std::size_t cut = 0; cut <= lines.size(); ++cut) {
    session::ScriptRunner a(schema, schema::StoreOptions{.history_limit = 64, .placement = {}});
    std::string out_a, out_b;
    for (std::size_t i = 0; i < cut; ++i) a.run_line(lines[i], i + 1, &out_a);
    Result<schema::RunnerImage> im = a.export_image();
    if (!im.is_ok()) {
      // Only inside an open transaction; the runner then has uncommitted lines.
      EXPECT_EQ(im.status().code(), StatusCode::failed_precondition) << im.status().message();
      continue;
    }
    session::ScriptRunner b(schema, schema::StoreOptions{.history_limit = 64, .placement = {}});
    restore(b, encode_runner_image(*im).value());
    for (std::size_t i = cut; i < lines.size(); ++i) {
      out_a.clear();
      out_b.clear();
      const bool ok_a = a.run_line(lines[i], i + 1, &out_a);
      const bool ok_b = b.run_line(lines[i], i + 1, &out_b);
      ASSERT_EQ(ok_a, ok_b) << name << ": cut " << cut << ", line " << i + 1 << ": " << lines[i];
      ASSERT_EQ(out_a, out_b) << name << ": cut " << cut << ", line " << i + 1 << ": " << lines[i];
    }
    if (a.export_image().is_ok()) {
      EXPECT_EQ(checkpoint(a), checkpoint(b)) << name << " cut " << cut;
    }
  }
}

TEST(ImageCodec, RestoredExampleSessionsContinueExactly) {
  for (const char* name :
       {"order_total", "related_count", "stream_stats", "task_schedule", "script_errors",
        "relation_property"}) {
    SCOPED_TRACE(name);
    check_example(name);
  }
}

// Aggregates over a state field and over a derived one (twice): the engine may keep them
// in different kinds of nodes, whose structure flags an import must keep.
constexpr const char* kShop = R"(
entity Order {
  items: many Item via order
  n: int = count(items)
  total: float = sum(items[*].price)
  low: float = min(items[*].price)
  all: bool = every(items[*].flag)
  big: bool = total > 100
  effect shipped: counter when big
  twice_total: float = sum(items[*].twice)
  twice_high: float = max(items[*].twice)
}
entity Item { price: float = 0  flag: bool = false  twice: float = price * 2 }
)";

using Rng = mgraph::testing::Prng;

/// A random script line over kShop with records 1..n.
std::string random_line(Rng& rng, std::uint64_t n) {
  const std::uint64_t p = rng.below(100);
  const std::string r = std::to_string(1 + rng.below(n + 1));
  const std::string r2 = std::to_string(1 + rng.below(n + 1));
  if (p < 10) return "create Order";
  if (p < 25) return "create Item price=" + std::to_string(rng.below(80)) + " flag=true";
  if (p < 40) return "update #" + r + " price=" + std::to_string(rng.below(80));
  if (p < 55) return "link #" + r + ".items #" + r2;
  if (p < 62) return "unlink #" + r + ".items #" + r2;
  if (p < 66) return "delete #" + r;
  if (p < 70) return "ack #" + r + ".shipped";
  if (p < 76) return "undo";
  if (p < 80) return "redo";
  if (p < 83) return "reject";
  if (p < 90) return "get #" + r + (rng.below(2) ? ".total" : ".low");
  return "commit";
}

TEST(ImageCodec, RestoredRandomSessionsContinueExactly) {
  const auto schema = compile("shop.mgs", kShop);
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    Rng rng(seed);
    std::vector<std::string> script;
    for (int i = 0; i < 400; ++i) script.push_back(random_line(rng, 1 + script.size() / 8));
    session::ScriptRunner a(schema, schema::StoreOptions{.history_limit = 16, .placement = {}});
    std::string out;
    std::size_t cut = 0;
    // Run to a random commit point past the middle, where an image can be taken.
    for (std::size_t i = 0; i < script.size(); ++i) {
      a.run_line(script[i], i + 1, &out);
      if (i > 150 + rng.below(100) && a.export_image().is_ok()) {
        cut = i + 1;
        break;
      }
    }
    ASSERT_GT(cut, 0u) << "seed " << seed;
    session::ScriptRunner b(schema, schema::StoreOptions{.history_limit = 16, .placement = {}});
    restore(b, checkpoint(a));
    for (std::size_t i = cut; i < script.size(); ++i) {
      std::string out_a, out_b;
      const bool ok_a = a.run_line(script[i], i + 1, &out_a);
      const bool ok_b = b.run_line(script[i], i + 1, &out_b);
      ASSERT_EQ(ok_a, ok_b) << "seed " << seed << " line " << i + 1 << ": " << script[i];
      ASSERT_EQ(out_a, out_b) << "seed " << seed << " line " << i + 1 << ": " << script[i];
    }
    a.run_line("reject", 0, &out);
    b.run_line("reject", 0, &out);
    EXPECT_EQ(checkpoint(a), checkpoint(b)) << "seed " << seed;
    EXPECT_TRUE(b.store().graph().check_invariants().is_ok());
  }
}

TEST(ImageCodec, SessionImagesRefuseAnotherSchemaAndCorruption) {
  const auto shop = compile("shop.mgs", kShop);
  session::ScriptRunner a(shop);
  std::string out;
  for (const char* line : {"create Order o", "create Item i price=5", "link o.items i", "commit"})
    ASSERT_TRUE(a.run_line(line, 1, &out)) << out;
  const std::string bytes = checkpoint(a);

  const auto other = compile("other.mgs", "entity Thing { x: int = 0  y: int = x + 1 }");
  session::ScriptRunner b(other);
  Result<schema::RunnerImage> im = decode_runner_image(bytes);
  ASSERT_TRUE(im.is_ok());
  EXPECT_FALSE(b.import_image(std::move(im).value()).is_ok());

  for (std::size_t len = 0; len < bytes.size(); len += 7) {
    EXPECT_FALSE(decode_runner_image(bytes.substr(0, len)).is_ok()) << "length " << len;
  }
  // Flipped bytes: decoding or importing may fail or not, but never crashes (ASan/UBSan).
  // Catching corruption is the storage's checksum's job (CRC-32C on every record).
  Rng rng(7);
  for (int k = 0; k < 300; ++k) {
    std::string bad = bytes;
    bad[8 + rng.below(bad.size() - 8)] ^= static_cast<char>(1 + rng.below(255));
    Result<schema::RunnerImage> d = decode_runner_image(bad);
    if (!d.is_ok()) continue;
    session::ScriptRunner c(shop);
    (void)c.import_image(std::move(d).value());
  }
}

// The same check on a session image (the fuzzer's first finding was of this kind): an
// aggregate's input edge dropped from its dependents' side.
TEST(ImageCodec, SessionImportRejectsAnEdgeListedOnOneSide) {
  const auto shop = compile("shop.mgs", kShop);
  session::ScriptRunner a(shop);
  std::string out;
  for (const char* line : {"create Order o", "create Item i price=5", "link o.items i", "commit"})
    ASSERT_TRUE(a.run_line(line, 1, &out)) << out;
  schema::RunnerImage im = a.export_image().value();
  GraphImage& g = im.store.graph;
  NodeId input = kNoNode;
  for (NodeId x = 0; x + 1 < g.dep_offsets.size() && input == kNoNode; ++x) {
    if (g.dep_offsets[x + 1] > g.dep_offsets[x]) {
      input = g.dep_ids[g.dep_offsets[x]];
      drop_from_list(&g.rdep_offsets, &g.rdep_ids, input, x);
    }
  }
  ASSERT_NE(input, kNoNode);
  session::ScriptRunner b(shop);
  const Status s = b.import_image(decode_runner_image(encode_runner_image(im).value()).value());
  EXPECT_EQ(s.code(), StatusCode::invalid_argument);
  EXPECT_NE(s.message().find("do not list the same edges"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace mgraph::codec
