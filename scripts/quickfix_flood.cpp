// quickfix_flood: QuickFIX C++ initiators flooding an acceptor, for scripts/compare-quickfix.
//
// Usage:
//   quickfix_flood SETTINGS --sessions N --inflight K --orders TOTAL [--warmup W]
//
// Runs every initiator session of SETTINGS (memory store, no log), waits until N of them are
// logged on, then keeps K NewOrderSingles in flight on each: every ExecutionReport sends the
// session's next order, until TOTAL orders (after W of warm-up) are answered. Prints
//
//   FLOOD sessions=N inflight=K count=.. msgs_per_s=.. p50_ns=.. p99_ns=.. p999_ns=.. max_ns=..
//
// with each round trip timed from its order's send to its ExecutionReport's arrival, and the
// rate over the measured part. Build as the test peer is built:
//   g++ -std=c++11 -O2 -DHAVE_SSL=1 -Wno-deprecated quickfix_flood.cpp -lquickfix -lssl \
//       -lcrypto -lpthread

#include <quickfix/Application.h>
#include <quickfix/MessageStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>
#include <quickfix/fix44/NewOrderSingle.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

typedef std::chrono::steady_clock Clock;

struct Options {
  std::string settings;
  long sessions = 1;
  long inflight = 1;
  long orders = 0;
  long warmup = 0;
};

bool parse(int argc, char** argv, Options* opts) {
  if (argc < 2) return false;
  opts->settings = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    long value = std::atol(argv[i + 1]);
    if (flag == "--sessions") {
      opts->sessions = value;
    } else if (flag == "--inflight") {
      opts->inflight = value;
    } else if (flag == "--orders") {
      opts->orders = value;
    } else if (flag == "--warmup") {
      opts->warmup = value;
    } else {
      return false;
    }
  }
  return opts->sessions > 0 && opts->inflight > 0 && opts->orders > 0 && opts->warmup >= 0;
}

long long percentile(const std::vector<long long>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(q * static_cast<double>(sorted.size()) + 0.999999);
  if (rank == 0) rank = 1;
  if (rank > sorted.size()) rank = sorted.size();
  return sorted[rank - 1];
}

class Flood : public FIX::Application {
 public:
  explicit Flood(const Options& opts) : opts_(opts) { rtts_.reserve(opts.orders); }

