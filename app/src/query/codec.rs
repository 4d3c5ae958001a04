//! The URL format of a view, shared by the page and the API. See docs/url-format.md.
//!
//! `?range=24h&action=user.login,user.logout&method!=GET&status=5xx&context.cluster=prod-eu&q=deploy`

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::columns::{encode_columns, encode_widths, parse_columns, parse_widths};
use super::field::Field;
use super::filter::{encode_values, parse_values, FilterValue};
use super::time_range::{format_instant, parse_instant, RelativeRange, TimeRange};
use super::view::{ViewState, DEFAULT_LIMIT, MAX_LIMIT};

/// Bytes escaped in keys and values; everything else stays readable.
const QUERY_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b';')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

pub const MAX_SEARCH_LEN: usize = 200;
pub const MAX_CURSOR_LEN: usize = 256;

/// A parameter that could not be used, and why. The API answers 400 with these; the page
/// shows them as a notice and ignores only these parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryProblem {
    pub param: String,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecodedQuery {
    pub view: ViewState,
    pub problems: Vec<QueryProblem>,
    /// Parameters the caller said it handles itself (e.g. `prefix`, `tz`), decoded.
    pub extras: Vec<(String, String)>,
    /// True when the query had no view parameters at all (the page then shows its default).
    pub is_empty: bool,
}

/// The selection part of a view (filters and search) in canonical form, without its time
/// range, page, columns or live flag: what an alert rule or a SIEM destination keeps.
/// Every unusable parameter as "param: message".
pub fn selection_only(query: &str) -> Result<String, Vec<String>> {
    let decoded = decode_query(query.trim(), &[]);
    if !decoded.problems.is_empty() {
        return Err(decoded.problems.iter().map(|p| format!("{}: {}", p.param, p.message)).collect());
    }
    let mut view = decoded.view.with_cursor(None).with_event(None).with_columns(None).with_widths(None).with_live(false);
    view.limit = super::view::DEFAULT_LIMIT;
    // Without the range (the default one is always written first).
    Ok(encode_query(&view).split('&').filter(|p| !p.starts_with("range=") && !p.is_empty()).collect::<Vec<_>>().join("&"))
}

