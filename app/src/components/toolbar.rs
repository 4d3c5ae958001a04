//! The top bar's controls: time range, copy link, local time / UTC.

use chrono::{DateTime, Datelike, Timelike, Utc};
use leptos::prelude::*;

use crate::components::icons::{Icon, IconName};
use crate::format::range_label;
use crate::page_state::use_page;
use crate::query::time_range::PRESETS;
use crate::query::{encode_query, Bounds, TimeRange};

/// The window the page currently shows (relative ranges resolved by the server).
fn shown_window() -> Bounds {
    let page = use_page();
    let from_page = page.events.get().and_then(|r| r.ok()).map(|s| Bounds { from: s.page.from, to: s.page.to });
    from_page.unwrap_or_else(|| page.now().range.resolve(Utc::now()))
}

#[component]
pub fn RangePicker() -> impl IntoView {
    let page = use_page();
    let open = RwSignal::new(false);
    let label = move || {
        let view = page.view.get();
        let at = match view.range {
            TimeRange::Absolute { from, .. } => from,
            TimeRange::Relative(_) => Utc::now(),
        };
        range_label(&view.range, page.zone.get().offset_minutes(at))
    };
    let from_input = NodeRef::<leptos::html::Input>::new();
    let to_input = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(None::<String>);
    let local_value = move |t: DateTime<Utc>| {
        let offset = page.zone.get_untracked().offset_minutes(t);
        let l = (t + chrono::Duration::minutes(i64::from(offset))).naive_utc();
        format!("{}-{:02}-{:02}T{:02}:{:02}:{:02}", l.year(), l.month(), l.day(), l.hour(), l.minute(), l.second())
    };
    let apply_custom = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let read = |r: NodeRef<leptos::html::Input>| r.get().map(|i| i.value()).unwrap_or_default();
        let zone = page.zone.get_untracked();
        match (parse_local(&read(from_input), zone.shows_utc()), parse_local(&read(to_input), zone.shows_utc())) {
            (Some(from), Some(to)) if from < to => {
                error.set(None);
                open.set(false);
                page.apply(|v| v.with_range(TimeRange::absolute(from, to)));
            }
            (Some(_), Some(_)) => error.set(Some("The end must be after the start.".into())),
            _ => error.set(Some("Enter both dates and times.".into())),
        }
    };
    view! {
        <div class="popover-anchor">
            <button type="button" class="button range-button" aria-haspopup="dialog"
                aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o)>
                <Icon name=IconName::Clock/>
                <span class="range-label">{label}</span>
                <Icon name=IconName::ChevronDown/>
            </button>
            <Show when=move || open.get()>
                <div class="backdrop" on:click=move |_| open.set(false)></div>
                <div class="popover range-popover" role="dialog" aria-label="Time range"
                    on:keydown=move |ev| if ev.key() == "Escape" { ev.prevent_default(); open.set(false); }>
                    <div class="presets" role="group" aria-label="Presets">
                        {PRESETS.iter().map(|preset| {
                            let preset = *preset;
                            let active = move || page.view.get().range == TimeRange::Relative(preset);
                            view! {
                                <button type="button" class="preset" class:active=active aria-pressed=move || active().to_string()
                                    on:click=move |_| { open.set(false); page.apply(|v| v.with_range(TimeRange::Relative(preset))); }>
                                    {preset.label()}
                                </button>
                            }
                        }).collect_view()}
                    </div>
                    <form class="custom-range" on:submit=apply_custom>
                        <div class="custom-title">{move || format!("Custom range ({})", page.zone.get().label())}</div>
                        <label>"From"
                            <input type="datetime-local" step="1" node_ref=from_input value=move || local_value(shown_window().from)/>
                        </label>
                        <label>"To"
                            <input type="datetime-local" step="1" node_ref=to_input value=move || local_value(shown_window().to)/>
                        </label>
                        {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                        <button type="submit" class="button primary">"Apply range"</button>
                    </form>
                </div>
            </Show>
        </div>
    }
}

/// A `datetime-local` value in the display zone, as UTC.
fn parse_local(text: &str, as_utc: bool) -> Option<DateTime<Utc>> {
    let naive = parse_datetime_local(text)?;
    if as_utc {
        return Some(naive.and_utc());
    }
    crate::browser::local_to_utc(text, naive)
}

