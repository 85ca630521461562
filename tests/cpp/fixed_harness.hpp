// Cross-check harness for edgemoe.params.fixed.FixedType against the ap_types headers.
//
// Each case is one template instantiation (formats are compile-time in ap_fixed). The
// generated file named by EDGEMOE_CASES declares type aliases and lists cases with the
// EDGEMOE_QUANT / _CAST / _CAST_INT / _ADD / _MUL macros below; every part file registers
// its cases at static-initialisation time and fixed_harness_main.cpp dispatches.
#ifndef EDGEMOE_FIXED_HARNESS_HPP
#define EDGEMOE_FIXED_HARNESS_HPP

#include <ap_fixed.h>

#include <cstdint>
#include <cstring>

namespace edgemoe_test {

typedef uint64_t (*CaseFn)(uint64_t, uint64_t);

/// Adds case (op, id) to the dispatch table; defined in fixed_harness_main.cpp.
void register_case(char op, int id, CaseFn fn);

struct Registrar {
  Registrar(char op, int id, CaseFn fn) { register_case(op, id, fn); }
};

/// The raw bit pattern of x, zero-extended from T::width bits.
template <class T>
uint64_t bits_of(const T& x) {
  uint64_t v = x.bits_to_uint64();
  return T::width >= 64 ? v : v & ((uint64_t(1) << T::width) - 1);
}

/// A T whose raw bits are the low T::width bits of v.
template <class T>
T from_bits(uint64_t v) {
  T x;
  x.setBits(v);
  return x;
}

/// T x = <double with IEEE-754 bit pattern dbits>;
template <class T>
uint64_t quantize_case(uint64_t dbits, uint64_t) {
  double d;
  std::memcpy(&d, &dbits, sizeof d);
  T x = d;
  return bits_of(x);
}

/// T x = <S with raw bits v>;
template <class S, class T>
uint64_t cast_case(uint64_t v, uint64_t) {
  S a = from_bits<S>(v);
  T x = a;
  return bits_of(x);
}

/// T x = <S with raw bits v>; where T is an ap_int / ap_uint.
template <class S, class T>
uint64_t cast_int_case(uint64_t v, uint64_t) {
  S a = from_bits<S>(v);
  T x = a;
  uint64_t r = x.to_uint64();
  return T::width >= 64 ? r : r & ((uint64_t(1) << T::width) - 1);
}

/// T x = a + b;
template <class A, class B, class T>
uint64_t add_case(uint64_t a, uint64_t b) {
  T x = from_bits<A>(a) + from_bits<B>(b);
  return bits_of(x);
}

/// T x = a * b;
template <class A, class B, class T>
uint64_t mul_case(uint64_t a, uint64_t b) {
  T x = from_bits<A>(a) * from_bits<B>(b);
  return bits_of(x);
}

}  // namespace edgemoe_test

#define EDGEMOE_QUANT(ID, T) \
  static const edgemoe_test::Registrar q_##ID('Q', ID, &edgemoe_test::quantize_case<T>);
#define EDGEMOE_CAST(ID, S, T) \
  static const edgemoe_test::Registrar c_##ID('C', ID, &edgemoe_test::cast_case<S, T>);
#define EDGEMOE_CAST_INT(ID, S, T) \
  static const edgemoe_test::Registrar i_##ID('I', ID, &edgemoe_test::cast_int_case<S, T>);
#define EDGEMOE_ADD(ID, A, B, T) \
  static const edgemoe_test::Registrar a_##ID('A', ID, &edgemoe_test::add_case<A, B, T>);
#define EDGEMOE_MUL(ID, A, B, T) \
  static const edgemoe_test::Registrar m_##ID('M', ID, &edgemoe_test::mul_case<A, B, T>);

#endif  // EDGEMOE_FIXED_HARNESS_HPP
