#pragma once
// GET /metrics from a node's Prometheus endpoint on 127.0.0.1 (HTTP/1.0, read until the
// server closes), for the tests of mgraphd and mgraph_cluster_bench.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace mgraph::testing {

/// GET http://127.0.0.1:PORT/metrics; the body, or "" on any failure.
inline std::string scrape_metrics(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request =
        "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      // Until the server closes the connection (HTTP/1.0), bounded by the response size.
      for (ssize_t got; response.size() < (1u << 22) && (got = ::read(fd, buf, sizeof buf)) > 0;)
        response.append(buf, static_cast<std::size_t>(got));
    }
  }
  ::close(fd);
  const std::size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : response.substr(body + 4);
}

}  // namespace mgraph::testing
