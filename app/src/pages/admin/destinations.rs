//! `/admin/destinations`: streaming the audit log to SIEMs — syslog (CEF or JSON), Splunk HEC,
//! signed webhooks. The list shows each destination's state and lag and is read again every
//! few seconds; test, pause, edit, delete (a row: `destinations_row.rs`). The form is in
//! `destinations_form.rs`.

use leptos::prelude::*;

use super::destinations_form::{DestinationForm, Editing};
use super::destinations_row::DestinationRow;
use super::AdminFrame;
use crate::browser::focus_id_soon;
use crate::client::get_json;
use crate::components::toolbar::copy_text;
use crate::destinations::Destination;

pub(super) const API: &str = "/api/v1/destinations";

/// The list is read again this often (state, lag and counts move without a reload).
const REFRESH_MS: u64 = 5000;

#[component]
pub fn DestinationsPage() -> impl IntoView {
    let first = Resource::new(|| (), |_| get_json::<Vec<Destination>>(API.into()));
    view! {
        <AdminFrame current="/admin/destinations" title="Destinations"
            lede="Stream the audit log to your SIEM as it is written: syslog (CEF or JSON, over TLS), Splunk HTTP Event Collector, or signed webhooks. Each destination keeps its own position: a receiver that was down gets every event it missed when it is back.">
            <Transition fallback=|| view! { <p class="muted">"Loading destinations…"</p> }>
                {move || first.get().map(|result| match result {
                    Ok(list) => view! { <Destinations first=list/> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                })}
            </Transition>
        </AdminFrame>
    }
}

/// What the list and the form share.
#[derive(Clone, Copy)]
pub(super) struct Board {
    pub(super) list: RwSignal<Vec<Destination>>,
    editing: RwSignal<Option<Editing>>,
    /// A sentence after a change, shown and read out.
    pub(super) notice: RwSignal<Option<String>>,
    /// A webhook secret the server made, with its destination's name: shown once.
    secret: RwSignal<Option<(String, String)>>,
    /// Why reading the list again fails, while it fails.
    stale: RwSignal<Option<String>>,
    /// Reads of the list started; an answer older than the newest read is dropped.
    reads: StoredValue<u64>,
    reading: StoredValue<bool>,
}

impl Board {
    /// Reads the list again now (after a change).
    pub(super) fn reload(self) {
        self.reads.update_value(|n| *n += 1);
        let mine = self.reads.get_value();
        self.reading.set_value(true);
        leptos::task::spawn_local(async move {
            let result = get_json::<Vec<Destination>>(API.into()).await;
            if self.reads.try_get_value() != Some(mine) {
                return;
            }
            self.reading.set_value(false);
            match result {
                Ok(list) => {
                    if self.list.with_untracked(|l| *l != list) {
                        self.list.set(list);
                    }
                    if self.stale.get_untracked().is_some() {
                        self.stale.set(None);
                    }
                }
                Err(e) => {
                    let why = Some(format!("The list could not be refreshed: {}", e.message));
                    if self.stale.get_untracked() != why {
                        self.stale.set(why);
                    }
                }
            }
        });
    }

    /// The timer's read, unless one is still on its way.
    fn poll(self) {
        if !self.reading.try_get_value().unwrap_or(true) {
            self.reload();
        }
    }

    pub(super) fn open(self, editing: Editing) {
        self.notice.set(None);
        self.editing.set(Some(editing));
        focus_id_soon("dest-name".into());
    }

    pub(super) fn close(self) {
        self.editing.set(None);
        focus_id_soon("dest-add".into());
    }

    /// After a successful save: the notice, the new secret if the server made one, the list.
    pub(super) fn saved(self, notice: String, secret: Option<(String, String)>) {
        let next = if secret.is_some() { "dest-secret-copy" } else { "dest-add" };
        self.editing.set(None);
        self.secret.set(secret);
        self.notice.set(Some(notice));
        self.reload();
        focus_id_soon(next.into());
    }

    pub(super) fn replace(self, changed: Destination) {
        self.list.update(|l| {
            if let Some(d) = l.iter_mut().find(|d| d.id == changed.id) {
                *d = changed;
            }
        });
    }

    pub(super) fn removed(self, id: &str, name: String) {
        if self.editing.with_untracked(|e| matches!(e, Some(Editing::Change(d)) if d.id == id)) {
            self.editing.set(None);
        }
        self.list.update(|l| l.retain(|d| d.id != id));
        self.notice.set(Some(format!("“{name}” was deleted.")));
        self.reload();
        focus_id_soon("dest-add".into());
    }
}

#[component]
fn Destinations(first: Vec<Destination>) -> impl IntoView {
    let board = Board {
        list: RwSignal::new(first),
        editing: RwSignal::new(None),
        notice: RwSignal::new(None),
        secret: RwSignal::new(None),
        stale: RwSignal::new(None),
        reads: StoredValue::new(0),
        reading: StoredValue::new(false),
    };
    #[cfg(feature = "hydrate")]
    if let Ok(handle) = set_interval_with_handle(move || board.poll(), std::time::Duration::from_millis(REFRESH_MS)) {
        on_cleanup(move || handle.clear());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (REFRESH_MS, Board::poll);
    let ids = move || board.list.with(|l| l.iter().map(|d| d.id.clone()).collect::<Vec<_>>());
    view! {
        <div role="status" class="dest-live">
            {move || board.notice.get().map(|n| view! { <p class="account-notice">{n}</p> })}
        </div>
        {move || board.secret.get().map(|(name, secret)| view! { <SecretNotice name secret board/> })}
        {move || board.editing.get().map(|editing| view! { <DestinationForm editing board/> })}
        <div class="dest-toolbar">
            <Show when=move || board.editing.with(Option::is_none)>
                <button type="button" id="dest-add" class="button primary" on:click=move |_| board.open(Editing::New)>"Add a destination"</button>
            </Show>
            <span class="muted">"State and lag are refreshed every 5 seconds."</span>
        </div>
        {move || board.stale.get().map(|why| view! { <p class="form-error" role="alert">{why}</p> })}
        <div class="admin-table-wrap dest-table-wrap">
            <table class="admin-table dest-table">
                <caption class="visually-hidden">"Destinations"</caption>
                <thead><tr>
                    <th scope="col">"Destination"</th><th scope="col">"Events"</th><th scope="col">"State"</th>
                    <th scope="col">"Delivered"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                {move || board.list.with(Vec::is_empty).then(|| view! {
                    <tbody><tr><td colspan="5" class="empty-row">
                        "No destinations yet. Add one to send every new event — or only those of a view — to your SIEM."
                    </td></tr></tbody>
                })}
                <For each=ids key=|id| id.clone() children=move |id| view! { <DestinationRow id board/> }/>
            </table>
        </div>
    }
}

/// The signing secret the server made for a new webhook: to copy now, never shown again.
#[component]
fn SecretNotice(name: String, secret: String, board: Board) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = secret.clone();
    view! {
        <div class="link-notice" role="status">
            <p>"The signing secret of " <strong><bdi>{name}</bdi></strong>
               " — give it to the receiver to check signatures. Copy it now: it will not be shown again."</p>
            <div class="link-row">
                <input class="link-value" readonly=true value=secret aria-label="Webhook signing secret"/>
                <button type="button" id="dest-secret-copy" class="button" on:click=move |_| copy_text(text.clone(), move |ok| copied.set(ok))>
                    {move || if copied.get() { "Copied" } else { "Copy secret" }}
                </button>
                <button type="button" class="button" on:click=move |_| board.secret.set(None)>"Done"</button>
            </div>
        </div>
    }
}
