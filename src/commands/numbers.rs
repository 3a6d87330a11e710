//! Numbers as Redis reads and prints them, shared by the command families: integers as
//! `string2ll` accepts them (no `+`, no leading zero), doubles as `strtod` and `string2d` read
//! them and as `%.17g` prints them. The text is what a learner compares with a real server
//! (`ZADD z 1.1 a` then `ZSCORE z a` answers "1.1000000000000001"), so it is written out here
//! rather than left to Rust's own parsing and formatting, which differ at the edges (hex floats,
//! `inf`, leading spaces, denormals). `long_double` does the same for INCRBYFLOAT's `long double`.

/// Parses a whole argument as a signed 64-bit integer, as Redis's `string2ll` does.
pub(crate) fn parse_i64(arg: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(arg).ok()?;
    if s.is_empty() || s.len() > 20 || s.starts_with('+') || (s.len() > 1 && s.starts_with('0')) || s.starts_with("-0")
    {
        return None;
    }
    s.parse().ok()
}

/// C's `isspace` in the "C" locale.
pub(super) fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `x * 2^e` without intermediate overflow or underflow where the result is representable.
fn ldexp(mut x: f64, mut e: i64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    while e > 1000 && x.is_finite() {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 && x != 0.0 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e as i32)
}

/// C's `strtod` (glibc, "C" locale) on a byte string: the value, how many bytes it used (0: no
/// conversion) and whether it set `ERANGE` with an overflowed or underflowed-to-zero result.
pub(crate) fn strtod(s: &[u8]) -> (f64, usize, bool) {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let sign = |v: f64| if neg { -v } else { v };
    let rest = &s[i..];
    let starts_ci = |p: &[u8]| rest.len() >= p.len() && rest[..p.len()].eq_ignore_ascii_case(p);
    if starts_ci(b"infinity") {
        return (sign(f64::INFINITY), i + 8, false);
    }
    if starts_ci(b"inf") {
        return (sign(f64::INFINITY), i + 3, false);
    }
    if starts_ci(b"nan") {
        let mut n = i + 3;
        if s.get(n) == Some(&b'(') {
            let mut j = n + 1;
            while j < s.len() && (s[j].is_ascii_alphanumeric() || s[j] == b'_') {
                j += 1;
            }
            if s.get(j) == Some(&b')') {
                n = j + 1;
            }
        }
        return (f64::NAN, n, false);
    }
    let hex_digit = |c: u8| (c as char).to_digit(16);
    if rest.len() > 2
        && rest[0] == b'0'
        && (rest[1] | 0x20) == b'x'
        && (hex_digit(rest[2]).is_some() || (rest[2] == b'.' && rest.get(3).and_then(|&c| hex_digit(c)).is_some()))
    {
        let mut j = i + 2;
        let (mut mant, mut exp, mut nonzero) = (0f64, 0i64, false);
        let mut seen_point = false;
        while j < s.len() {
            if let Some(d) = hex_digit(s[j]) {
                nonzero |= d != 0;
                if mant < 2f64.powi(60) {
                    mant = mant * 16.0 + d as f64;
                    if seen_point {
                        exp -= 4;
                    }
                } else if !seen_point {
                    exp += 4;
                }
            } else if s[j] == b'.' && !seen_point {
                seen_point = true;
            } else {
                break;
            }
            j += 1;
        }
        if j < s.len() && (s[j] | 0x20) == b'p' {
            let mut k = j + 1;
            let mut eneg = false;
            if k < s.len() && (s[k] == b'+' || s[k] == b'-') {
                eneg = s[k] == b'-';
                k += 1;
            }
            if k < s.len() && s[k].is_ascii_digit() {
                let mut e: i64 = 0;
                while k < s.len() && s[k].is_ascii_digit() {
                    e = (e * 10 + (s[k] - b'0') as i64).min(1 << 40);
                    k += 1;
                }
                exp += if eneg { -e } else { e };
                j = k;
            }
        }
        let v = ldexp(mant, exp);
        let erange = v.is_infinite() || (v == 0.0 && nonzero);
        return (sign(v), j, erange);
    }
    // Decimal: digits, an optional point and digits (at least one digit in all), an optional
    // exponent that counts only when digits follow it.
    let mut j = i;
    let mut text = String::from(if neg { "-" } else { "" });
    let mut digits = 0;
    let mut nonzero = false;
    while j < s.len() && s[j].is_ascii_digit() {
        nonzero |= s[j] != b'0';
        text.push(s[j] as char);
        digits += 1;
        j += 1;
    }
    if j < s.len() && s[j] == b'.' {
        text.push('.');
        j += 1;
        while j < s.len() && s[j].is_ascii_digit() {
            nonzero |= s[j] != b'0';
            text.push(s[j] as char);
            digits += 1;
            j += 1;
        }
    }
    if digits == 0 {
        return (0.0, 0, false);
    }
    if j < s.len() && (s[j] | 0x20) == b'e' {
        let mut k = j + 1;
        let mut etext = String::from("e");
        if k < s.len() && (s[k] == b'+' || s[k] == b'-') {
            etext.push(s[k] as char);
            k += 1;
        }
        if k < s.len() && s[k].is_ascii_digit() {
            while k < s.len() && s[k].is_ascii_digit() {
                etext.push(s[k] as char);
                k += 1;
            }
            text.push_str(&etext);
            j = k;
        }
    }
    let v: f64 = text.parse().unwrap_or(0.0);
    let erange = v.is_infinite() || (v == 0.0 && nonzero);
    (v, j, erange)
}

