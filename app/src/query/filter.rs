//! One filter: a field, include or exclude, and the values it tests.

use serde::{Deserialize, Serialize};

use super::field::{Field, FieldKind};

/// One value of a filter. `Prefix` comes from a trailing `*` (`project.*`); an empty prefix
/// (`*` alone) means "has any value". `StatusClass(5)` is `5xx`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum FilterValue {
    Exact(String),
    Prefix(String),
    StatusClass(u8),
}

impl FilterValue {
    pub fn matches(&self, value: &str) -> bool {
        match self {
            FilterValue::Exact(v) => v == value,
            FilterValue::Prefix(p) => value.starts_with(p.as_str()),
            FilterValue::StatusClass(c) => value
                .parse::<u16>()
                .is_ok_and(|code| code / 100 == u16::from(*c)),
        }
    }

    /// The value as a person reads it in a pill: `project.*`, `5xx`, `GET`.
    pub fn display(&self) -> String {
        match self {
            FilterValue::Exact(v) => v.clone(),
            FilterValue::Prefix(p) => format!("{p}*"),
            FilterValue::StatusClass(c) => format!("{c}xx"),
        }
    }
}

/// "field is any of values" or, negated, "field is not any of values". Values are kept
/// sorted and unique so equal filters compare (and encode) equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Filter {
    pub field: Field,
    pub negated: bool,
    values: Vec<FilterValue>,
}

impl Filter {
    /// A filter with at least one value; `None` when `values` is empty.
    pub fn new(field: Field, negated: bool, values: impl IntoIterator<Item = FilterValue>) -> Option<Filter> {
        let mut values: Vec<FilterValue> = values.into_iter().collect();
        values.sort();
        values.dedup();
        (!values.is_empty()).then_some(Filter { field, negated, values })
    }

    pub fn values(&self) -> &[FilterValue] {
        &self.values
    }

    /// Whether an event whose field holds `value` (None: absent) passes this filter.
    /// An exclude filter keeps events that lack the field.
    pub fn matches_value(&self, value: Option<&str>) -> bool {
        let hit = value.is_some_and(|v| self.values.iter().any(|f| f.matches(v)));
        hit != self.negated
    }

    /// The operator as the filter builder names it.
    pub fn operator_label(&self) -> &'static str {
        match (self.negated, self.values.len() > 1) {
            (false, false) => "is",
            (false, true) => "is any of",
            (true, false) => "is not",
            (true, true) => "is not any of",
        }
    }
}

/// Splits a URL value list on unescaped commas and parses each value for `field`.
/// `\,` `\\` `\*` are literal; an unescaped trailing `*` makes a prefix wildcard.
pub fn parse_values(field: &Field, raw: &str) -> Result<Vec<FilterValue>, String> {
    split_escaped(raw)?
        .into_iter()
        .map(|(text, wildcard)| parse_value(field, text, wildcard))
        .collect()
}

fn split_escaped(raw: &str) -> Result<Vec<(String, bool)>, String> {
    let mut out = Vec::new();
    let mut current = String::new();
    // An unescaped `*` seen last: a wildcard if the value ends here, else an ordinary `*`.
    let mut pending_star = false;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == ',' {
            out.push((std::mem::take(&mut current), pending_star));
            pending_star = false;
            continue;
        }
        if pending_star {
            current.push('*');
            pending_star = false;
        }
        match c {
            '\\' => match chars.next() {
                Some(next) => current.push(next),
                None => return Err("ends with a lone backslash (write \\\\ for a backslash)".into()),
            },
            '*' => pending_star = true,
            other => current.push(other),
        }
    }
    out.push((current, pending_star));
    Ok(out)
}

fn parse_value(field: &Field, text: String, wildcard: bool) -> Result<FilterValue, String> {
    if text.is_empty() && !wildcard {
        return Err("has an empty value".into());
    }
    match field.kind() {
        FieldKind::Text if wildcard => Ok(FilterValue::Prefix(text)),
        FieldKind::Text => Ok(FilterValue::Exact(text)),
        // `*` alone ("has any value") and `!=*` ("has none") work on every field.
        _ if wildcard && text.is_empty() => Ok(FilterValue::Prefix(String::new())),
        _ if wildcard => Err(format!("does not take wildcards ({text}*)")),
        FieldKind::Status => parse_status(&text),
        FieldKind::Enum if *field == Field::Method => {
            let verb = text.to_ascii_uppercase();
            if verb.chars().all(|c| c.is_ascii_uppercase()) && verb.len() <= 16 {
                Ok(FilterValue::Exact(verb))
            } else {
                Err(format!("{text:?} is not an HTTP method"))
            }
        }
        FieldKind::Enum => {
            let known = field.known_values();
            if known.contains(&text.as_str()) {
                Ok(FilterValue::Exact(text))
            } else {
                Err(format!("{text:?} is not one of {}", known.join(", ")))
            }
        }
    }
}

