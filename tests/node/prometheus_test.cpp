// The metrics as Prometheus sees them: two mgraphd processes on 127.0.0.1 (ports from the
// OS; n1 coordinates with an LMDB epoch log, n2 takes the client), a script run through
// `mgraph eval --connect`, and a real Prometheus server (Debian package prometheus) started
// with a generated configuration that scrapes both nodes every second and loads the shipped
// rules. Its HTTP API must show exactly what the nodes counted. The shipped dashboard's and
// rules' queries run on that server, and every metric they name must be exported by a
// running node. Without the prometheus binary these tests fail: scripts/setup.sh installs it.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/child_process.hpp"
#include "support/http_get.hpp"
#include "support/metrics_text.hpp"
#include "support/node_processes.hpp"

namespace mgraph::node {
namespace {

namespace fs = std::filesystem;
using mgraph::testing::ChildProcess;

constexpr int kSilenceMs = 60'000;  ///< watchdog on every wait for a node
/// How long Prometheus may take to start, scrape and show every expected value: it scrapes
/// every second, so a few seconds suffice; the bound only keeps a broken run finite.
constexpr auto kPrometheusDeadline = std::chrono::seconds(60);
const fs::path kSource = MGRAPH_SOURCE_DIR;

/// The path of `program` on PATH; "" when it is not installed.
std::string find_program(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const fs::path candidate = fs::path(dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

constexpr const char* kMissing =
    " is not installed: it comes with the Debian package prometheus, which scripts/setup.sh "
    "installs (apt-get install prometheus)";

/// A Prometheus server in a child process, its output in a log file; stopped (SIGTERM, then
/// SIGKILL after 10 s) however the test ends.
class PrometheusServer {
 public:
  PrometheusServer(const std::string& binary, const fs::path& config, const fs::path& data,
                   const fs::path& log, int port)
      : log_(log), port_(port) {
    const std::vector<std::string> args = {
        binary, "--config.file=" + config.string(), "--storage.tsdb.path=" + data.string(),
        "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=warn"};
    // Built before fork: the child makes only async-signal-safe calls until exec.
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~PrometheusServer() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    // Polls its exit, at most 10 s, then kills it.
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      ::usleep(20'000);  // between polls of a process's exit, not a synchronisation
    }
  }
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  bool started() const { return pid_ > 0; }
  /// Whether it still runs (it exits at once on a bad configuration or rule file).
  bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  std::string log() const {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  /// GET /api/v1/query?query=PROMQL, parsed; null when it does not answer JSON.
  nlohmann::json query(const std::string& promql) const {
    const testing::HttpResponse r =
        testing::http_get(port_, "/api/v1/query?query=" + testing::url_escape(promql));
    if (r.status == 0) return nullptr;
    return nlohmann::json::parse(r.body, nullptr, false);
  }
  bool ready() const { return testing::http_get(port_, "/-/ready", 2'000).status == 200; }

 private:
  fs::path log_;
  int port_;
  pid_t pid_ = -1;
};

/// Every query string of the shipped dashboard (`expr` anywhere in its JSON model).
std::vector<std::string> dashboard_queries(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if (key == "expr" && value.is_string()) {
        out.push_back(value.get<std::string>());
        continue;
      }
      for (std::string& q : dashboard_queries(value)) out.push_back(std::move(q));
    }
  } else if (j.is_array()) {
    for (const nlohmann::json& v : j) {
      for (std::string& q : dashboard_queries(v)) out.push_back(std::move(q));
    }
  }
  return out;
}

/// Every `expr:` of the shipped rules file, one line each (the file keeps them so).
std::vector<std::string> rule_queries(const fs::path& file, std::string* error) {
  std::ifstream in(file);
  if (!in) *error = file.string() + ": cannot read";
  std::vector<std::string> out;
  int line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    const std::size_t at = line.find("expr:");
    if (at == std::string::npos || line.find_first_not_of(' ') != at) continue;
    std::string expr = line.substr(at + 5);
    expr.erase(0, expr.find_first_not_of(' '));
    if (expr.empty() || expr == "|" || expr == ">") {
      *error = file.string() + ":" + std::to_string(line_number) +
               ": keep each expr on one line (the test reads the metric names from it)";
    }
    out.push_back(expr);
  }
  return out;
}

/// The metric names a query uses: identifiers outside quoted strings that start with
/// "mgraph_", and Prometheus's own "up". (A scanner, not std::regex: GCC 12 warns about
/// its own <regex> under the sanitizers' flags.)
std::set<std::string> metric_names(const std::string& query) {
  auto starts = [](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
  };
  auto continues = [&](char c) { return starts(c) || std::isdigit(static_cast<unsigned char>(c)); };
  std::set<std::string> names;
  // Each pass consumes a quoted string, an identifier or one other character.
  for (std::size_t i = 0; i < query.size();) {
    if (query[i] == '"' || query[i] == '\'' || query[i] == '`') {
      const char quote = query[i++];
      while (i < query.size() && query[i] != quote) i += query[i] == '\\' ? 2 : 1;
      ++i;
    } else if (starts(query[i])) {
      const std::size_t from = i;
      while (i < query.size() && continues(query[i])) ++i;
      const std::string word = query.substr(from, i - from);
      if (word.rfind("mgraph_", 0) == 0 || word == "up") names.insert(word);
    } else {
      ++i;
    }
  }
  return names;
}

/// `text` with every `from` replaced by `to`.
std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

/// A dashboard query as Prometheus takes it: Grafana's variables given values.
std::string without_grafana_variables(std::string q) {
  q = replace_all(std::move(q), "$__rate_interval", "1m");
  q = replace_all(std::move(q), "${instance}", ".+");
  return replace_all(std::move(q), "$instance", ".+");
}

/// The port a node printed before `what` ("(peers)" or "(clients)"); 0 if it did not.
int port_of(ChildProcess& c, const std::string& what) {
  if (!c.read_until(what, kSilenceMs)) return 0;
  const std::size_t end = c.printed.find(" " + what);
  const std::size_t colon = c.printed.rfind(':', end);
  return std::atoi(c.printed.substr(colon + 1, end - colon - 1).c_str());
}

/// The port of "metrics on port N" (printed before the node listens); 0 if it did not.
int metrics_port_of(const ChildProcess& c) {
  const std::string key = "metrics on port ";
  const std::size_t at = c.printed.find(key);
  return at == std::string::npos ? 0 : std::atoi(c.printed.c_str() + at + key.size());
}

/// A small schema, and a configuration of two nodes serving it: n1 coordinates and hosts
/// partition 0, n2 hosts partitions 1 and 2. Its effect is raised only above 100.
constexpr const char* kSchema =
    "entity A { x: int = 0  y: int = x * 2  effect big: bool when x > 100 }\n";
constexpr const char* kConfig = R"([cluster]
schema = "schema.mgs"
partitions = 3

[[node]]
name = "n1"
coordinator = true
partitions = [0]

[[node]]
name = "n2"
partitions = [1, 2]
)";

/// Two nodes serving a small schema: n1 coordinates (partition 0, epoch log in LMDB), n2
/// hosts partitions 1 and 2 and serves the client. Both serve /metrics on OS-chosen ports.
std::string prometheus_config(const std::vector<std::string>& targets, const fs::path& rules);

class Metrics : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mgraph::testing::no_leak_report_in_nodes(); }
  void SetUp() override {
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = fs::temp_directory_path() /
           ("mgraph_prometheus_" + std::to_string(::getpid()) + "_" + test.substr(0, 20));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    write("schema.mgs", kSchema);
    const std::string config = write("cluster.toml", kConfig);
    n1_ = ChildProcess::spawn({MGRAPHD_BINARY, "--config", config, "--node", "n1", "--data",
                               (dir_ / "n1-data").string(), "--metrics", "127.0.0.1:0"});
    const int n1_peer = port_of(n1_, "(peers)");
    ASSERT_GT(n1_peer, 0) << n1_.printed;
    n1_metrics_ = metrics_port_of(n1_);
    n2_ = ChildProcess::spawn({MGRAPHD_BINARY, "--config", config, "--node", "n2", "--peer",
                               "n1=127.0.0.1:" + std::to_string(n1_peer), "--metrics",
                               "127.0.0.1:0"});
    n2_client_ = port_of(n2_, "(clients)");
    ASSERT_GT(n2_client_, 0) << n2_.printed;
    n2_metrics_ = metrics_port_of(n2_);
    ASSERT_TRUE(n2_.read_until("ready", kSilenceMs)) << n2_.printed;
    ASSERT_GT(n1_metrics_, 0) << n1_.printed;
    ASSERT_GT(n2_metrics_, 0) << n2_.printed;
  }
  void TearDown() override {
    for (ChildProcess* c : {&n2_, &n1_}) {
      if (c->pid > 0) {
        ::kill(c->pid, SIGTERM);
        EXPECT_EQ(c->finish(kSilenceMs), 0) << c->printed;
      }
    }
    fs::remove_all(dir_);
  }

