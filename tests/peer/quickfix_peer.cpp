// quickfix_peer: the QuickFIX C++ (1.15.1) counterparty of fixring's interoperability tests.
//
// Usage:
//   quickfix_peer acceptor|initiator plain|ssl SETTINGS [--orders N] [--warmup N]
//                 [--size BYTES] [--log DIR] [--quiet]
//
// It runs one QuickFIX acceptor or initiator from a settings file and prints one line per
// event on stdout, flushed at once, so a test harness can follow it line by line:
//
//   READY                         the engine started (an acceptor is listening)
//   CREATE <session>              a session was created, e.g. CREATE FIX.4.4:ACC->INIT
//   LOGON <session>
//   LOGOUT <session>              QuickFIX may report one disconnect twice
//   ADMIN_IN <msgtype> <seq>      an admin message arrived
//   ADMIN_OUT <msgtype> <seq>     an admin message is about to be sent
//   APP_IN <msgtype> <ClOrdID>    an application message arrived ("-" without 11)
//   RTT p50_ns=.. p90_ns=.. p99_ns=.. p999_ns=.. max_ns=.. count=..
//   STOPPED                       the engine stopped (after a Logout exchange when possible)
//   ERROR <text>                  start-up failed; the exit code is 1
//
// QuickFIX itself adds "Certificate Verification: ..." lines during TLS handshakes, and reports
// LOGOUT for every failed connection attempt too (and sometimes twice for one disconnect).
//
// Every NewOrderSingle (35=D) is answered with a FIX.4.4 ExecutionReport (35=8, ExecType=New).
// As initiator with --orders N it sends N NewOrderSingles after logon, one at a time (the next
// when the previous one's ExecutionReport arrives), prints the RTT line, logs out and exits.
// --warmup N sends N more orders first, the same way, whose round trips are not counted.
// --size pads each NewOrderSingle with Text(58) to about BYTES on the wire. --quiet drops the
// per-message APP_IN lines (for latency runs). The store is in memory; --log DIR adds a file log.
// It stops gracefully (Logout, then disconnect) when stdin reads "quit" or reaches end of file.

#include <quickfix/Application.h>
#include <quickfix/FileLog.h>
#include <quickfix/MessageStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketAcceptor.h>
#include <quickfix/SocketInitiator.h>
#include <quickfix/SSLSocketInitiator.h>
#include <quickfix/ThreadedSSLSocketAcceptor.h>
#include <quickfix/fix44/ExecutionReport.h>
#include <quickfix/fix44/NewOrderSingle.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

typedef std::chrono::steady_clock Clock;

// Serialises output lines from QuickFIX's threads and the main thread.
std::mutex g_out_mutex;

void emit(const std::string& line) {
  // One write per line: QuickFIX's own TLS verify callback prints to stdout too.
  const std::string text = line + "\n";
  std::lock_guard<std::mutex> lock(g_out_mutex);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

struct Options {
  bool acceptor = false;
  bool ssl = false;
  std::string settings;
  long orders = 0;
  long warmup = 0;
  long size = 0;
  std::string log_dir;
  bool quiet = false;
};

void usage() {
  std::fprintf(stderr,
               "usage: quickfix_peer acceptor|initiator plain|ssl SETTINGS "
               "[--orders N] [--warmup N] [--size BYTES] [--log DIR] [--quiet]\n");
}

bool parse_count(const char* text, long* out) {
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < 0) return false;
  *out = value;
  return true;
}

bool parse_options(int argc, char** argv, Options* opts) {
  if (argc < 4) return false;
  std::string role = argv[1];
  std::string transport = argv[2];
  if (role != "acceptor" && role != "initiator") return false;
  if (transport != "plain" && transport != "ssl") return false;
  opts->acceptor = role == "acceptor";
  opts->ssl = transport == "ssl";
  opts->settings = argv[3];
  for (int i = 4; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--quiet") {
      opts->quiet = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    const char* value = argv[++i];
    if (flag == "--orders") {
      if (!parse_count(value, &opts->orders)) return false;
    } else if (flag == "--warmup") {
      if (!parse_count(value, &opts->warmup)) return false;
    } else if (flag == "--size") {
      if (!parse_count(value, &opts->size)) return false;
    } else if (flag == "--log") {
      opts->log_dir = value;
    } else {
      return false;
    }
  }
  return true;
}

std::string field_or_dash(const FIX::FieldMap& map, int tag) {
  return map.isSetField(tag) ? map.getField(tag) : std::string("-");
}

// Nearest-rank percentile of sorted samples; q in (0, 1].
long long percentile(const std::vector<long long>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(q * static_cast<double>(sorted.size()) + 0.999999);
  if (rank == 0) rank = 1;
  if (rank > sorted.size()) rank = sorted.size();
  return sorted[rank - 1];
}

class Peer : public FIX::Application {
 public:
  explicit Peer(const Options& opts) : opts_(opts) {}

  void onCreate(const FIX::SessionID& id) { emit("CREATE " + id.toString()); }