/// Encodes a view canonically: the same view always gives the same string.
pub fn encode_query(view: &ViewState) -> String {
    let mut params: Vec<(String, String)> = Vec::new();
    match view.range {
        TimeRange::Relative(r) => params.push(("range".into(), r.to_string())),
        TimeRange::Absolute { from, to } => {
            params.push(("from".into(), format_instant(from)));
            if let Some(to) = to {
                params.push(("to".into(), format_instant(to)));
            }
        }
    }
    for filter in view.filters() {
        let key = if filter.negated { format!("{}!", filter.field.key()) } else { filter.field.key() };
        params.push((key, encode_values(filter.values())));
    }
    if let Some(q) = &view.search {
        params.push(("q".into(), q.clone()));
    }
    if view.live {
        params.push(("live".into(), "1".into()));
    }
    if view.limit != DEFAULT_LIMIT {
        params.push(("limit".into(), view.limit.to_string()));
    }
    if let Some(cursor) = &view.cursor {
        params.push(("cursor".into(), cursor.clone()));
    }
    if let Some(event) = view.event {
        params.push(("event".into(), event.to_string()));
    }
    if let Some(columns) = &view.columns {
        params.push(("cols".into(), encode_columns(columns)));
    }
    if let Some(widths) = &view.widths {
        params.push(("colw".into(), encode_widths(widths)));
    }
    params
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Decodes a query string (with or without the leading `?`). Never fails: every parameter
/// that cannot be used is reported in `problems` and left out of the view.
pub fn decode_query(query: &str, extra_params: &[&str]) -> DecodedQuery {
    let mut out = DecodedQuery { is_empty: true, ..DecodedQuery::default() };
    let mut seen: Vec<String> = Vec::new();
    let (mut relative, mut from, mut to) = (None, None, None);
    let mut filters: Vec<(Field, bool, Vec<FilterValue>)> = Vec::new();

    for pair in query.trim_start_matches('?').split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = match (unescape(raw_key), unescape(raw_value)) {
            (Ok(k), Ok(v)) => (k, v),
            _ => {
                out.problem(raw_key, "is not valid UTF-8 after percent-decoding");
                continue;
            }
        };
        // No text PostgreSQL stores can hold NUL: a value with one could never match.
        if key.contains('\0') || value.contains('\0') {
            out.problem(&key.replace('\0', "\\0"), "must not contain NUL characters");
            continue;
        }
        if extra_params.contains(&key.as_str()) {
            out.extras.push((key, value));
            continue;
        }
        // Columns are how the table looks, not what it selects: the default view keeps them.
        out.is_empty &= key == "cols" || key == "colw";
        let scalar = matches!(key.as_str(), "range" | "from" | "to" | "q" | "live" | "limit" | "cursor" | "event" | "cols" | "colw");
        if scalar {
            if seen.contains(&key) {
                out.problem(&key, "is given more than once");
                continue;
            }
            seen.push(key.clone());
        }
        let result: Result<(), String> = match key.as_str() {
            "range" => RelativeRange::parse(&value).map(|r| relative = Some(r)),
            "from" => parse_instant(&value).map(|t| from = Some(t)),
            "to" => parse_instant(&value).map(|t| to = Some(t)),
            "q" if value.chars().count() > MAX_SEARCH_LEN => {
                Err(format!("is longer than {MAX_SEARCH_LEN} characters"))
            }
            // Fields are joined by line breaks in the searched text: a search holding one
            // would match across two fields.
            "q" if value.contains(crate::event::SEARCH_SEPARATOR) => Err("must be one line (no line breaks)".into()),
            "q" => {
                out.view.search = (!value.is_empty()).then_some(value);
                Ok(())
            }
            "live" => match value.as_str() {
                "1" | "true" => Ok(out.view.live = true),
                "0" | "false" => Ok(out.view.live = false),
                _ => Err("must be 1 or 0".into()),
            },
            "limit" => match value.parse::<u32>() {
                Ok(n @ 1..=MAX_LIMIT) => Ok(out.view.limit = n),
                _ => Err(format!("must be a whole number from 1 to {MAX_LIMIT}")),
            },
            "cursor" if value.is_empty() || value.len() > MAX_CURSOR_LEN => Err("is not a valid page cursor".into()),
            "cursor" => Ok(out.view.cursor = Some(value)),
            "cols" => parse_columns(&value).map(|c| out.view.columns = Some(c)),
            "colw" => parse_widths(&value).map(|w| out.view.widths = Some(w)),
            "event" => Uuid::parse_str(&value)
                .map(|id| out.view.event = Some(id))
                .map_err(|_| format!("{value:?} is not an event id (a UUID)")),
            _ => {
                let (field_key, negated) = match key.strip_suffix('!') {
                    Some(k) => (k, true),
                    None => (key.as_str(), false),
                };
                Field::parse(field_key).and_then(|field| {
                    let values = parse_values(&field, &value)?;
                    match filters.iter_mut().find(|(f, n, _)| *f == field && *n == negated) {
                        Some((_, _, existing)) => existing.extend(values),
                        None => filters.push((field, negated, values)),
                    }
                    Ok(())
                })
            }
        };
        if let Err(message) = result {
            out.problem(&key, &message);
        }
    }

    out.view.range = match (relative, from, to) {
        (Some(r), None, None) => TimeRange::Relative(r),
        (None, Some(from), to) if to.is_none_or(|to| to > from) => TimeRange::Absolute { from, to },
        (None, Some(_), _) => {
            out.problem("to", "must be later than from");
            TimeRange::default()
        }
        (None, None, Some(_)) => {
            out.problem("to", "needs a from");
            TimeRange::default()
        }
        (Some(r), _, _) => {
            out.problem("range", "cannot be combined with from/to");
            TimeRange::Relative(r)
        }
        (None, None, None) => TimeRange::default(),
    };
    let cursor = out.view.cursor.take();
    for (field, negated, values) in filters {
        out.view = std::mem::take(&mut out.view).with_filter_values(field, negated, values);
    }
    out.view.cursor = cursor;
    out
}

impl DecodedQuery {
    fn problem(&mut self, param: &str, message: &str) {
        self.problems.push(QueryProblem { param: param.to_string(), message: message.to_string() });
    }
}

fn escape(text: &str) -> String {
    utf8_percent_encode(text, QUERY_ESCAPES).to_string()
}

/// `&key=value` for a parameter outside the view (e.g. `tz`), escaped like the view's own.
pub fn extra_param(key: &str, value: &str) -> String {
    format!("&{}={}", escape(key), escape(value))
}

