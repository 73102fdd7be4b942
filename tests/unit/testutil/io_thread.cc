#include "testutil/io_thread.h"

namespace sluice::testutil {

void IoThread::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { io_.run(); });
}

void IoThread::stop(const std::function<void()>& last) {
  if (!thread_.joinable()) return;
  if (last) call(last);
  io_.stop();
  thread_.join();
}

}  // namespace sluice::testutil
