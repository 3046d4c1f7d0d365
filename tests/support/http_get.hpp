#pragma once
// A bounded HTTP/1.0 GET on 127.0.0.1, for tests that talk to a node's /metrics or to a
// Prometheus server's API: the whole exchange ends by a deadline, so a hung server fails
// the test instead of hanging it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace mgraph::testing {

struct HttpResponse {
  int status = 0;  ///< 0: no answer (refused, cut short, or past the deadline)
  std::string body;
};

/// GET http://127.0.0.1:PORT`target` (path and query, already escaped), within `timeout_ms`.
inline HttpResponse http_get(int port, const std::string& target, int timeout_ms = 10'000) {
  constexpr std::size_t kResponseBytesMax = std::size_t{1} << 24;
  HttpResponse r;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return r;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  bool closed = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request =
        std::string("GET ") + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
      // Each pass reads or waits; the deadline and the size bound end it.
      while (!closed && response.size() < kResponseBytesMax) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              until - std::chrono::steady_clock::now())
                              .count();
        if (left <= 0) break;
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
        char buf[4096];
        const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
        if (got <= 0)
          closed = true;
        else
          response.append(buf, static_cast<std::size_t>(got));
      }
    }
  }
  ::close(fd);
  const std::size_t body = response.find("\r\n\r\n");
  // "HTTP/1.x NNN ...": an answer counts only if the server closed it (HTTP/1.0) whole.
  if (!closed || body == std::string::npos || response.compare(0, 5, "HTTP/") != 0) return r;
  const std::size_t space = response.find(' ');
  if (space == std::string::npos || space + 4 > body) return r;
  r.status = std::stoi(response.substr(space + 1, 3));
  r.body = response.substr(body + 4);
  return r;
}

/// `text` escaped for a URL's query (RFC 3986: everything but unreserved characters).
inline std::string url_escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

}  // namespace mgraph::testing