  void onCreate(const FIX::SessionID&) {}
  void onLogon(const FIX::SessionID& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    logged_on_.push_back(id);
    changed_.notify_all();
  }
  void onLogout(const FIX::SessionID&) {}
  void toAdmin(FIX::Message&, const FIX::SessionID&) {}
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) {}
  void fromAdmin(const FIX::Message&, const FIX::SessionID&) throw(
      FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::RejectLogon) {}

  void fromApp(const FIX::Message& message, const FIX::SessionID& id) throw(
      FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue,
      FIX::UnsupportedMessageType) {
    Clock::time_point arrived = Clock::now();
    if (!message.getHeader().isSetField(FIX::FIELD::MsgType) ||
        message.getHeader().getField(FIX::FIELD::MsgType) != "8" ||
        !message.isSetField(FIX::FIELD::ClOrdID)) {
      return;
    }
    const std::string cl_ord_id = message.getField(FIX::FIELD::ClOrdID);
    FIX44::NewOrderSingle next;
    bool send = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      std::map<std::string, Clock::time_point>::iterator it = sent_.find(cl_ord_id);
      if (it == sent_.end()) return;
      ++answered_;
      if (answered_ > opts_.warmup) {
        if (answered_ == opts_.warmup + 1) measured_from_ = it->second;
        rtts_.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(arrived - it->second).count());
      }
      sent_.erase(it);
      if (answered_ >= opts_.warmup + opts_.orders) {
        finished_at_ = arrived;
        changed_.notify_all();
      }
      send = next_order_locked(&next);
    }
    if (send) FIX::Session::sendToTarget(next, id);
  }

  // Waits for the logons, then puts K orders in flight on each session.
  bool start() {
    std::vector<FIX::SessionID> ids;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      Clock::time_point give_up = Clock::now() + std::chrono::seconds(30);
      while (static_cast<long>(logged_on_.size()) < opts_.sessions) {
        if (changed_.wait_until(lock, give_up) == std::cv_status::timeout) return false;
      }
      ids = logged_on_;
    }
    for (long k = 0; k < opts_.inflight; ++k) {
      for (size_t s = 0; s < ids.size(); ++s) {
        FIX44::NewOrderSingle order;
        bool send;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          send = next_order_locked(&order);
        }
        if (send) FIX::Session::sendToTarget(order, ids[s]);
      }
    }
    return true;
  }

  bool wait_done() {
    std::unique_lock<std::mutex> lock(mutex_);
    Clock::time_point give_up = Clock::now() + std::chrono::seconds(600);
    while (answered_ < opts_.warmup + opts_.orders) {
      if (changed_.wait_until(lock, give_up) == std::cv_status::timeout) return false;
    }
    return true;
  }

  std::string line() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<long long> sorted = rtts_;
    std::sort(sorted.begin(), sorted.end());
    double secs = std::chrono::duration<double>(finished_at_ - measured_from_).count();
    double rate = secs > 0 ? static_cast<double>(sorted.size()) / secs : 0.0;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "FLOOD sessions=%ld inflight=%ld count=%zu msgs_per_s=%.0f p50_ns=%lld "
                  "p99_ns=%lld p999_ns=%lld max_ns=%lld",
                  opts_.sessions, opts_.inflight, sorted.size(), rate, percentile(sorted, 0.5),
                  percentile(sorted, 0.99), percentile(sorted, 0.999),
                  sorted.empty() ? 0LL : sorted.back());
    return buf;
  }

 private:
  // The next order, noted as sent now; false once every order has left.
  bool next_order_locked(FIX44::NewOrderSingle* order) {
    if (issued_ >= opts_.warmup + opts_.orders) return false;
    std::string id = "C" + std::to_string(++issued_);
    *order = FIX44::NewOrderSingle(FIX::ClOrdID(id), FIX::Side(FIX::Side_BUY),
                                   FIX::TransactTime(3), FIX::OrdType(FIX::OrdType_LIMIT));
    order->setField(FIX::Symbol("FIXR"));
    order->setField(FIX::OrderQty(100));
    order->setField(FIX::Price(100.25));
    order->setField(FIX::Text(std::string(60, 'x')));
    sent_[id] = Clock::now();
    return true;
  }

  const Options& opts_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<FIX::SessionID> logged_on_;
  std::map<std::string, Clock::time_point> sent_;
  std::vector<long long> rtts_;
  long issued_ = 0;
  long answered_ = 0;
  Clock::time_point measured_from_;
  Clock::time_point finished_at_;
};

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  if (!parse(argc, argv, &opts)) {
    std::fprintf(stderr,
                 "usage: quickfix_flood SETTINGS --sessions N --inflight K --orders TOTAL "
                 "[--warmup W]\n");
    return 2;
  }
  try {
    FIX::SessionSettings settings(opts.settings);
    FIX::MemoryStoreFactory store;
    Flood app(opts);
    FIX::SocketInitiator initiator(app, store, settings);
    initiator.start();
    int status = 1;
    if (!app.start()) {
      std::fprintf(stderr, "quickfix_flood: not every session logged on\n");
    } else if (!app.wait_done()) {
      std::fprintf(stderr, "quickfix_flood: the orders were not all answered\n");
    } else {
      std::printf("%s\n", app.line().c_str());
      status = 0;
    }
    initiator.stop(true);
    return status;
  } catch (std::exception& e) {
    std::fprintf(stderr, "quickfix_flood: %s\n", e.what());
    return 1;
  }
}
