//! The events table's columns: which fields, in which order, after the time. The URL holds
//! them (`cols=actor.name,action,context.team`) only when someone shares a customised table;
//! otherwise the browser remembers them (a cookie, so the server renders them too).

use super::field::Field;

/// What the table shows when nobody chose otherwise.
pub const DEFAULT_COLUMNS: [Field; 6] =
    [Field::ActorName, Field::Action, Field::Method, Field::Status, Field::ResourceName, Field::Outcome];

/// More columns than this would not fit on any screen.
pub const MAX_COLUMNS: usize = 12;

/// The cookie that remembers the chosen columns in this browser.
pub const COLUMNS_COOKIE: &str = "auditorium_columns";
/// The cookie that remembers the columns' widths in this browser.
pub const WIDTHS_COOKIE: &str = "auditorium_widths";

/// Widths a column can be given, in CSS pixels.
pub const MIN_WIDTH: u16 = 48;
pub const MAX_WIDTH: u16 = 960;

/// Columns someone resized, and their widths (the others share the rest of the table).
pub type Widths = Vec<(Field, u16)>;

/// `ip:120,action:240` → widths. Unknown fields, repeats and widths out of range are refused.
pub fn parse_widths(text: &str) -> Result<Widths, String> {
    let mut widths: Widths = Vec::new();
    for item in text.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        let (key, px) = item.split_once(':').ok_or_else(|| format!("{item:?} is not field:width"))?;
        let field = Field::parse(key).map_err(|e| format!("width of {key:?}: {e}"))?;
        let px: u16 = px.parse().ok().filter(|w| (MIN_WIDTH..=MAX_WIDTH).contains(w))
            .ok_or_else(|| format!("width of {key:?} must be {MIN_WIDTH}-{MAX_WIDTH} pixels"))?;
        if widths.iter().any(|(f, _)| *f == field) {
            return Err(format!("width of {key:?} is given twice"));
        }
        widths.push((field, px));
    }
    Ok(widths)
}

pub fn encode_widths(widths: &[(Field, u16)]) -> String {
    widths.iter().map(|(f, w)| format!("{}:{w}", f.key())).collect::<Vec<_>>().join(",")
}

/// The widths with `field` set to `px` (clamped to the allowed range).
pub fn with_width(mut widths: Widths, field: &Field, px: f64) -> Widths {
    let px = px.round().clamp(f64::from(MIN_WIDTH), f64::from(MAX_WIDTH)) as u16;
    match widths.iter_mut().find(|(f, _)| f == field) {
        Some(entry) => entry.1 = px,
        None => widths.push((field.clone(), px)),
    }
    widths
}

/// The widths this browser remembers (none when the cookie is missing or unusable).
pub fn widths_from_cookie(value: Option<&str>) -> Widths {
    value.and_then(|v| parse_widths(&v.replace('|', ",")).ok()).unwrap_or_default()
}

pub fn widths_cookie_value(widths: &[(Field, u16)]) -> String {
    encode_widths(widths).replace(',', "|")
}

pub fn default_columns() -> Vec<Field> {
    DEFAULT_COLUMNS.to_vec()
}

/// The columns as a cookie value (`|` between keys: a cookie value cannot hold commas).
pub fn cookie_value(columns: &[Field]) -> String {
    encode_columns(columns).replace(',', "|")
}

/// The columns this browser remembers, or the default.
pub fn columns_from_cookie(value: Option<&str>) -> Vec<Field> {
    value.and_then(|v| parse_columns(&v.replace('|', ",")).ok()).unwrap_or_else(default_columns)
}

/// `actor.name,action,...` → fields. Unknown keys, repeats and too many columns are refused
/// with a message for the page's notice.
pub fn parse_columns(text: &str) -> Result<Vec<Field>, String> {
    let mut columns: Vec<Field> = Vec::new();
    for key in text.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        let field = Field::parse(key).map_err(|e| format!("column {key:?}: {e}"))?;
        if columns.contains(&field) {
            return Err(format!("column {key:?} is listed twice"));
        }
        columns.push(field);
    }
    match columns.len() {
        0 => Err("must name at least one column".into()),
        n if n > MAX_COLUMNS => Err(format!("can name at most {MAX_COLUMNS} columns")),
        _ => Ok(columns),
    }
}

