// Internal: the poll_* idiom, popping the front of an outbound queue.
#ifndef NETKEY_SRC_UTIL_QUEUE_H_
#define NETKEY_SRC_UTIL_QUEUE_H_

#include <deque>
#include <optional>
#include <utility>

namespace netkey::detail {

// The front of `q`, moved out and popped; nullopt when `q` is empty.
template <typename T>
std::optional<T> pop_front(std::deque<T>& q) {
  if (q.empty()) return std::nullopt;
  T t = std::move(q.front());
  q.pop_front();
  return t;
}

}  // namespace netkey::detail

#endif  // NETKEY_SRC_UTIL_QUEUE_H_