/// Redis's `getDoubleFromObject` (`string2d`): the whole argument must be a float, with no
/// leading space, no overflow or underflow to zero, and not NaN. `inf`, `-inf` and hex floats
/// are accepted, as by `strtod`.
pub(crate) fn parse_f64(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || is_c_space(arg[0]) {
        return None;
    }
    let (v, used, erange) = strtod(arg);
    if used != arg.len() || (erange && (v.is_infinite() || v == 0.0)) || v.is_nan() {
        return None;
    }
    Some(v)
}

/// A double as Redis replies with it (`addReplyDouble`): `%.17g`, with `inf` and `-inf`.
pub(crate) fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // 17 significant digits, correctly rounded (ties to even, as glibc).
    let sci = format!("{:.16e}", d.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::from(if d < 0.0 { "-" } else { "" });
    if !(-4..17).contains(&exp) {
        let frac = digits[1..].trim_end_matches('0');
        out.push_str(&digits[..1]);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        out.push_str(&format!("e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs()));
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        out.push_str(&digits[..int_len]);
        let frac = digits[int_len..].trim_end_matches('0');
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
    } else {
        out.push_str("0.");
        out.push_str(&"0".repeat((-exp - 1) as usize));
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn doubles_print_like_percent_17g() {
        let cases = [
            (1.1, "1.1000000000000001"),
            (1.0, "1"),
            (16.0, "16"),
            (0.1, "0.10000000000000001"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (-1.5e-7, "-1.4999999999999999e-07"),
            (1e-310, "9.9999999999999694e-311"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-0.0, "-0"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ];
        for (d, s) in cases {
            assert_eq!(format_double(d), s, "{d:e}");
        }
    }

    #[test]
    fn floats_parse_like_string2d_and_strtod() {
        for ok in ["1", "-2.5", ".5", "5.", "1e5", "1E+5", "inf", "-Infinity", "0x10", "0x1.8p1", "1e-310", "0e-400"] {
            assert!(parse_f64(ok.as_bytes()).is_some(), "{ok}");
        }
        for bad in ["", " 1", "1 ", "abc", "1e400", "-1e400", "1e-400", "nan", "1e", "0x", "1\x002", "--1", "1_0"] {
            assert!(parse_f64(bad.as_bytes()).is_none(), "{bad:?}");
        }
        assert_eq!(parse_f64(b"0x1.8p1"), Some(3.0));
        assert_eq!(parse_f64(b"0x0p5000"), Some(0.0));
        assert_eq!(parse_f64(b"0x1p-1074"), Some(5e-324));
    }
}
