//! The CEF parser of the tests, written from the specification (not from the server's
//! encoder): the export tests and the forwarding tests read CEF with it.

use std::collections::BTreeMap;

/// A CEF line split per the specification: seven header fields (`\|` and `\\` escaped) and
/// the extension's key=value pairs (`\=`, `\\`, `\n`, `\r` escaped; a value runs until the
/// next unescaped `key=`).
pub fn parse_cef(line: &str) -> (Vec<String>, BTreeMap<String, String>) {
    let mut header = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars();
    while header.len() < 7 {
        match chars.next().expect("seven header fields") {
            '\\' => field.push(chars.next().expect("escaped character")),
            '|' => header.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    let extension: Vec<char> = chars.collect();
    // Positions of unescaped `=`; each key is the word before it.
    let mut equals = Vec::new();
    let mut i = 0;
    while i < extension.len() {
        match extension[i] {
            '\\' => i += 1,
            '=' => equals.push(i),
            _ => {}
        }
        i += 1;
    }
    let key_start = |eq: usize| extension[..eq].iter().rposition(|c| *c == ' ').map_or(0, |p| p + 1);
    let mut pairs = BTreeMap::new();
    for (n, &eq) in equals.iter().enumerate() {
        let key: String = extension[key_start(eq)..eq].iter().collect();
        let end = equals.get(n + 1).map_or(extension.len(), |&next| key_start(next).saturating_sub(1));
        let mut value = String::new();
        let mut raw = extension[eq + 1..end].iter();
        while let Some(c) = raw.next() {
            match c {
                '\\' => match raw.next() {
                    Some('n') => value.push('\n'),
                    Some('r') => value.push('\r'),
                    Some(other) => value.push(*other),
                    None => panic!("a dangling backslash in {line}"),
                },
                c => value.push(*c),
            }
        }
        pairs.insert(key, value);
    }
    (header, pairs)
}