  void onLogon(const FIX::SessionID& id) {
    emit("LOGON " + id.toString());
    std::lock_guard<std::mutex> lock(mutex_);
    if (!logged_on_) {
      logged_on_ = true;
      session_ = id;
    }
    changed_.notify_all();
  }

  void onLogout(const FIX::SessionID& id) { emit("LOGOUT " + id.toString()); }

  void toAdmin(FIX::Message& message, const FIX::SessionID&) {
    const FIX::Header& header = message.getHeader();
    emit("ADMIN_OUT " + field_or_dash(header, FIX::FIELD::MsgType) + " " +
         field_or_dash(header, FIX::FIELD::MsgSeqNum));
  }

  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) {}

  void fromAdmin(const FIX::Message& message, const FIX::SessionID&) throw(
      FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::RejectLogon) {
    const FIX::Header& header = message.getHeader();
    emit("ADMIN_IN " + field_or_dash(header, FIX::FIELD::MsgType) + " " +
         field_or_dash(header, FIX::FIELD::MsgSeqNum));
  }

  void fromApp(const FIX::Message& message, const FIX::SessionID& id) throw(
      FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue,
      FIX::UnsupportedMessageType) {
    Clock::time_point arrived = Clock::now();
    const std::string type = field_or_dash(message.getHeader(), FIX::FIELD::MsgType);
    const std::string cl_ord_id = field_or_dash(message, FIX::FIELD::ClOrdID);
    if (type == "D") {
      execute(message, id);
    } else if (type == "8") {
      execution_report(cl_ord_id, arrived);
    }
    // Printed after the reply or the next order left, to keep it off the measured path.
    if (!opts_.quiet) emit("APP_IN " + type + " " + cl_ord_id);
  }

  // Blocks until the first logon; false if `stop` was requested first.
  bool wait_logon(const bool& stop_requested, std::mutex& stop_mutex) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (logged_on_) return true;
      {
        std::lock_guard<std::mutex> stop_lock(stop_mutex);
        if (stop_requested) return false;
      }
      changed_.wait_for(lock, std::chrono::milliseconds(20));
    }
  }

  // Sends the first order of the closed loop; the rest follow from fromApp.
  void start_orders() {
    if (opts_.orders <= 0) return;
    FIX44::NewOrderSingle order;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      rtts_.reserve(static_cast<size_t>(opts_.orders));
      order = next_order_locked();
    }
    FIX::Session::sendToTarget(order, session_);
  }

  // Blocks until all orders are answered or `stop` is requested; true when done.
  bool wait_orders(const bool& stop_requested, std::mutex& stop_mutex) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (static_cast<long>(rtts_.size()) >= opts_.orders) return true;
      {
        std::lock_guard<std::mutex> stop_lock(stop_mutex);
        if (stop_requested) return false;
      }
      changed_.wait_for(lock, std::chrono::milliseconds(20));
    }
  }

  std::string rtt_line() {
    std::vector<long long> sorted;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      sorted = rtts_;
    }
    std::sort(sorted.begin(), sorted.end());
    long long max = sorted.empty() ? 0 : sorted.back();
    return "RTT p50_ns=" + std::to_string(percentile(sorted, 0.50)) +
           " p90_ns=" + std::to_string(percentile(sorted, 0.90)) +
           " p99_ns=" + std::to_string(percentile(sorted, 0.99)) +
           " p999_ns=" + std::to_string(percentile(sorted, 0.999)) +
           " max_ns=" + std::to_string(max) + " count=" + std::to_string(sorted.size());
  }

 private:
  void execute(const FIX::Message& order, const FIX::SessionID& id) {
    long n = ++executions_;
    FIX44::ExecutionReport report;
    report.setField(FIX::OrderID("O" + std::to_string(n)));
    report.setField(FIX::ExecID("E" + std::to_string(n)));
    report.setField(FIX::ExecType(FIX::ExecType_NEW));
    report.setField(FIX::OrdStatus(FIX::OrdStatus_NEW));
    const int copied[] = {FIX::FIELD::ClOrdID, FIX::FIELD::Symbol, FIX::FIELD::Side,
                          FIX::FIELD::OrderQty};
    for (int tag : copied) {
      if (order.isSetField(tag)) report.setField(tag, order.getField(tag));
    }
    std::string qty = order.isSetField(FIX::FIELD::OrderQty)
                          ? order.getField(FIX::FIELD::OrderQty)
                          : std::string("0");
    report.setField(FIX::FIELD::LeavesQty, qty);
    report.setField(FIX::CumQty(0));
    report.setField(FIX::AvgPx(0));
    FIX::Session::sendToTarget(report, id);
  }

  // Records the round trip of the order in flight and sends the next one, outside the lock
  // (QuickFIX takes its session lock inside sendToTarget).
  void execution_report(const std::string& cl_ord_id, Clock::time_point arrived) {
    FIX44::NewOrderSingle order;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!in_flight_ || cl_ord_id != in_flight_id_) return;
      in_flight_ = false;
      if (warmed_ < opts_.warmup) {
        ++warmed_;
      } else {
        rtts_.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(arrived - sent_at_).count());
      }
      if (static_cast<long>(rtts_.size()) >= opts_.orders) {
        changed_.notify_all();
        return;
      }
      order = next_order_locked();
    }
    FIX::Session::sendToTarget(order, session_);
  }

  // Pads Text(58) so the order is about opts_.size bytes once the header is filled in.
  void pad(FIX44::NewOrderSingle& order) {
    if (opts_.size <= 0) return;
    FIX44::NewOrderSingle probe(order);
    FIX::Header& header = probe.getHeader();
    header.setField(FIX::BeginString(session_.getBeginString()));
    header.setField(FIX::SenderCompID(session_.getSenderCompID()));
    header.setField(FIX::TargetCompID(session_.getTargetCompID()));
    long sent = warmed_ + static_cast<long>(rtts_.size());
    header.setField(FIX::MsgSeqNum(static_cast<int>(sent) + 2));
    header.setField(FIX::SendingTime(FIX::UtcTimeStamp(), 3));
    long wire = static_cast<long>(probe.toString().size());
    long text = opts_.size - wire - 4;  // "58=" and its SOH
    if (text > 0) order.setField(FIX::Text(std::string(static_cast<size_t>(text), 'x')));
  }

  // Builds the next order and marks it in flight; the caller sends it after unlocking.
  FIX44::NewOrderSingle next_order_locked() {
    long n = warmed_ + static_cast<long>(rtts_.size()) + 1;
    in_flight_id_ = "C" + std::to_string(n);
    FIX44::NewOrderSingle order(FIX::ClOrdID(in_flight_id_), FIX::Side(FIX::Side_BUY),
                                FIX::TransactTime(3), FIX::OrdType(FIX::OrdType_LIMIT));
    order.setField(FIX::Symbol("FIXR"));
    order.setField(FIX::OrderQty(100));
    order.setField(FIX::Price(100.25));
    pad(order);
    in_flight_ = true;
    sent_at_ = Clock::now();
    return order;
  }

  const Options& opts_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool logged_on_ = false;
  FIX::SessionID session_;
  bool in_flight_ = false;
  std::string in_flight_id_;
  Clock::time_point sent_at_;
  std::vector<long long> rtts_;
  // Round trips of the warm-up done so far (not in rtts_).
  long warmed_ = 0;
  long executions_ = 0;
};