fn parse_status(text: &str) -> Result<FilterValue, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(class) = lower.strip_suffix("xx") {
        if let Ok(c @ 1..=5) = class.parse::<u8>() {
            return Ok(FilterValue::StatusClass(c));
        }
    }
    match text.parse::<u16>() {
        Ok(code @ 100..=599) => Ok(FilterValue::Exact(code.to_string())),
        _ => Err(format!("{text:?} is not a status code (100-599) or class (1xx-5xx)")),
    }
}

/// Writes values back in URL form: escaped, comma-separated.
pub fn encode_values(values: &[FilterValue]) -> String {
    let mut out = String::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match value {
            FilterValue::Exact(v) => push_escaped(&mut out, v),
            FilterValue::Prefix(p) => {
                push_escaped(&mut out, p);
                out.push('*');
            }
            FilterValue::StatusClass(c) => out.push_str(&format!("{c}xx")),
        }
    }
    out
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        if matches!(c, '\\' | ',' | '*') {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(field: Field, raw: &str) -> Vec<FilterValue> {
        parse_values(&field, raw).expect("valid")
    }

    #[test]
    fn commas_split_and_escapes_are_literal() {
        assert_eq!(
            values(Field::Action, r"a\,b,c\\,d\*"),
            vec![
                FilterValue::Exact("a,b".into()),
                FilterValue::Exact(r"c\".into()),
                FilterValue::Exact("d*".into())
            ]
        );
    }

    #[test]
    fn trailing_star_is_a_prefix_and_inner_star_is_text() {
        assert_eq!(values(Field::Path, "/api/projects/*"), vec![FilterValue::Prefix("/api/projects/".into())]);
        assert_eq!(values(Field::Path, "a*b"), vec![FilterValue::Exact("a*b".into())]);
        assert_eq!(values(Field::Path, "*"), vec![FilterValue::Prefix(String::new())]);
    }

    #[test]
    fn typed_fields_validate() {
        assert_eq!(values(Field::Status, "5xx,404"), vec![FilterValue::StatusClass(5), FilterValue::Exact("404".into())]);
        assert_eq!(values(Field::Method, "get"), vec![FilterValue::Exact("GET".into())]);
        assert!(parse_values(&Field::Status, "600").is_err());
        assert!(parse_values(&Field::Status, "5*").is_err());
        for field in [Field::Status, Field::Method, Field::Outcome, Field::ActorType] {
            assert_eq!(values(field.clone(), "*"), vec![FilterValue::Prefix(String::new())], "{field:?}: has any value");
        }
        let no_status = Filter::new(Field::Status, true, [FilterValue::Prefix(String::new())]).expect("one value");
        assert!(no_status.matches_value(None) && !no_status.matches_value(Some("200")), "status!=* finds events without a status");
        assert!(parse_values(&Field::Outcome, "maybe").unwrap_err().contains("success, failure"));
        assert!(parse_values(&Field::Action, "a,,b").unwrap_err().contains("empty"));
        assert!(parse_values(&Field::Action, "a\\").unwrap_err().contains("backslash"));
    }

    #[test]
    fn exclude_keeps_events_without_the_field() {
        let not_get = Filter::new(Field::Method, true, [FilterValue::Exact("GET".into())]).expect("one value");
        assert!(not_get.matches_value(None));
        assert!(not_get.matches_value(Some("POST")));
        assert!(!not_get.matches_value(Some("GET")));
        let is_5xx = Filter::new(Field::Status, false, [FilterValue::StatusClass(5)]).expect("one value");
        assert!(is_5xx.matches_value(Some("503")));
        assert!(!is_5xx.matches_value(Some("404")));
        assert!(!is_5xx.matches_value(None));
    }

    #[test]
    fn encoding_escapes_what_parsing_unescapes() {
        let vs = vec![
            FilterValue::Exact("a,b\\c*".into()),
            FilterValue::Prefix("p*".into()),
        ];
        assert_eq!(parse_values(&Field::Action, &encode_values(&vs)), Ok(vs));
    }
}
