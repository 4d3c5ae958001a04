//! The events table's rows as HTML text, written by one function on the server (into the page,
//! readable without JavaScript) and in the browser (after a new page of events arrives). The
//! rows are not hydrated: the table handles clicks and keys for all of them at once, so the
//! page's hydration data does not repeat them (see docs/architecture.md, "Rows once").
//!
//! Every value from an event is untrusted: escaped here, its hidden characters made visible
//! ([`crate::reveal`]), its direction isolated by the stylesheet.

use chrono::{DateTime, Utc};

use crate::event::{Event, Outcome};
use crate::format::{actor_badge, status_class, time_exact, time_short};
use crate::query::Field;
use crate::reveal::reveal;
use crate::zone::DisplayZone;

/// How rows are written: which columns, in which zone, relative to which "now".
pub struct RowStyle<'a> {
    pub columns: &'a [Field],
    pub zone: &'a DisplayZone,
    pub now: DateTime<Utc>,
}

/// `text` safe inside HTML text and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An untrusted value as shown: hidden characters marked, then escaped.
fn shown(text: &str) -> String {
    escape(&reveal(text))
}

/// The CSS class of a column's cells and header, e.g. `col-actor-name`, `col-context-team`.
pub fn column_class(field: &Field) -> String {
    format!("col-{}", field.key().replace('.', "-"))
}

/// The `<tr>` of every event, newest first. `fresh` rows (just arrived live) animate.
pub fn rows_html(events: &[Event], style: &RowStyle, fresh: &[uuid::Uuid]) -> String {
    let mut html = String::with_capacity(events.len() * 900);
    for event in events {
        row(&mut html, event, style, fresh.contains(&event.id));
    }
    html
}

fn row(html: &mut String, event: &Event, style: &RowStyle, fresh: bool) {
    let classes = match (event.outcome == Outcome::Failure, fresh) {
        (true, true) => " class=\"failed fresh\"",
        (true, false) => " class=\"failed\"",
        (false, true) => " class=\"fresh\"",
        (false, false) => "",
    };
    let t = event.occurred_at;
    let offset = style.zone.offset_minutes(t);
    html.push_str(&format!(
        "<tr tabindex=\"0\" id=\"row-{}\"{classes}><td class=\"col-time\"><time datetime=\"{}\" title=\"{}\">{}</time></td>",
        event.id,
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        time_exact(t, offset),
        time_short(t, offset, style.now)
    ));
    for field in style.columns {
        cell(html, event, field);
    }
    html.push_str("</tr>");
}

/// One cell. Click-to-filter uses its value: `data-v` when the text shown differs from it,
/// else the text of the cell's first element (the page stays small).
fn cell(html: &mut String, event: &Event, field: &Field) {
    let value = field.value_of(event);
    html.push_str(&format!("<td class=\"{}\"", column_class(field)));
    if let Some(v) = value.as_deref().filter(|v| !shows_as_itself(field, v)) {
        html.push_str(&format!(" data-v=\"{}\"", escape(v)));
    }
    html.push('>');
    let Some(v) = value else {
        html.push_str("</td>");
        return;
    };
    match field {
        Field::ActorName => {
            let title = event.actor.email.as_deref().unwrap_or(&event.actor.id);
            html.push_str(&format!("<span class=\"actor-name\" title=\"{}\">{}</span>", escape(title), shown(&v)));
            if let Some(badge) = actor_badge(event) {
                html.push_str(&format!("<span class=\"badge badge-{}\">{badge}</span>", badge.to_ascii_lowercase()));
            }
        }
        Field::Action => {
            let request = format!("{} {}", event.method.as_deref().unwrap_or_default(), event.path.as_deref().unwrap_or_default());
            let title = match request.trim() {
                "" => String::new(),
                r => format!(" title=\"{}\"", escape(r)),
            };
            html.push_str(&format!("<span class=\"action mono\"{title}>{}</span>", shown(&v)));
        }
        Field::Status => {
            let class = event.status.map_or("", status_class);
            html.push_str(&format!("<span class=\"status {class}\">{}</span>", shown(&v)));
        }
        Field::Outcome => {
            let failed = event.outcome == Outcome::Failure;
            let (class, label) = if failed { ("outcome outcome-failure", "Failure") } else { ("outcome", "Success") };
            html.push_str(&format!("<span class=\"{class}\">{label}</span>"));
        }
        Field::ResourceName => {
            if let Some(r) = &event.resource {
                html.push_str(&format!(
                    "<span class=\"resource-type\">{}</span><span class=\"resource-name\" title=\"{}\">{}</span>",
                    shown(&r.resource_type),
                    escape(r.id.as_deref().unwrap_or_default()),
                    shown(&v)
                ));
            }
        }
        Field::Method | Field::RequestId | Field::Ip | Field::Path | Field::ActorId | Field::ResourceId => {
            let class = if *field == Field::Method { "method mono" } else { "mono" };
            html.push_str(&format!("<span class=\"{class}\">{}</span>", shown(&v)));
        }
        _ => html.push_str(&format!("<span>{}</span>", shown(&v))),
    }
    html.push_str("</td>");
}

