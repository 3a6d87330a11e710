//! The x87 80-bit `long double` that HINCRBYFLOAT (and INCRBYFLOAT) compute in on the x86-64
//! builds of Redis: `strtold` parsing, one correctly rounded addition, and `%.17Lf` printing
//! with trailing zeros trimmed (Redis's `ld2string(..., LD_STR_HUMAN)`). An `f64` would not do:
//! `HINCRBYFLOAT h f 0.1` answers `0.1` in Redis but `0.10000000000000001` in double precision.

use std::cmp::Ordering;

use super::numbers::is_c_space;

/// Lowest exponent of the last mantissa bit (the smallest denormal is 2^-16445).
const MIN_LSB_EXP: i64 = -16445;
/// Highest exponent of the last mantissa bit of a finite value (the largest is just below 2^16384).
const MAX_LSB_EXP: i64 = 16383 - 63;
/// Redis's `MAX_LONG_DOUBLE_CHARS`: longer inputs are rejected.
const MAX_CHARS: usize = 5 * 1024;

/// A long double: `mant * 2^exp` with the sign apart, or an infinity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LongDouble {
    /// A finite value; `mant == 0` is a (signed) zero.
    Finite { neg: bool, mant: u64, exp: i64 },
    /// Plus or minus infinity.
    Inf { neg: bool },
}

