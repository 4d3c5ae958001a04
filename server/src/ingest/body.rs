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
        0 => Err(BodyError::Empty),
        n if n > MAX_BATCH => Err(BodyError::TooMany { count: n }),
        _ => Ok(items),
    }
}

fn malformed(line_offset: usize) -> impl Fn(serde_json::Error) -> BodyError {
    move |e| BodyError::Malformed {
        line: e.line() + line_offset,
        column: e.column(),
        message: e.to_string().split(" at line").next().unwrap_or_default().to_string(),
    }
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
    fn batch_limit() {
        let body = format!("[{}]", vec!["{}"; MAX_BATCH + 1].join(","));
        assert_eq!(parse_body(body.as_bytes(), BodyFormat::Json), Err(BodyError::TooMany { count: MAX_BATCH + 1 }));
    }
}