  std::string write(const std::string& name, const std::string& text) const {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  /// A Prometheus server (the binary `prometheus`) scraping both nodes with the shipped
  /// rules, on a port from the OS; null when it could not be started.
  std::unique_ptr<PrometheusServer> scrape_both(const std::string& prometheus) {
    const std::string config = write(
        "prometheus.yml",
        prometheus_config({"127.0.0.1:" + std::to_string(n1_metrics_), "127.0.0.1:" + std::to_string(n2_metrics_)},
                          kSource / "cluster-configs" / "prometheus-rules.yml"));
    const int port = mgraph::testing::free_loopback_port();
    if (port <= 0) return nullptr;
    auto server = std::make_unique<PrometheusServer>(prometheus, config, dir_ / "tsdb", dir_ / "prometheus.log", port);
    if (!server->started()) return nullptr;
    return server;
  }
  /// Runs `script` through `mgraph eval --connect` to n2; its exit code.
  int run_script(const std::string& script) {
    ChildProcess c = ChildProcess::spawn(
        {MGRAPH_BINARY, "eval", "--connect", "127.0.0.1:" + std::to_string(n2_client_), "--script",
         write("s.mgscript", script)},
        true);
    const int rc = c.finish(kSilenceMs);
    script_output_ = c.printed;
    return rc;
  }
  /// A consumer of A.big through n2 that takes `max` deliveries and acks each; its exit code.
  int consume(int max) {
    ChildProcess c =
        ChildProcess::spawn({"/usr/bin/env", "-u", "MGRAPH_TOKEN", MGRAPH_BINARY, "effects",
                             "consume", "--connect", "127.0.0.1:" + std::to_string(n2_client_),
                             "A.big", "--max", std::to_string(max), "--poll-ms", "20"},
                            true);
    const int rc = c.finish(kSilenceMs);
    script_output_ = c.printed;
    return rc;
  }

  fs::path dir_;
  ChildProcess n1_, n2_;
  int n1_metrics_ = 0, n2_metrics_ = 0, n2_client_ = 0;
  std::string script_output_;
};

/// 1 + kUpdates committed epochs, a rejected one, a read (no epoch) and a failed update
/// whose commit changes nothing: what the nodes must count.
constexpr int kUpdates = 5;
std::string workload_script() {
  std::string s = "create A a x=1\ncommit\n";
  for (int i = 0; i < kUpdates; ++i) s += "update a x=" + std::to_string(i + 2) + "\ncommit\n";
  return s + "update a x=99\nreject\nget a.y\nupdate a nosuch=1\ncommit\n";
}
constexpr int kCommitted = 1 + kUpdates, kAborted = 2;
constexpr int kWritesOk = 1 + kUpdates + 1, kWritesFailed = 1, kReadsOk = 1;

/// A Prometheus configuration that scrapes `targets` ("HOST:PORT") every second as the job
/// "mgraph" and loads the rules in `rules`.
std::string prometheus_config(const std::vector<std::string>& targets, const fs::path& rules) {
  std::string list;
  for (const std::string& t : targets)
    list += std::string(list.empty() ? "" : ", ") + "\"" + t + "\"";
  return std::string("global:\n") +
         "  scrape_interval: 1s\n"
         "  scrape_timeout: 1s\n"
         "  evaluation_interval: 1s\n"
         "rule_files:\n"
         "  - " +
         rules.string() + "\n" +
         "scrape_configs:\n"
         "  - job_name: mgraph\n"
         "    static_configs:\n"
         "      - targets: [" +
         list + "]\n";
}

/// Between two rounds of polling Prometheus, which scrapes and evaluates once a second: a
/// pause that keeps the loop from spinning, not a synchronisation (each round checks).
void pace_polls() { ::usleep(200'000); }

/// One value a query must show, for one series.
struct Expected {
  std::string query;
  std::function<bool(double)> holds;
  std::string what;  ///< the expectation in words, for the failure message
};
Expected equals(std::string query, double v) {
  return {std::move(query), [v](double x) { return x == v; }, "== " + std::to_string(v)};
}
Expected positive(std::string query) {
  return {std::move(query), [](double x) { return x > 0; }, "> 0"};
}

/// The single sample's value of an instant query's answer; "" and false when the answer
/// is not exactly one sample.
bool single_value(const nlohmann::json& answer, double* value, std::string* shown) {
  *shown = answer.dump();
  if (!answer.is_object() || answer.value("status", "") != "success") return false;
  const nlohmann::json& result = answer["data"]["result"];
  if (!result.is_array() || result.size() != 1) return false;
  *value = std::stod(result[0]["value"][1].get<std::string>());
  return true;
}

/// Polls every expectation until all hold or the deadline passes (Prometheus scrapes once
/// a second); a failure for each that does not.
void expect_all(const PrometheusServer& server, const std::vector<Expected>& expected) {
  std::vector<std::string> failing;
  const auto until = std::chrono::steady_clock::now() + kPrometheusDeadline;
  for (int round = 0;; ++round) {
    if (round > 0) {
      if (failing.empty() || std::chrono::steady_clock::now() >= until) break;
      pace_polls();
    }
    ASSERT_TRUE(server.running()) << "prometheus stopped:\n" << server.log();
    failing.clear();
    if (!server.ready()) {
      failing.push_back("prometheus is not ready");
      continue;
    }
    for (const Expected& e : expected) {
      double value = 0;
      std::string shown;
      if (!single_value(server.query(e.query), &value, &shown) || !e.holds(value)) {
        failing.push_back(e.query + " should be " + e.what + "; Prometheus answered " + shown);
      }
    }
  }
  for (const std::string& f : failing) ADD_FAILURE() << f;
  ASSERT_TRUE(failing.empty()) << "prometheus log:\n" << server.log();
}

TEST_F(Metrics, ARealPrometheusServerScrapesWhatTheNodesCounted) {
  const std::string prometheus = find_program("prometheus");
  ASSERT_FALSE(prometheus.empty()) << "prometheus" << kMissing;
  ASSERT_EQ(run_script(workload_script()), 1) << script_output_;  // the failed update
  ASSERT_NE(script_output_.find("\"value\":" + std::to_string(2 * (kUpdates + 1))),
            std::string::npos)
      << script_output_;

  const std::string n1 = "127.0.0.1:" + std::to_string(n1_metrics_);
  const std::string n2 = "127.0.0.1:" + std::to_string(n2_metrics_);
  std::unique_ptr<PrometheusServer> scraping = scrape_both(prometheus);
  ASSERT_NE(scraping, nullptr);
  PrometheusServer& server = *scraping;

  auto on = [](const std::string& instance) { return "instance=\"" + instance + "\""; };
  const std::vector<Expected> expected = {
      equals("up{job=\"mgraph\"," + on(n1) + "}", 1),
      equals("up{job=\"mgraph\"," + on(n2) + "}", 1),
      equals("mgraph_partitions{" + on(n1) + "}", 1),
      equals("mgraph_partitions{" + on(n2) + "}", 2),
      equals("count(mgraph_partition_fields)", 3),
      positive("min(mgraph_partition_fields)"),
      equals("mgraph_epochs_total{outcome=\"committed\"," + on(n1) + "}", kCommitted),
      equals("mgraph_epochs_total{outcome=\"aborted\"," + on(n1) + "}", kAborted),
      equals("mgraph_epochs_total{outcome=\"committed\"," + on(n2) + "}", 0),
      equals("mgraph_last_epoch{" + on(n1) + "}", kCommitted + kAborted),
      equals("mgraph_epoch_seconds_count{" + on(n1) + "}", kCommitted + kAborted),
      // A lone client's transactions never share an epoch.
      equals("mgraph_epoch_transactions_sum{" + on(n1) + "}", kCommitted + kAborted),
      equals("mgraph_epoch_transactions_bucket{le=\"1\"," + on(n1) + "}", kCommitted + kAborted),
      equals("mgraph_client_requests_total{kind=\"write\",outcome=\"ok\"," + on(n2) + "}",
             kWritesOk),
      equals("mgraph_client_requests_total{kind=\"write\",outcome=\"failed\"," + on(n2) + "}",
             kWritesFailed),
      equals("mgraph_client_requests_total{kind=\"read\",outcome=\"ok\"," + on(n2) + "}", kReadsOk),
      equals("sum(mgraph_client_requests_total{" + on(n1) + "})", 0),
      equals("mgraph_client_request_seconds_count{kind=\"write\"," + on(n2) + "}",
             kWritesOk + kWritesFailed),
      // One append (one sync) per epoch: nothing else was waiting to share it.
      equals("mgraph_log_append_seconds_count{" + on(n1) + "}", kCommitted + kAborted),
      positive("mgraph_log_appended_bytes_total{" + on(n1) + "}"),
      positive("mgraph_log_size_bytes{" + on(n1) + "}"),
      equals("mgraph_log_size_bytes{" + on(n2) + "}", 0),
      equals("mgraph_peer_up{peer=\"n2\"," + on(n1) + "}", 1),
      equals("mgraph_peer_up{peer=\"n1\"," + on(n2) + "}", 1),
      equals("min(mgraph_ready)", 1),
  };
  expect_all(server, expected);
  if (::testing::Test::HasFatalFailure()) return;

  // Every query of the shipped dashboard and rules runs on this server (no parse error, a
  // vector), and the rules were loaded and evaluated.
  std::ifstream file(kSource / "cluster-configs" / "grafana-dashboard.json");
  const nlohmann::json dashboard = nlohmann::json::parse(file, nullptr, false);
  ASSERT_FALSE(dashboard.is_discarded()) << "grafana-dashboard.json is not JSON";
  std::string error;
  std::vector<std::string> queries = dashboard_queries(dashboard);
  for (std::string& q : rule_queries(kSource / "cluster-configs" / "prometheus-rules.yml", &error))
    queries.push_back(std::move(q));
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_GE(queries.size(), 10u);
  for (const std::string& q : queries) {
    const nlohmann::json answer = server.query(without_grafana_variables(q));
    EXPECT_EQ(answer.value("status", ""), "success") << q << "\n" << answer.dump();
  }
  // A recording rule's series appears once the rules were evaluated (every second).
  const auto rules_until = std::chrono::steady_clock::now() + kPrometheusDeadline;
  double recorded = 0;
  std::string shown;
  while (!single_value(server.query("sum(instance:mgraph_epochs:rate1m)"), &recorded, &shown) &&
         std::chrono::steady_clock::now() < rules_until) {
    pace_polls();
  }
  EXPECT_TRUE(single_value(server.query("sum(instance:mgraph_epochs:rate1m)"), &recorded, &shown))
      << shown;
}

/// Raises the effect once (x above 100), with a rejected transaction before it.
constexpr const char* kEffectScript =
    "create A a x=1\ncommit\nupdate a x=5\nreject\nupdate a x=200\ncommit\n";

TEST_F(Metrics, EffectDeliveriesEpochPhasesAndFormulasComputedReachPrometheusExactly) {
  const std::string prometheus = find_program("prometheus");
  ASSERT_FALSE(prometheus.empty()) << "prometheus" << kMissing;
  ASSERT_EQ(run_script(kEffectScript), 0) << script_output_;
  // A consumer takes the delivery and acks it: the ack is an epoch of its own.
  ASSERT_EQ(consume(1), 0) << script_output_;
  ASSERT_NE(script_output_.find("\"effect\":\"A.big\""), std::string::npos) << script_output_;
  ASSERT_NE(script_output_.find("\"attempt\":1"), std::string::npos) << script_output_;

  const std::string n1 = "127.0.0.1:" + std::to_string(n1_metrics_);
  const std::string n2 = "127.0.0.1:" + std::to_string(n2_metrics_);
  std::unique_ptr<PrometheusServer> scraping = scrape_both(prometheus);
  ASSERT_NE(scraping, nullptr);
  PrometheusServer& server = *scraping;
  auto on = [](const std::string& instance) { return "instance=\"" + instance + "\""; };
  auto phase = [&](const char* p) {
    return "mgraph_epoch_phase_seconds_count{phase=\"" + std::string(p) + "\"," + on(n1) + "}";
  };
  // Epochs: the creation, the rejected update, the update to 200, the consumer's ack.
  // Each runs on three partitions: its input ops are applied (apply), and each commit marks,
  // computes and commits; the rejected one only applies.
  constexpr int kEpochs = 4, kCommits = 3;
  // The record's fields are computed by its owner alone, partition 1 (on n2): 3 formulas
  // run at its creation (y, and the effect's two nodes), 4 for the update to 200 and the
  // ack together (one partition alone counts the same:
  // actors.PartitionedDocuments.EachFormulaIsComputedByOnePartitionAndCountedThere).
  constexpr int kFormulas = 7;
  const std::vector<Expected> expected = {
      equals("mgraph_epochs_total{outcome=\"committed\"," + on(n1) + "}", kCommits),
      equals("mgraph_epoch_aborts_total{reason=\"rejected\"," + on(n1) + "}", 1),
      equals("sum(mgraph_epoch_aborts_total{" + on(n1) + "})", 1),
      equals(phase("apply"), kEpochs),
      equals(phase("mark"), kCommits),
      equals(phase("compute"), kCommits),
      equals(phase("commit"), kCommits),
      positive("mgraph_epoch_phase_seconds_sum{phase=\"apply\"," + on(n1) + "}"),
      equals("sum(mgraph_epoch_phase_seconds_count{" + on(n2) + "})", 0),
      equals("mgraph_effect_deliveries_offered_total{" + on(n1) + "}", 1),
      equals("mgraph_effect_deliveries_sent_total{" + on(n1) + "}", 1),
      equals("mgraph_effect_redeliveries_total{" + on(n1) + "}", 0),
      equals("mgraph_effect_acks_total{" + on(n1) + "}", 1),
      equals("mgraph_effect_dead_lettered_total{" + on(n1) + "}", 0),
      equals("mgraph_effect_deliveries_pending{" + on(n1) + "}", 0),
      equals("mgraph_effect_dead_letters{" + on(n1) + "}", 0),
      equals("mgraph_effect_deliveries_sent_total{" + on(n2) + "}", 0),
      equals("mgraph_formulas_computed_total{partition=\"1\"," + on(n2) + "}", kFormulas),
      equals("sum(mgraph_formulas_computed_total)", kFormulas),
      equals("count(mgraph_formulas_computed_total)", 3),
      // The driver on n1 sent requests to both nodes' partitions; n2 runs no driver.
      positive("mgraph_peer_requests_total{peer=\"n1\"," + on(n1) + "}"),
      positive("mgraph_peer_requests_total{peer=\"n2\"," + on(n1) + "}"),
      positive("mgraph_peer_sent_bytes_total{peer=\"n2\"," + on(n1) + "}"),
      positive("mgraph_peer_received_bytes_total{peer=\"n2\"," + on(n1) + "}"),
      equals("sum(mgraph_peer_requests_total{" + on(n2) + "})", 0),
      // No field of one record is read by another: no Mark or Resolve between partitions.
      equals("sum(mgraph_peer_sent_deltas_total)", 0),
  };
  expect_all(server, expected);
}

TEST_F(Metrics, EveryMetricTheDashboardAndRulesNameIsExportedByARunningNode) {
  ASSERT_EQ(run_script(workload_script()), 1) << script_output_;
  std::ifstream file(kSource / "cluster-configs" / "grafana-dashboard.json");
  const nlohmann::json dashboard = nlohmann::json::parse(file, nullptr, false);
  ASSERT_FALSE(dashboard.is_discarded()) << "grafana-dashboard.json is not JSON";
  std::string error;
  std::vector<std::string> queries = dashboard_queries(dashboard);
  const std::size_t panels_queries = queries.size();
  for (std::string& q : rule_queries(kSource / "cluster-configs" / "prometheus-rules.yml", &error))
    queries.push_back(std::move(q));
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_GE(panels_queries, 10u);
  ASSERT_GT(queries.size(), panels_queries);
  // The coordinator exports every family, each with samples: it has a peer, a log, clients'
  // epochs; n2 the client requests.
  const std::string n1 = testing::http_get(n1_metrics_, "/metrics").body;
  const std::string n2 = testing::http_get(n2_metrics_, "/metrics").body;
  ASSERT_FALSE(n1.empty());
  std::set<std::string> used;
  for (const std::string& q : queries) {
    const std::set<std::string> names = metric_names(q);
    EXPECT_FALSE(names.empty()) << "a query that names no metric: " << q;
    used.insert(names.begin(), names.end());
  }
  for (const std::string& name : used) {
    if (name == "up") continue;  // Prometheus's own
    EXPECT_TRUE(testing::exports_metric(n1, name)) << name << " is not exported by n1:\n" << n1;
    EXPECT_TRUE(testing::exports_metric(n2, name)) << name << " is not exported by n2:\n" << n2;
  }
  // The names were read: the families the dashboard is about are among them.
  for (const char* family :
       {"mgraph_epochs_total", "mgraph_epoch_seconds_bucket", "mgraph_epoch_transactions_bucket",
        "mgraph_client_requests_total", "mgraph_log_append_seconds_bucket", "mgraph_peer_up",
        "mgraph_partition_fields", "mgraph_epoch_phase_seconds_bucket", "mgraph_epoch_aborts_total",
        "mgraph_formulas_computed_total", "mgraph_effect_deliveries_sent_total",
        "mgraph_effect_acks_total", "mgraph_effect_redeliveries_total",
        "mgraph_effect_dead_lettered_total", "mgraph_effect_deliveries_pending",
        "mgraph_effect_dead_letters", "mgraph_peer_sent_bytes_total",
        "mgraph_peer_received_bytes_total", "mgraph_peer_sent_deltas_total"}) {
    EXPECT_EQ(used.count(family), 1u) << family;
  }
  // The resolution of suffixes can fail: a name no family has is not taken as exported.
  EXPECT_FALSE(testing::exports_metric(n1, "mgraph_epochs_total_bucket"));
  EXPECT_FALSE(testing::exports_metric(n1, "mgraph_no_such_metric"));
}

TEST(NodeWithoutItsCoordinator, ShowsItsPeerDownAndCountsTheRequestsItRefuses) {
  // n2 alone: its coordinator never comes, so it is not ready and refuses clients.
  mgraph::testing::no_leak_report_in_nodes();
  const fs::path dir =
      fs::temp_directory_path() / ("mgraph_prometheus_alone_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "schema.mgs") << kSchema;
  std::ofstream(dir / "cluster.toml") << kConfig;
  std::ofstream(dir / "s.mgscript") << "create A a x=1\ncommit\n";
  const int nobody = mgraph::testing::free_loopback_port();  // where n1 would be
  ChildProcess n2 = ChildProcess::spawn(
      {MGRAPHD_BINARY, "--config", (dir / "cluster.toml").string(), "--node", "n2", "--peer",
       "n1=127.0.0.1:" + std::to_string(nobody), "--metrics", "127.0.0.1:0"});
  const int client = port_of(n2, "(clients)");
  const int metrics = metrics_port_of(n2);
  ASSERT_GT(client, 0) << n2.printed;
  ASSERT_GT(metrics, 0) << n2.printed;
  ChildProcess eval = ChildProcess::spawn(
      {MGRAPH_BINARY, "eval", "--connect", "127.0.0.1:" + std::to_string(client), "--resend-patience", "0",
       "--script", (dir / "s.mgscript").string()},
      true);
  EXPECT_NE(eval.finish(kSilenceMs), 0) << eval.printed;
  EXPECT_NE(eval.printed.find("not ready"), std::string::npos) << eval.printed;
  // The link to n1 marks its peer down when its actor starts, on a scheduler thread: read
  // until the series is there (bounded).
  std::string text;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kSilenceMs);
  for (;;) {
    text = testing::http_get(metrics, "/metrics").body;
    if (testing::metric_value(text, "mgraph_peer_up{peer=\"n1\"}") ||
        std::chrono::steady_clock::now() >= until)
      break;
    pace_polls();
  }
  EXPECT_EQ(testing::metric_value(
                text, "mgraph_client_requests_total{kind=\"write\",outcome=\"not_ready\"}"),
            1.0)
      << text;
  EXPECT_EQ(
      testing::metric_value(text, "mgraph_client_requests_total{kind=\"write\",outcome=\"ok\"}"),
      0.0);
  EXPECT_EQ(testing::metric_value(text, "mgraph_peer_up{peer=\"n1\"}"), 0.0) << text;
  EXPECT_EQ(testing::metric_value(text, "mgraph_ready"), 0.0);
  EXPECT_EQ(testing::metric_value(text, "mgraph_partitions"), 2.0);
  ::kill(n2.pid, SIGTERM);
  EXPECT_EQ(n2.finish(kSilenceMs), 0) << n2.printed;
  fs::remove_all(dir);
}

TEST(PrometheusConfig, TheShippedConfigurationAndRulesPassPromtool) {
  const std::string promtool = find_program("promtool");
  ASSERT_FALSE(promtool.empty()) << "promtool" << kMissing;
  ChildProcess c = ChildProcess::spawn(
      {promtool, "check", "config", (kSource / "cluster-configs" / "prometheus.yml").string()},
      true);
  EXPECT_EQ(c.finish(kSilenceMs), 0) << c.printed;
  EXPECT_NE(c.printed.find("SUCCESS: 1 rule files found"), std::string::npos) << c.printed;
}

}  // namespace
}  // namespace mgraph::node