/// A small unsigned big integer, little-endian 32-bit limbs, no high zero limbs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u128(mut v: u128) -> Big {
        let mut limbs = Vec::new();
        while v != 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        Big(limbs)
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn bits(&self) -> i64 {
        match self.0.last() {
            Some(&top) => self.0.len() as i64 * 32 - top.leading_zeros() as i64,
            None => 0,
        }
    }

    fn bit(&self, i: i64) -> bool {
        if i < 0 {
            return false;
        }
        let (limb, off) = ((i / 32) as usize, i % 32);
        self.0.get(limb).is_some_and(|l| (l >> off) & 1 == 1)
    }

    /// True if any bit below position `i` is set.
    fn any_below(&self, i: i64) -> bool {
        if i <= 0 {
            return false;
        }
        let full = ((i / 32) as usize).min(self.0.len());
        if self.0[..full].iter().any(|&l| l != 0) {
            return true;
        }
        let rest = i % 32;
        rest != 0 && self.0.get(full).is_some_and(|l| l & ((1u32 << rest) - 1) != 0)
    }

    /// Bits `[lo, lo + 64)` as a number.
    fn bits_at(&self, lo: i64) -> u64 {
        (0..64).filter(|&k| self.bit(lo + k)).fold(0u64, |acc, k| acc | (1u64 << k))
    }

    fn mul_add_small(&mut self, mul: u32, add: u32) {
        let mut carry = add as u64;
        for l in self.0.iter_mut() {
            let v = *l as u64 * mul as u64 + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn mul_pow10(&mut self, mut k: u64) {
        while k >= 9 {
            self.mul_add_small(1_000_000_000, 0);
            k -= 9;
        }
        if k > 0 {
            self.mul_add_small(10u32.pow(k as u32), 0);
        }
    }

    fn shl(&self, n: u64) -> Big {
        if self.is_zero() {
            return Big(Vec::new());
        }
        let (limbs, off) = ((n / 32) as usize, (n % 32) as u32);
        let mut out = vec![0u32; limbs];
        if off == 0 {
            out.extend_from_slice(&self.0);
        } else {
            let mut carry = 0u32;
            for &l in &self.0 {
                out.push((l << off) | carry);
                carry = l >> (32 - off);
            }
            out.push(carry);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn add(&self, other: &Big) -> Big {
        let n = self.0.len().max(other.0.len());
        let mut out = Vec::with_capacity(n + 1);
        let mut carry = 0u64;
        for i in 0..n {
            let v = *self.0.get(i).unwrap_or(&0) as u64 + *other.0.get(i).unwrap_or(&0) as u64 + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        out.push(carry as u32);
        let mut b = Big(out);
        b.trim();
        b
    }

    /// `self - other`, for `self >= other`.
    fn sub(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let mut v = self.0[i] as i64 - *other.0.get(i).unwrap_or(&0) as i64 - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            out.push(v as u32);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    /// Decimal digits (at least "0").
    fn to_decimal(&self) -> String {
        let mut limbs = self.0.clone();
        let mut chunks = Vec::new();
        while !limbs.is_empty() {
            let mut rem = 0u64;
            for l in limbs.iter_mut().rev() {
                let cur = (rem << 32) | *l as u64;
                *l = (cur / 1_000_000_000) as u32;
                rem = cur % 1_000_000_000;
            }
            while limbs.last() == Some(&0) {
                limbs.pop();
            }
            chunks.push(rem as u32);
        }
        let mut s = chunks.last().map_or("0".to_string(), |c| c.to_string());
        for c in chunks.iter().rev().skip(1) {
            s.push_str(&format!("{c:09}"));
        }
        s
    }
}

/// Rounds `n * 2^e` (plus less than `2^e` more when `sticky`) to nearest-even in the long
/// double format. With `sticky`, `n` must have at least 66 bits.
fn round(neg: bool, n: &Big, e: i64, sticky: bool) -> LongDouble {
    if n.is_zero() {
        return LongDouble::Finite { neg, mant: 0, exp: 0 };
    }
    let mut t = (e + n.bits() - 64).max(MIN_LSB_EXP);
    let shift = t - e;
    let mut mant;
    if shift <= 0 {
        mant = n.bits_at(0) << (-shift);
    } else {
        mant = n.bits_at(shift);
        let half = n.bit(shift - 1);
        let lower = sticky || n.any_below(shift - 1);
        if half && (lower || mant & 1 == 1) {
            mant = match mant.checked_add(1) {
                Some(m) => m,
                None => {
                    t += 1;
                    1 << 63
                }
            };
        }
    }
    if t > MAX_LSB_EXP {
        return LongDouble::Inf { neg };
    }
    LongDouble::Finite { neg, mant, exp: t }
}

/// `a / b` rounded into a long double (`a > 0`).
fn divide(neg: bool, a: &Big, b: &Big) -> LongDouble {
    let s = 66 + b.bits() - a.bits();
    let (num, den) = if s >= 0 { (a.shl(s as u64), b.clone()) } else { (a.clone(), b.shl((-s) as u64)) };
    let mut rem = num;
    let mut q: u128 = 0;
    for i in (0..68).rev() {
        let t = den.shl(i);
        if rem.cmp(&t) != Ordering::Less {
            rem = rem.sub(&t);
            q |= 1u128 << i;
        }
    }
    round(neg, &Big::from_u128(q), -s, !rem.is_zero())
}

/// Parses as Redis's `string2ld`: the whole string must be a `strtold` number (decimal or
/// hex, `inf`/`infinity` allowed), no leading space, not NaN, and not out of range (an
/// overflow, or a nonzero value that rounds to zero). Denormals are accepted.
pub(crate) fn parse(s: &[u8]) -> Option<LongDouble> {
    if s.is_empty() || s.len() >= MAX_CHARS || is_c_space(s[0]) {
        return None;
    }
    let (neg, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    if lower == b"inf" || lower == b"infinity" {
        return Some(LongDouble::Inf { neg });
    }
    let (hex, digits_part) = if lower.starts_with(b"0x") { (true, &lower[2..]) } else { (false, &lower[..]) };
    let radix: u32 = if hex { 16 } else { 10 };
    let exp_mark = if hex { b'p' } else { b'e' };
    let mut n = Big(Vec::new());
    let (mut any_digit, mut seen_dot, mut frac_digits, mut i) = (false, false, 0i64, 0);
    let mut dec_digits: Vec<u8> = Vec::new();
    while i < digits_part.len() {
        let c = digits_part[i];
        if c == b'.' && !seen_dot {
            seen_dot = true;
        } else if let Some(d) = (c as char).to_digit(radix) {
            any_digit = true;
            if seen_dot {
                frac_digits += 1;
            }
            if hex {
                n.mul_add_small(16, d);
            } else {
                dec_digits.push(d as u8);
            }
        } else {
            break;
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    let mut exp: i64 = 0;
    if i < digits_part.len() {
        if digits_part[i] != exp_mark {
            return None;
        }
        let rest = &digits_part[i + 1..];
        let (eneg, edigits) = match rest.first() {
            Some(b'-') => (true, &rest[1..]),
            Some(b'+') => (false, &rest[1..]),
            _ => (false, rest),
        };
        if edigits.is_empty() || !edigits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        for &d in edigits {
            exp = (exp * 10 + (d - b'0') as i64).min(1_000_000_000);
        }
        if eneg {
            exp = -exp;
        }
    }
    if hex {
        let e2 = exp - 4 * frac_digits;
        if n.is_zero() {
            return Some(LongDouble::Finite { neg, mant: 0, exp: 0 });
        }
        if e2 + n.bits() < MIN_LSB_EXP - 2 {
            return None;
        }
        return in_range(round(neg, &n, e2, false));
    }
    // Decimal: digits * 10^e10, leading and trailing zeros stripped.
    let first = dec_digits.iter().position(|&d| d != 0);
    let Some(first) = first else {
        return Some(LongDouble::Finite { neg, mant: 0, exp: 0 });
    };
    let last = dec_digits.iter().rposition(|&d| d != 0).unwrap_or(first);
    let e10 = exp - frac_digits + (dec_digits.len() - 1 - last) as i64;
    let digits = &dec_digits[first..=last];
    let lead_exp = e10 + digits.len() as i64 - 1;
    if lead_exp > 4940 {
        return None;
    }
    if lead_exp < -4960 {
        return None;
    }
    for &d in digits {
        n.mul_add_small(10, d as u32);
    }
    let v = if e10 >= 0 {
        n.mul_pow10(e10 as u64);
        round(neg, &n, 0, false)
    } else {
        let mut den = Big::from_u128(1);
        den.mul_pow10((-e10) as u64);
        divide(neg, &n, &den)
    };
    in_range(v)
}

/// `strtold` flags ERANGE for an overflow or a nonzero input that rounded to zero; `string2ld` rejects both.
fn in_range(v: LongDouble) -> Option<LongDouble> {
    match v {
        LongDouble::Inf { .. } | LongDouble::Finite { mant: 0, .. } => None,
        v => Some(v),
    }
}

impl LongDouble {
    /// Positive zero.
    pub(crate) const ZERO: LongDouble = LongDouble::Finite { neg: false, mant: 0, exp: 0 };

    /// True for infinities.
    pub(crate) fn is_infinite(&self) -> bool {
        matches!(self, LongDouble::Inf { .. })
    }

    /// The sum, correctly rounded; None for NaN (infinities of opposite signs).
    pub(crate) fn add(self, other: LongDouble) -> Option<LongDouble> {
        use LongDouble::{Finite, Inf};
        match (self, other) {
            (Inf { neg: a }, Inf { neg: b }) => (a == b).then_some(Inf { neg: a }),
            (Inf { neg }, _) | (_, Inf { neg }) => Some(Inf { neg }),
            (Finite { neg: na, mant: 0, .. }, Finite { neg: nb, mant: 0, .. }) => {
                Some(Finite { neg: na && nb, mant: 0, exp: 0 })
            }
            (Finite { mant: 0, .. }, x) | (x, Finite { mant: 0, .. }) => Some(x),
            (Finite { neg: na, mant: ma, exp: ea }, Finite { neg: nb, mant: mb, exp: eb }) => {
                let top_a = ea + 64 - ma.leading_zeros() as i64;
                let top_b = eb + 64 - mb.leading_zeros() as i64;
                if (ea - eb).abs() > 200 {
                    // The smaller is below a quarter of the larger's last place.
                    return Some(if top_a > top_b { self } else { other });
                }
                let emin = ea.min(eb);
                let a = Big::from_u128(ma as u128).shl((ea - emin) as u64);
                let b = Big::from_u128(mb as u128).shl((eb - emin) as u64);
                Some(if na == nb {
                    round(na, &a.add(&b), emin, false)
                } else {
                    match a.cmp(&b) {
                        Ordering::Equal => Finite { neg: false, mant: 0, exp: 0 },
                        Ordering::Greater => round(na, &a.sub(&b), emin, false),
                        Ordering::Less => round(nb, &b.sub(&a), emin, false),
                    }
                })
            }
        }
    }

    /// `ld2string(LD_STR_HUMAN)`: `%.17Lf`, trailing zeros and a trailing dot removed, and
    /// `-0` written as `0`. Infinities print as `inf`/`-inf`.
    pub(crate) fn to_human(self) -> String {
        let (neg, mant, exp) = match self {
            LongDouble::Inf { neg } => return if neg { "-inf".into() } else { "inf".into() },
            LongDouble::Finite { neg, mant, exp } => (neg, mant, exp),
        };
        let mut n = Big::from_u128(mant as u128);
        let scaled = if exp >= 0 {
            let mut n = n.shl(exp as u64);
            n.mul_pow10(17);
            n
        } else {
            n.mul_pow10(17);
            let shift = -exp;
            let mut q = Big::from_u128(0);
            // q = n >> shift
            let limbs = (shift / 32) as usize;
            if limbs < n.0.len() {
                let off = (shift % 32) as u32;
                let src = &n.0[limbs..];
                let mut out = Vec::with_capacity(src.len());
                for (i, &l) in src.iter().enumerate() {
                    let hi = if off == 0 { 0 } else { src.get(i + 1).map_or(0, |&h| h << (32 - off)) };
                    out.push((l >> off) | hi);
                }
                q = Big(out);
                q.trim();
            }
            let half = n.bit(shift - 1);
            let more = n.any_below(shift - 1);
            if half && (more || q.bit(0)) {
                q = q.add(&Big::from_u128(1));
            }
            q
        };
        let mut digits = scaled.to_decimal();
        if digits.len() < 18 {
            digits = format!("{}{digits}", "0".repeat(18 - digits.len()));
        }
        let (int_part, frac) = digits.split_at(digits.len() - 17);
        let frac = frac.trim_end_matches('0');
        let mut out = String::with_capacity(digits.len() + 2);
        if neg {
            out.push('-');
        }
        out.push_str(int_part);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        if out == "-0" {
            out = "0".into();
        }
        out
    }
}
