//! One destination of `/admin/destinations`: what it sends where, its state and lag, its
//! last error, and its buttons (test with the receiver's answer, pause or resume, edit,
//! delete after a confirmation).

use leptos::prelude::*;

use super::destinations::{Board, API};
use super::destinations_form::Editing;
use super::{when, Problem};
use crate::browser::focus_id_soon;
use crate::client::{send_for, send_json, ClientError};
use crate::destinations::{DeliveryState, DeliveryStatus, Destination, DestinationInput, DestinationKind, DestinationSettings, DestinationTest, SyslogFormat, SyslogTransport};
use crate::format::thousands;

#[component]
pub(super) fn DestinationRow(id: String, board: Board) -> impl IntoView {
    let path = StoredValue::new(format!("{API}/{id}"));
    let id = StoredValue::new(id);
    let dest = Memo::new(move |_| id.with_value(|id| board.list.with(|l| l.iter().find(|d| &d.id == id).cloned().unwrap_or_default())));
    let settings = Memo::new(move |_| dest.with(|d| d.settings.clone()));
    let status = Memo::new(move |_| dest.with(|d| d.status.clone()));
    let name = move || settings.with(|s| s.name.clone());
    let error = RwSignal::new(None::<ClientError>);
    let tested = RwSignal::new(None::<Result<DestinationTest, ClientError>>);
    let testing = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let test = move |_| {
        testing.set(true);
        tested.set(None);
        leptos::task::spawn_local(async move {
            let result = send_for::<DestinationTest>("POST", format!("{}/test", path.get_value()), None).await;
            tested.set(Some(result));
            testing.set(false);
            board.reload();
        });
    };
    let toggle = move |_| {
        let mut settings = settings.get_untracked();
        settings.enabled = !settings.enabled;
        let verb = if settings.enabled { "resumed" } else { "paused" };
        let notice = format!("“{}” {verb}.", settings.name);
        let body = serde_json::to_string(&DestinationInput { settings, ..Default::default() }).ok();
        leptos::task::spawn_local(async move {
            match send_for::<Destination>("PUT", path.get_value(), body).await {
                Ok(changed) => {
                    error.set(None);
                    board.replace(changed);
                    board.notice.set(Some(notice));
                    board.reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let delete = move |_| {
        leptos::task::spawn_local(async move {
            match send_json("DELETE", path.get_value(), None).await {
                Ok(_) => board.removed(&id.get_value(), name()),
                Err(e) => {
                    confirming.set(false);
                    error.set(Some(e));
                }
            }
        });
    };
    let confirm_id = move || format!("dest-delete-{}", id.get_value());
    view! {
        <tbody class="dest-group">
            <tr>
                <td data-label="Destination">{move || settings.with(|s| view! {
                    <div class="dest-cell">
                        <span class="dest-title"><bdi class="dest-name">{s.name.clone()}</bdi><span class="role-chip">{s.kind.label()}</span></span>
                        <bdi class="dest-target">{target_label(s)}</bdi>
                    </div>
                })}</td>
                <td data-label="Events">{move || settings.with(|s| if s.filter.is_empty() {
                    view! { <span class="muted">"All events"</span> }.into_any()
                } else {
                    view! { <a class="dest-filter" href=format!("/?{}", s.filter) title="Open these events in the explorer"><bdi>{s.filter.clone()}</bdi></a> }.into_any()
                })}</td>
                <td data-label="State">{move || status.with(|st| view! {
                    <div class="dest-cell">
                        <span class=format!("state-chip dest-state {}", state_class(st.state))>{st.state.label()}</span>
                        <span class="dest-sub">{lag_label(st)}</span>
                        {st.failing_since.as_deref().filter(|_| matches!(st.state, DeliveryState::Retrying | DeliveryState::Failing))
                            .map(|t| view! { <span class="dest-sub">{format!("since {}", when(t))}</span> })}
                    </div>
                })}</td>
                <td data-label="Delivered">{move || status.with(|st| view! {
                    <div class="dest-cell">
                        <span class="dest-count">{thousands(st.delivered.max(0) as u64)}</span>
                        <span class="dest-sub">{st.last_delivery_at.as_deref().map(|t| format!("last {}", when(t))).unwrap_or_else(|| "Nothing sent yet".into())}</span>
                    </div>
                })}</td>
                <td class="dest-actions">
                    <Show when=move || confirming.get() fallback=move || view! {
                        <div class="row-actions">
                            <button type="button" class="button small" disabled=move || testing.get()
                                aria-label=move || format!("Test {}", name()) on:click=test>
                                {move || if testing.get() { "Testing…" } else { "Test" }}
                            </button>
                            <button type="button" class="button small" on:click=toggle
                                aria-label=move || format!("{} {}", pause_verb(settings.with(|s| s.enabled)), name())>
                                {move || pause_verb(settings.with(|s| s.enabled))}
                            </button>
                            <button type="button" class="button small" aria-label=move || format!("Edit {}", name())
                                on:click=move |_| board.open(Editing::Change(Box::new(dest.get_untracked())))>"Edit"</button>
                            <button type="button" class="button small danger" aria-label=move || format!("Delete {}", name())
                                on:click=move |_| { confirming.set(true); focus_id_soon(confirm_id()); }>"Delete"</button>
                        </div>
                    }>
                        <div class="dest-confirm" role="group" aria-label=move || format!("Delete {}?", name())>
                            <p>"Delete " <strong><bdi>{name}</bdi></strong> "? Nothing more is sent; what the receiver has stays there."</p>
                            <div class="row-actions">
                                <button type="button" class="button small danger" id=confirm_id on:click=delete>"Delete"</button>
                                <button type="button" class="button small" on:click=move |_| confirming.set(false)>"Cancel"</button>
                            </div>
                        </div>
                    </Show>
                </td>
            </tr>
            {move || error.get().map(|_| view! { <tr class="dest-detail"><td colspan="5"><Problem error/></td></tr> })}
            {move || status.with(|st| st.last_error.clone().map(|message| {
                let current = matches!(st.state, DeliveryState::Retrying | DeliveryState::Failing);
                let at = st.last_error_at.as_deref().map(|t| format!(" · {}", when(t))).unwrap_or_default();
                view! {
                    <tr class="dest-detail"><td colspan="5">
                        <p class="dest-error" class:current=current><strong>"Last error"</strong>{at}": "<bdi>{message}</bdi></p>
                    </td></tr>
                }
            }))}
            {move || tested.get().map(|result| view! {
                <tr class="dest-detail"><td colspan="5"><TestBox result on_close=move || tested.set(None)/></td></tr>
            })}
        </tbody>
    }
}

/// What a test delivery showed: green when the receiver took the event, red otherwise.
#[component]
fn TestBox(result: Result<DestinationTest, ClientError>, on_close: impl Fn() + 'static) -> impl IntoView {
    let (ok, title, answer) = match result {
        Ok(t) => (
            t.ok,
            format!("{} · {} ms", if t.ok { "Test event delivered" } else { "Test event not delivered" }, thousands(t.took_ms)),
            Some(t.answer).filter(|a| !a.trim().is_empty()).unwrap_or_else(|| "(no answer)".into()),
        ),
        Err(e) => (false, "The test could not run".into(), e.message),
    };
    view! {
        <div class="dest-test" class:ok=ok class:failed=!ok role=if ok { "status" } else { "alert" }>
            <div class="dest-test-head">
                <strong>{title}</strong>
                <button type="button" class="button small" on:click=move |_| on_close()>"Dismiss"</button>
            </div>
            <span class="dest-sub">"The receiver's answer:"</span>
            <pre>{answer}</pre>
        </div>
    }
}

fn pause_verb(enabled: bool) -> &'static str {
    if enabled { "Pause" } else { "Resume" }
}

fn state_class(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Ok => "dest-ok",
        DeliveryState::Retrying => "dest-retrying",
        DeliveryState::Failing => "dest-failing",
        DeliveryState::Paused => "dest-paused",
    }
}

/// "siem.example.com:6514 · TLS · CEF", or the URL.
fn target_label(s: &DestinationSettings) -> String {
    match s.kind {
        DestinationKind::Syslog => {
            let host = if s.host.contains(':') { format!("[{}]", s.host) } else { s.host.clone() };
            let transport = match s.transport {
                SyslogTransport::Tls => "TLS",
                SyslogTransport::Tcp => "TCP",
                SyslogTransport::Udp => "UDP",
            };
            let format = match s.format {
                SyslogFormat::Cef => "CEF",
                SyslogFormat::Json => "JSON",
            };
            format!("{host}:{} · {transport} · {format}", s.port)
        }
        DestinationKind::SplunkHec | DestinationKind::Webhook => s.url.clone(),
    }
}

/// "Up to date", or "12,345 events / 3 min behind".
fn lag_label(status: &DeliveryStatus) -> String {
    if status.lag_events <= 0 {
        return "Up to date".into();
    }
    let events = if status.lag_events == 1 { "1 event".to_string() } else { format!("{} events", thousands(status.lag_events as u64)) };
    if status.lag_seconds > 0 {
        format!("{events} / {} behind", duration_label(status.lag_seconds))
    } else {
        format!("{events} behind")
    }
}

/// "45 s", "3 min", "2 h 5 min", "3 days".
fn duration_label(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => match (s / 3600, s % 3600 / 60) {
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m} min"),
        },
        s if s < 2 * 86_400 => "1 day".into(),
        s => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_reads_in_events_and_time() {
        let status = |lag_events, lag_seconds| DeliveryStatus { lag_events, lag_seconds, ..Default::default() };
        assert_eq!(lag_label(&status(0, 0)), "Up to date");
        assert_eq!(lag_label(&status(1, 0)), "1 event behind");
        assert_eq!(lag_label(&status(12_345, 185)), "12,345 events / 3 min behind");
        assert_eq!(duration_label(45), "45 s");
        assert_eq!(duration_label(2 * 3600 + 5 * 60), "2 h 5 min");
        assert_eq!(duration_label(3600), "1 h");
        assert_eq!(duration_label(86_400 + 5), "1 day");
        assert_eq!(duration_label(3 * 86_400), "3 days");
    }

    #[test]
    fn targets_read_as_addresses() {
        let mut s = DestinationSettings { host: "siem.example.com".into(), port: 6514, ..Default::default() };
        assert_eq!(target_label(&s), "siem.example.com:6514 · TLS · CEF");
        (s.host, s.port, s.transport, s.format) = ("2001:db8::1".into(), 514, SyslogTransport::Udp, SyslogFormat::Json);
        assert_eq!(target_label(&s), "[2001:db8::1]:514 · UDP · JSON");
        s.kind = DestinationKind::Webhook;
        s.url = "https://hooks.example.com/in".into();
        assert_eq!(target_label(&s), "https://hooks.example.com/in");
    }
}