fn unescape(text: &str) -> Result<String, std::str::Utf8Error> {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8().map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::time_range::TimeUnit;

    #[test]
    fn the_documented_example_decodes_and_re_encodes_identically() {
        let url = "range=24h&action=user.login,user.logout&method!=GET&status=5xx&context.cluster=prod-eu&q=deploy";
        let decoded = decode_query(url, &[]);
        assert_eq!(decoded.problems, vec![]);
        assert_eq!(decoded.view.filters().len(), 4);
        assert_eq!(decoded.view.range, TimeRange::Relative(RelativeRange::new(24, TimeUnit::Hour)));
        assert_eq!(encode_query(&decoded.view), url);
    }

    #[test]
    fn special_characters_are_escaped_and_restored() {
        let view = ViewState::default()
            .with_filter_values(Field::ResourceName, false, [FilterValue::Exact("a,b & c=d #1 50% \"q\" 🚀".into())])
            .with_search("ünïcode + space");
        let encoded = encode_query(&view);
        assert!(!encoded.contains(' ') && !encoded.contains('#') && !encoded.contains('"'), "{encoded}");
        assert_eq!(decode_query(&encoded, &[]).view, view);
    }

    #[test]
    fn bad_parameters_are_reported_and_the_rest_is_kept() {
        let decoded = decode_query("?range=24x&action=a&colour=red&status=999&limit=0", &[]);
        let params: Vec<&str> = decoded.problems.iter().map(|p| p.param.as_str()).collect();
        assert_eq!(params, vec!["range", "colour", "status", "limit"]);
        assert_eq!(decoded.view.filters().len(), 1, "the good action filter survives");
    }

    #[test]
    fn repeated_filter_parameters_add_values() {
        let decoded = decode_query("action=a&action=b", &[]);
        assert_eq!(encode_query(&decoded.view), "range=24h&action=a,b");
    }

    #[test]
    fn absolute_ranges_and_conflicts() {
        let ok = decode_query("from=2026-11-20T10:00:00Z&to=2026-11-20T11:00:00.5Z", &[]);
        assert!(ok.problems.is_empty());
        assert_eq!(encode_query(&ok.view), "from=2026-11-20T10:00:00Z&to=2026-11-20T11:00:00.500Z");
        let reversed = decode_query("from=2026-11-20T10:00:00Z&to=2026-11-20T09:00:00Z", &[]);
        assert_eq!(reversed.problems[0].param, "to");
        assert_eq!(decode_query("range=1h&from=2026-11-20T10:00:00Z", &[]).problems[0].param, "range");
    }

    #[test]
    fn extras_are_passed_through_and_emptiness_is_known() {
        let decoded = decode_query("prefix=us&range=1h", &["prefix"]);
        assert_eq!(decoded.extras, vec![("prefix".to_string(), "us".to_string())]);
        assert!(!decoded.is_empty);
        assert!(decode_query("", &[]).is_empty);
        assert!(decode_query("prefix=x", &["prefix"]).is_empty);
    }

    #[test]
    fn a_search_is_one_line() {
        let decoded = decode_query("q=deploy%0Aadmin", &[]);
        assert_eq!(decoded.problems.len(), 1);
        assert!(decoded.problems[0].message.contains("one line"));
        assert_eq!(decoded.view.search, None);
    }

    #[test]
    fn a_zone_with_a_plus_sign_reaches_the_server_intact() {
        for zone in ["Etc/GMT+5", "America/Argentina/Buenos_Aires", "Etc/GMT-14"] {
            let query = format!("range=1h{}", extra_param("tz", zone));
            assert_eq!(decode_query(&query, &["tz"]).extras, vec![("tz".to_string(), zone.to_string())], "{query}");
        }
    }

    #[test]
    fn nul_characters_are_refused_in_any_parameter() {
        for query in ["q=%00", "action=%00", "actor.name=a%00b", "prefix=%00", "tz=UTC%00", "%00=1"] {
            let decoded = decode_query(query, &["prefix", "tz"]);
            assert_eq!(decoded.problems.len(), 1, "{query}: {:?}", decoded.problems);
            assert!(decoded.problems[0].message.contains("NUL"), "{query}");
            assert!(decoded.extras.is_empty(), "{query}: a refused value is not passed on");
        }
    }
}
