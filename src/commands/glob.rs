//! Redis's glob patterns (`stringmatchlen`), for KEYS, SCAN's MATCH, CONFIG GET and the key
//! browser. Written out rather than taken from a glob crate because Redis's dialect is its own:
//! `[b-a]` is the range `a`–`b`, an unclosed `[` ends at the pattern's end, a trailing `\`
//! matches itself and an empty string matches nothing, not even `*`. Patterns are untrusted
//! input, so the matcher gives up where Redis does (nesting of `*` bounded, no retrying a
//! longer match once one failed) instead of backtracking without end.

/// Redis's `stringmatchlen`: glob matching with `*`, `?`, `[...]` (ranges, `^` negation) and `\`
/// escapes, optionally case-insensitive. Used by KEYS, SCAN MATCH and CONFIG GET.
pub(crate) fn string_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, s, nocase, &mut skip_longer, 0)
}

fn match_impl(p: &[u8], s: &[u8], nocase: bool, skip_longer: &mut bool, nesting: usize) -> bool {
    // Redis bounds the recursion so a pattern of many stars cannot take exponential time.
    if nesting > 1000 {
        return false;
    }
    let low = |c: u8| if nocase { c.to_ascii_lowercase() } else { c };
    let (mut pi, mut si) = (0usize, 0usize);
    while pi < p.len() && si < s.len() {
        match p[pi] {
            b'*' => {
                while pi + 1 < p.len() && p[pi + 1] == b'*' {
                    pi += 1;
                }
                if pi + 1 == p.len() {
                    return true;
                }
                while si < s.len() {
                    if match_impl(&p[pi + 1..], &s[si..], nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    si += 1;
                }
                *skip_longer = true;
                return false;
            }
            b'?' => si += 1,
            b'[' => {
                pi += 1;
                let not = p.get(pi) == Some(&b'^');
                if not {
                    pi += 1;
                }
                let c = low(s[si]);
                let mut matched = false;
                loop {
                    if pi >= p.len() {
                        // Unterminated class: step back so the end of the pattern ends it.
                        pi -= 1;
                        break;
                    }
                    if p[pi] == b'\\' && p.len() - pi >= 2 {
                        pi += 1;
                        matched |= low(p[pi]) == c;
                    } else if p[pi] == b']' {
                        break;
                    } else if p.len() - pi >= 3 && p[pi + 1] == b'-' {
                        let (mut lo, mut hi) = (low(p[pi]), low(p[pi + 2]));
                        if lo > hi {
                            std::mem::swap(&mut lo, &mut hi);
                        }
                        pi += 2;
                        matched |= c >= lo && c <= hi;
                    } else {
                        matched |= low(p[pi]) == c;
                    }
                    pi += 1;
                }
                if matched == not {
                    return false;
                }
                si += 1;
            }
            _ => {
                if p[pi] == b'\\' && p.len() - pi >= 2 {
                    pi += 1;
                }
                if low(p[pi]) != low(s[si]) {
                    return false;
                }
                si += 1;
            }
        }
        pi += 1;
        if si == s.len() {
            while pi < p.len() && p[pi] == b'*' {
                pi += 1;
            }
            break;
        }
    }
    pi == p.len() && si == s.len()
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::string_match;

    #[test]
    fn glob_like_stringmatchlen() {
        let m = |p: &str, s: &str| string_match(p.as_bytes(), s.as_bytes(), false);
        assert!(m("*", "abc") && m("a*c", "abbbc") && m("h?llo", "hello") && m("h[ae]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello") && m("h[a-b]llo", "hbllo") && m("h[b-a]llo", "hallo"));
        assert!(m("h\\*o", "h*o") && !m("h\\*o", "hello"));
        assert!(!m("*", ""), "Redis never enters the loop for an empty string");
        assert!(m("", ""));
        assert!(m("a[b", "ab"), "an unterminated class ends with the pattern");
        assert!(string_match(b"REPL-*", b"repl-timeout", true));
        assert!(!m(&"*a".repeat(50), &"a".repeat(40)));
    }
}
