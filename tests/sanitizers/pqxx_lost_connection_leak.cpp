// The libpqxx 6.4.5 leak behind the entry of lsan.supp, without any
// Gatehouse code: the server ends a connection, and the next statement on it
// leaks the PGresult libpq returned (LeakSanitizer: 2264 bytes in 2
// allocations). Not part of the build; run it against a throwaway cluster:
//
//   g++ -g -fsanitize=address pqxx_lost_connection_leak.cpp -lpqxx -lpq
//   ./a.out postgresql://postgres@127.0.0.1:PORT/gatehouse_test begin
//   ./a.out ... prepared     (register_prepared)
//   ./a.out ... statement    (exec_prepared of a statement prepared before)
//
// Each prints "broken_connection: Could not obtain client encoding: not
// connected." and a leak report whose stack ends in libpqxx-6.4.so.

#include <iostream>
#include <string>

#include <pqxx/pqxx>

namespace {

/// Ends `victim`'s session from a second connection.
void end_session(const char* url, pqxx::connection& victim) {
  pqxx::connection admin{url};
  pqxx::nontransaction tx{admin};
  tx.exec("SELECT pg_terminate_backend("
          + std::to_string(victim.backendpid()) + ")");
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " URL begin|prepared|statement\n";
    return 2;
  }
  const std::string mode = argv[2];
  pqxx::connection conn{argv[1]};
  conn.prepare("one", "SELECT 1");
  if (mode == "statement") {
    pqxx::nontransaction tx{conn};
    tx.exec_prepared("one");
  }
  end_session(argv[1], conn);
  try {
    if (mode == "begin") {
      pqxx::work tx{conn};
    } else {
      pqxx::nontransaction tx{conn};
      tx.exec_prepared("one");
    }
  } catch (const pqxx::broken_connection& e) {
    std::cout << "broken_connection: " << e.what() << '\n';
  }
  return 0;
}