pub fn encode_columns(columns: &[Field]) -> String {
    columns.iter().map(Field::key).collect::<Vec<_>>().join(",")
}

/// The columns `field` moved one place earlier (`-1`) or later (`+1`); unchanged at an end.
pub fn moved(mut columns: Vec<Field>, field: &Field, by: isize) -> Vec<Field> {
    if let Some(i) = columns.iter().position(|c| c == field) {
        let j = i as isize + by;
        if j >= 0 && (j as usize) < columns.len() {
            columns.swap(i, j as usize);
        }
    }
    columns
}

/// The columns with `field` shown (appended) or hidden; the last column cannot be hidden.
pub fn toggled(mut columns: Vec<Field>, field: &Field) -> Vec<Field> {
    match columns.iter().position(|c| c == field) {
        Some(_) if columns.len() == 1 => {}
        Some(i) => {
            columns.remove(i);
        }
        None if columns.len() < MAX_COLUMNS => columns.push(field.clone()),
        None => {}
    }
    columns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_round_trip_through_their_url_form() {
        let cols = vec![Field::Action, Field::Context("team".into()), Field::Ip];
        assert_eq!(encode_columns(&cols), "action,context.team,ip");
        assert_eq!(parse_columns("action,context.team,ip"), Ok(cols));
        assert_eq!(parse_columns(&encode_columns(&default_columns())), Ok(default_columns()));
    }

    #[test]
    fn bad_column_lists_are_refused_with_a_reason() {
        assert!(parse_columns("").unwrap_err().contains("at least one"));
        assert!(parse_columns("action,colour").unwrap_err().contains("colour"));
        assert!(parse_columns("action,action").unwrap_err().contains("twice"));
        let many = (0..13).map(|i| format!("context.k{i}")).collect::<Vec<_>>().join(",");
        assert!(parse_columns(&many).unwrap_err().contains("at most"));
    }

    #[test]
    fn a_browser_remembers_columns_in_a_cookie() {
        let cols = vec![Field::Ip, Field::Context("team".into())];
        assert_eq!(cookie_value(&cols), "ip|context.team");
        assert_eq!(columns_from_cookie(Some("ip|context.team")), cols);
        assert_eq!(columns_from_cookie(Some("nonsense")), default_columns(), "a bad cookie is the default");
        assert_eq!(columns_from_cookie(None), default_columns());
    }

    #[test]
    fn widths_round_trip_and_stay_in_range() {
        let w = vec![(Field::Ip, 120), (Field::Context("team".into()), 240)];
        assert_eq!(encode_widths(&w), "ip:120,context.team:240");
        assert_eq!(parse_widths("ip:120,context.team:240"), Ok(w.clone()));
        assert_eq!(widths_from_cookie(Some(&widths_cookie_value(&w))), w);
        assert!(parse_widths("ip:5").is_err() && parse_widths("ip:x").is_err() && parse_widths("ip").is_err());
        assert!(parse_widths("ip:100,ip:120").unwrap_err().contains("twice"));
        assert_eq!(with_width(vec![], &Field::Ip, 9000.0), vec![(Field::Ip, MAX_WIDTH)]);
        assert_eq!(with_width(vec![(Field::Ip, 100)], &Field::Ip, 130.4), vec![(Field::Ip, 130)]);
    }

    #[test]
    fn moving_and_toggling_keep_a_usable_table() {
        let cols = vec![Field::Action, Field::Ip, Field::Path];
        assert_eq!(moved(cols.clone(), &Field::Ip, -1), vec![Field::Ip, Field::Action, Field::Path]);
        assert_eq!(moved(cols.clone(), &Field::Path, 1), cols, "the last stays last");
        assert_eq!(toggled(cols.clone(), &Field::Ip), vec![Field::Action, Field::Path]);
        assert_eq!(toggled(cols.clone(), &Field::Source), vec![Field::Action, Field::Ip, Field::Path, Field::Source]);
        assert_eq!(toggled(vec![Field::Action], &Field::Action), vec![Field::Action], "a table keeps one column");
    }
}
