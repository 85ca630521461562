// Reads cases from stdin, one per line: "<op> <id> <hex operand> [<hex operand>]" with op
// Q (quantize: operand = IEEE-754 bits of a double), C (cast), I (cast into ap_int),
// A (add), M (mul); operands of C/I/A/M are raw bit patterns of the source formats.
// Writes one hex result per line (raw bits of the destination, zero-extended).
// Unknown cases end the run with status 2.
#include <cstdio>
#include <map>
#include <utility>

#include "fixed_harness.hpp"

namespace edgemoe_test {

static std::map<std::pair<char, int>, CaseFn>& registry() {
  static std::map<std::pair<char, int>, CaseFn> table;
  return table;
}

void register_case(char op, int id, CaseFn fn) { registry()[std::make_pair(op, id)] = fn; }

}  // namespace edgemoe_test

int main() {
  char line[256];
  while (std::fgets(line, sizeof line, stdin)) {
    char op = 0;
    int id = -1;
    unsigned long long a = 0, b = 0;
    int n = std::sscanf(line, " %c %d %llx %llx", &op, &id, &a, &b);
    if (n < 3) continue;  // blank line
    auto it = edgemoe_test::registry().find(std::make_pair(op, id));
    if (it == edgemoe_test::registry().end()) {
      std::fprintf(stderr, "unknown case %c %d\n", op, id);
      return 2;
    }
    std::printf("%llx\n", static_cast<unsigned long long>(it->second(a, b)));
  }
  return 0;
}