/// Whether the cell's first element shows exactly `value` (so it needs no `data-v`).
fn shows_as_itself(field: &Field, value: &str) -> bool {
    let first_is_value = !matches!(field, Field::Outcome | Field::ResourceName);
    first_is_value && !crate::reveal::has_hidden(value) && !value.is_empty()
}

/// The "only this" / "not this" buttons added to a row's cells when it is hovered or focused
/// (not sent with every row: the page would be three times larger).
pub fn filter_buttons_html(label: &str, value: &str) -> String {
    let (label, value) = (escape(label), shown(value));
    format!(
        "<span class=\"filter-buttons\"><button type=\"button\" class=\"mini mini-is\" data-op=\"is\" title=\"Show only {label} is {value}\" aria-label=\"Filter: {label} is {value}\"></button>\
         <button type=\"button\" class=\"mini mini-is-not\" data-op=\"not\" title=\"Hide {label} is {value}\" aria-label=\"Exclude: {label} is {value}\"></button></span>"
    )
}

/// A link to a resource's history, offered in its cell beside the filter buttons.
pub fn history_link_html(kind: &str, id: &str) -> String {
    format!(
        "<a class=\"mini mini-history\" href=\"{}\" title=\"History of this {}\" aria-label=\"History of {} {}\"></a>",
        escape(&crate::insight::resource_path(kind, id)),
        escape(kind),
        escape(kind),
        shown(id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::sample_event;
    use crate::query::columns::default_columns;

    fn style(columns: &[Field]) -> RowStyle<'_> {
        const UTC: &DisplayZone = &DisplayZone { name: None, utc: true };
        RowStyle { columns, zone: UTC, now: Utc::now() }
    }

    #[test]
    fn event_text_cannot_become_markup() {
        let mut event = sample_event();
        event.actor.name = "<script>alert(1)</script>".into();
        event.action = "a\" onmouseover=\"x".into();
        event.actor.email = Some("'><img src=x>".into());
        let html = rows_html(&[event], &style(&default_columns()), &[]);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("\" onmouseover"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn hidden_characters_are_shown_but_filters_use_the_raw_value() {
        let mut event = sample_event();
        event.actor.name = "admin\u{202E}txt.exe".into();
        let html = rows_html(&[event], &style(&[Field::ActorName]), &[]);
        assert!(html.contains(">admin⟦U+202E⟧txt.exe<"), "{html}");
        assert!(html.contains("data-v=\"admin\u{202E}txt.exe\""), "the raw value for filters: {html}");
        let plain = rows_html(&[sample_event()], &style(&[Field::ActorName, Field::Outcome]), &[]);
        assert!(!plain.contains("<td class=\"col-actor-name\" data-v"), "shown as itself: no copy needed: {plain}");
        assert!(plain.contains("data-v=\"success\""), "the outcome's label is not its value: {plain}");
    }

    #[test]
    fn rows_have_the_chosen_columns_in_order_and_empty_cells_without_a_value() {
        let mut event = sample_event();
        event.status = None;
        event.context.insert("team".into(), "machinery".into());
        let columns = [Field::Context("team".into()), Field::Status, Field::Action];
        let html = rows_html(&[event.clone()], &style(&columns), &[event.id]);
        let team = html.find("col-context-team").expect("team column");
        let status = html.find("col-status").expect("status column");
        let action = html.find("col-action").expect("action column");
        assert!(team < status && status < action, "{html}");
        assert!(html.contains("<td class=\"col-status\"></td>"), "no value, no data-v: {html}");
        assert!(html.contains("class=\"fresh\"") || html.contains("class=\"failed fresh\""));
        assert_eq!(html.matches("<td").count(), 4, "time and three columns");
    }

    #[test]
    fn filter_buttons_name_the_value_safely() {
        let html = filter_buttons_html("Action", "x\"><b>");
        assert!(html.contains("aria-label=\"Filter: Action is x&quot;&gt;&lt;b&gt;\""), "{html}");
        assert!(html.contains("data-op=\"not\""));
        let link = history_link_html("project", "p\"1<");
        assert!(link.contains("href=\"/resources/project/p%221%3C\""), "{link}");
        assert!(link.contains("aria-label=\"History of project p&quot;1&lt;\""), "{link}");
    }
}