// Set by the stdin reader on "quit" or end of file.
std::mutex g_stop_mutex;
std::condition_variable g_stop_changed;
bool g_stop_requested = false;

void read_stdin() {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "quit") break;
  }
  std::lock_guard<std::mutex> lock(g_stop_mutex);
  g_stop_requested = true;
  g_stop_changed.notify_all();
}

void wait_stop() {
  std::unique_lock<std::mutex> lock(g_stop_mutex);
  while (!g_stop_requested) g_stop_changed.wait(lock);
}

// Logs every session out, waits up to three seconds for the Logout exchange, then stops.
// (Acceptor/Initiator::stop alone polls in whole seconds for up to ten.)
template <class Engine>
void graceful_stop(Engine& engine) {
  const std::set<FIX::SessionID> ids = engine.getSessions();
  for (const FIX::SessionID& id : ids) {
    FIX::Session* session = FIX::Session::lookupSession(id);
    if (session != nullptr) session->logout();
  }
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(3);
  while (engine.isLoggedOn() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  engine.stop(true);
}

template <class Engine>
int run(Peer& app, FIX::MessageStoreFactory& store, FIX::SessionSettings& settings,
        FIX::LogFactory* log, const Options& opts) {
  std::unique_ptr<Engine> engine(log != nullptr ? new Engine(app, store, settings, *log)
                                                : new Engine(app, store, settings));
  engine->start();
  emit("READY");
  std::thread(read_stdin).detach();
  if (!opts.acceptor && opts.orders > 0) {
    if (app.wait_logon(g_stop_requested, g_stop_mutex)) {
      app.start_orders();
      if (app.wait_orders(g_stop_requested, g_stop_mutex)) emit(app.rtt_line());
    }
  } else {
    wait_stop();
  }
  graceful_stop(*engine);
  emit("STOPPED");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  if (!parse_options(argc, argv, &opts)) {
    usage();
    return 2;
  }
  try {
    FIX::SessionSettings settings(opts.settings);
    FIX::MemoryStoreFactory store;
    std::unique_ptr<FIX::LogFactory> log;
    if (!opts.log_dir.empty()) log.reset(new FIX::FileLogFactory(opts.log_dir));
    Peer app(opts);
    if (opts.acceptor) {
      return opts.ssl ? run<FIX::ThreadedSSLSocketAcceptor>(app, store, settings, log.get(), opts)
                      : run<FIX::SocketAcceptor>(app, store, settings, log.get(), opts);
    }
    return opts.ssl ? run<FIX::SSLSocketInitiator>(app, store, settings, log.get(), opts)
                    : run<FIX::SocketInitiator>(app, store, settings, log.get(), opts);
  } catch (std::exception& e) {
    emit(std::string("ERROR ") + e.what());
    std::fprintf(stderr, "quickfix_peer: %s\n", e.what());
    return 1;
  }
}