/// `2026-11-21T10:00` or `2026-11-21T10:00:05` (what `datetime-local` inputs give).
fn parse_datetime_local(text: &str) -> Option<chrono::NaiveDateTime> {
    let (date, time) = text.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<u32>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':').map(|p| p.split('.').next().and_then(|p| p.parse::<u32>().ok()));
    let (h, min) = (t.next()??, t.next()??);
    let sec = t.next().flatten().unwrap_or(0);
    chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, day)?.and_hms_opt(h, min, sec)
}

#[component]
pub fn CopyLink() -> impl IntoView {
    let page = use_page();
    let open = RwSignal::new(false);
    let copied = RwSignal::new(None::<&'static str>);
    let copy = move |pinned: bool| {
        let mut view = page.now();
        if pinned {
            let window = shown_window();
            view = view.with_range(TimeRange::absolute(window.from, window.to)).with_live(false).with_cursor(page.now().cursor);
        }
        // Columns this browser chose travel with the link (a colleague sees the same table).
        let columns = page.columns.get_untracked();
        if view.columns.is_none() && columns != crate::query::columns::default_columns() {
            view = view.with_columns(Some(columns));
        }
        let widths = page.widths.get_untracked();
        if view.widths.is_none() && !widths.is_empty() {
            view = view.with_widths(Some(widths));
        }
        let link = format!("{}/?{}", origin(), encode_query(&view));
        open.set(false);
        copy_text(link, move |ok| {
            copied.set(Some(if ok { "Link copied" } else { "Copying failed: copy the address bar instead" }));
            set_timeout(move || copied.set(None), std::time::Duration::from_millis(2500));
        });
    };
    view! {
        <div class="popover-anchor">
            <button type="button" class="button" aria-haspopup="menu" aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)>
                <Icon name=IconName::Link/>
                <span class="button-label">"Copy link"</span>
            </button>
            <Show when=move || open.get()>
                <div class="backdrop" on:click=move |_| open.set(false)></div>
                <div class="popover menu" role="menu" on:keydown=move |ev| if ev.key() == "Escape" { open.set(false); }>
                    <button type="button" role="menuitem" class="menu-item" on:click=move |_| copy(true)>
                        <strong>"Fixed time range"</strong>
                        <span class="muted">"Shows the same events tomorrow"</span>
                    </button>
                    <button type="button" role="menuitem" class="menu-item" on:click=move |_| copy(false)>
                        <strong>"Relative time range"</strong>
                        <span class="muted">{move || format!("Always “{}”", range_label(&page.view.get().range, 0))}</span>
                    </button>
                </div>
            </Show>
            {move || copied.get().map(|m| view! { <div class="toast" role="status">{m}</div> })}
        </div>
    }
}

#[component]
pub fn ZoneToggle() -> impl IntoView {
    let page = use_page();
    let toggle = move |_| {
        let utc = !page.zone.get_untracked().utc;
        crate::browser::set_cookie(crate::zone::UTC_COOKIE, if utc { "1" } else { "0" });
        page.zone.update(|z| z.utc = utc);
    };
    view! {
        <button type="button" class="button zone-toggle" aria-pressed=move || page.zone.get().utc.to_string()
            title="Show times in UTC or in your time zone" on:click=toggle>
            {move || if page.zone.get().shows_utc() { "UTC".to_string() } else { "Local time".to_string() }}
        </button>
    }
}

fn origin() -> String {
    crate::browser::origin()
}

/// Copies `text` to the clipboard and reports whether it worked.
pub fn copy_text(text: String, done: impl Fn(bool) + 'static) {
    crate::browser::copy_text(text, done);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_local_values_parse() {
        let at = |s: &str| parse_datetime_local(s).map(|t| t.to_string());
        assert_eq!(at("2026-11-21T10:00").as_deref(), Some("2026-11-21 10:00:00"));
        assert_eq!(at("2026-11-21T10:00:05").as_deref(), Some("2026-11-21 10:00:05"));
        assert_eq!(at("2026-11-21T10:00:05.250").as_deref(), Some("2026-11-21 10:00:05"));
        assert_eq!(at("2026-13-01T10:00"), None);
        assert_eq!(at("yesterday"), None);
    }
}
