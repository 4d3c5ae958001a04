//! Reading a request body into JSON items: one object, an array, or NDJSON lines.

use serde_json::Value;

/// The most events one request may carry (413 past it).
pub const MAX_BATCH: usize = 1000;
/// The largest request body accepted (413 past it).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    NdJson,
}

impl BodyFormat {
    /// From a Content-Type header; `None` for anything we do not read.
    pub fn from_content_type(content_type: Option<&str>) -> Option<BodyFormat> {
        let essence = content_type?.split(';').next()?.trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/json" => Some(BodyFormat::Json),
            "application/x-ndjson" | "application/ndjson" | "application/jsonl" => Some(BodyFormat::NdJson),
            _ => None,
        }
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Malformed { line: usize, column: usize, message: String },
    #[error("the request holds {count} events; at most {MAX_BATCH} are accepted per request")]
    TooMany { count: usize },
    #[error("the request holds no events")]
    Empty,
    /// Items (by index) holding an integer beyond the 64-bit range, which JSON parsers —
    /// ours included — can only keep approximately.
    #[error("{} event(s) hold an integer too large to keep exactly", .0.len())]
    InexactNumbers(Vec<usize>),
}

/// Parses the body. Line and column numbers refer to the body as sent.
pub fn parse_body(bytes: &[u8], format: BodyFormat) -> Result<Vec<Value>, BodyError> {
    let items = match format {
        BodyFormat::Json => match serde_json::from_slice::<Value>(bytes).map_err(malformed(0))? {
            Value::Array(items) => items,
            single => vec![single],
        },
        BodyFormat::NdJson => {
            let mut items = Vec::new();
            for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if items.len() == MAX_BATCH {
                    return Err(BodyError::TooMany { count: MAX_BATCH + 1 });
                }
                items.push(serde_json::from_slice::<Value>(line).map_err(malformed(i))?);
            }
            items
        }
    };
    match items.len() {
        0 => return Err(BodyError::Empty),
        n if n > MAX_BATCH => return Err(BodyError::TooMany { count: n }),
        _ => {}
    }
    let inexact = items_with_huge_integers(bytes, format);
    if inexact.is_empty() {
        Ok(items)
    } else {
        Err(BodyError::InexactNumbers(inexact))
    }
}

fn malformed(line_offset: usize) -> impl Fn(serde_json::Error) -> BodyError {
    move |e| BodyError::Malformed {
        line: e.line() + line_offset,
        column: e.column(),
        message: e.to_string().split(" at line").next().unwrap_or_default().to_string(),
    }
}

/// Indexes of the items (of a body that parsed) holding an integer literal outside the
/// ranges of i64 and u64. Such a number would be silently rounded to a float; it is refused
/// instead (send it as a string to keep every digit).
fn items_with_huge_integers(bytes: &[u8], format: BodyFormat) -> Vec<usize> {
    match format {
        BodyFormat::Json => huge_integers(bytes),
        BodyFormat::NdJson => bytes
            .split(|b| *b == b'\n')
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .enumerate()
            .filter(|(_, line)| !huge_integers(line).is_empty())
            .map(|(index, _)| index)
            .collect(),
    }
}

/// For one JSON text: the indexes of the elements of a top-level array (or 0 for any other
/// value) that hold an integer beyond 64 bits.
fn huge_integers(bytes: &[u8]) -> Vec<usize> {
    let mut found = Vec::new();
    let (mut item, mut depth, mut root_is_array) = (0usize, 0usize, false);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' => {
                root_is_array |= depth == 0 && bytes[i] == b'[';
                depth += 1;
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 1 && root_is_array => item += 1,
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i + 1 < bytes.len() && matches!(bytes[i + 1], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    i += 1;
                }
                let token = std::str::from_utf8(&bytes[start..=i]).unwrap_or("");
                let integer = !token.contains(['.', 'e', 'E']);
                if integer && token.parse::<i64>().is_err() && token.parse::<u64>().is_err() && found.last() != Some(&item) {
                    found.push(item);
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(BodyFormat::from_content_type(Some("application/json; charset=utf-8")), Some(BodyFormat::Json));
        assert_eq!(BodyFormat::from_content_type(Some("application/x-ndjson")), Some(BodyFormat::NdJson));
        assert_eq!(BodyFormat::from_content_type(Some("text/plain")), None);
        assert_eq!(BodyFormat::from_content_type(None), None);
    }

    #[test]
    fn single_array_and_lines() {
        assert_eq!(parse_body(br#"{"a":1}"#, BodyFormat::Json).map(|v| v.len()), Ok(1));
        assert_eq!(parse_body(br#"[{"a":1},{"a":2}]"#, BodyFormat::Json).map(|v| v.len()), Ok(2));
        assert_eq!(parse_body(b"{\"a\":1}\n\n{\"a\":2}\n", BodyFormat::NdJson).map(|v| v.len()), Ok(2));
        assert_eq!(parse_body(b"[]", BodyFormat::Json), Err(BodyError::Empty));
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let err = parse_body(b"{\"a\":1}\n{\"a\": oops}\n", BodyFormat::NdJson).expect_err("malformed");
        assert!(matches!(err, BodyError::Malformed { line: 2, column: 7, .. }), "{err:?}");
        let err = parse_body(b"[\n {\"a\":1},\n {\"a\":\n", BodyFormat::Json).expect_err("malformed");
        assert!(matches!(err, BodyError::Malformed { line: 4, .. }), "{err:?}");
    }

    #[test]
    fn integers_beyond_64_bits_are_refused_by_item() {
        let body = br#"[{"a": 1}, {"m": {"n": 18446744073709551615, "s": "99999999999999999999"}}, {"m": [-9223372036854775808, 1e300, 2.5]}, {"m": 18446744073709551616}]"#;
        assert_eq!(parse_body(body, BodyFormat::Json), Err(BodyError::InexactNumbers(vec![3])));
        let lines = b"{\"a\": 1}\n\n{\"b\": -99999999999999999999}\n{\"c\": [1, 2]}\n";
        assert_eq!(parse_body(lines, BodyFormat::NdJson), Err(BodyError::InexactNumbers(vec![1])));
        assert!(parse_body(br#"{"m": 123456789012345678901234567890}"#, BodyFormat::Json).is_err());
    }

    #[test]
    fn batch_limit() {
        let body = format!("[{}]", vec!["{}"; MAX_BATCH + 1].join(","));
        assert_eq!(parse_body(body.as_bytes(), BodyFormat::Json), Err(BodyError::TooMany { count: MAX_BATCH + 1 }));
    }
}
