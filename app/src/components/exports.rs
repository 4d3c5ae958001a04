//! Exports on the investigation page: the Export menu in the top bar (instant downloads of the
//! view — plain links, so they work before the WebAssembly loads), the export-job dialog, and
//! the panel of export jobs above the table (progress, downloads, delete).

use leptos::prelude::*;

use crate::client::{send_for, send_json, ClientError};
use crate::components::icons::{Icon, IconName};
use crate::components::user_menu::use_me;
use crate::exports::{duration_label, size_label, ExportList, ExportSummary, NewExport, FORMATS};
use crate::format::{describe_filters, range_label, thousands};
use crate::page_state::use_page;
use crate::query::{decode_query, encode_query, view::DEFAULT_LIMIT, TimeRange};

/// The jobs and what the page shows of them; provided by the page.
#[derive(Clone, Copy)]
pub struct Exports {
    version: RwSignal<u32>,
    list: LocalResource<Result<ExportList, ClientError>>,
    /// The panel above the table.
    shown: RwSignal<bool>,
    dialog: RwSignal<bool>,
}

impl Exports {
    pub fn provide() {
        let version = RwSignal::new(0u32);
        let list = LocalResource::new(move || {
            version.track();
            crate::client::get_json::<ExportList>("/api/v1/exports".into())
        });
        let exports = Exports { version, list, shown: RwSignal::new(true), dialog: RwSignal::new(false) };
        // While a job runs, look again every second.
        Effect::new(move |_| {
            if exports.jobs().iter().any(ExportSummary::is_active) {
                set_timeout(move || exports.refresh(), std::time::Duration::from_secs(1));
            }
        });
        provide_context(exports);
    }

    fn jobs(&self) -> Vec<ExportSummary> {
        self.list.get().and_then(Result::ok).map(|l| l.exports).unwrap_or_default()
    }

    fn refresh(&self) {
        self.version.update(|v| *v += 1);
    }
}

fn use_exports() -> Exports {
    expect_context::<Exports>()
}

/// The view to export: what the page shows, without paging, live mode or an opened event.
fn export_query() -> String {
    let view = use_page().view.get().with_event(None).without_layout().with_cursor(None).with_live(false).with_limit(DEFAULT_LIMIT);
    encode_query(&view)
}

#[component]
pub fn ExportMenu() -> impl IntoView {
    let exports = use_exports();
    let menu = NodeRef::<leptos::html::Details>::new();
    let link = move |format: &'static str, bom: bool| {
        move || format!("/api/v1/export?{}&format={format}{}", export_query(), if bom { "&bom=true" } else { "" })
    };
    let active = move || exports.jobs().iter().filter(|j| j.is_active()).count();
    let open_dialog = move |_| {
        crate::browser::close_details(menu);
        exports.dialog.set(true);
    };
    view! {
        <details class="export-menu" node_ref=menu>
            <summary class="button">
                <Icon name=IconName::Download/>
                <span class="button-label">"Export"</span>
                {move || (active() > 0).then(|| view! { <span class="count-badge" title="Export jobs running">{active()}</span> })}
            </summary>
            <div class="popover menu">
                <p class="menu-title">"Download this view now"</p>
                <a class="menu-item" href=link("csv", false) download on:click=move |_| crate::browser::close_details(menu)>
                    <strong>"CSV"</strong>
                    <span class="muted">"UTF-8, one column per field"</span>
                </a>
                <a class="menu-item" href=link("csv", true) download on:click=move |_| crate::browser::close_details(menu)>
                    <strong>"CSV for Excel"</strong>
                    <span class="muted">"The same, with a byte order mark so Excel reads UTF-8"</span>
                </a>
                <a class="menu-item" href=link("ndjson", false) download on:click=move |_| crate::browser::close_details(menu)>
                    <strong>"NDJSON"</strong>
                    <span class="muted">"One JSON event per line, as the API returns it"</span>
                </a>
                <div class="menu-separator" role="separator"></div>
                <button type="button" class="menu-item" on:click=open_dialog>
                    <strong>"Export job…"</strong>
                    <span class="muted">"Any size, in the background: CSV, NDJSON, CEF or XLSX as ZIP files"</span>
                </button>
                {move || (!exports.jobs().is_empty() && !exports.shown.get()).then(|| view! {
                    <button type="button" class="menu-item" on:click=move |_| { crate::browser::close_details(menu); exports.shown.set(true); }>
                        <strong>{format!("Show export jobs ({})", exports.jobs().len())}</strong>
                    </button>
                })}
            </div>
        </details>
        <ExportDialog/>
    }
}

#[component]
fn ExportDialog() -> impl IntoView {
    let exports = use_exports();
    let page = use_page();
    let me = use_me();
    let name = RwSignal::new(String::new());
    let chosen = RwSignal::new(vec!["csv".to_string()]);
    let error = RwSignal::new(None::<ClientError>);
    let busy = RwSignal::new(false);
    let name_input = NodeRef::<leptos::html::Input>::new();
    crate::browser::focus_when_mounted(name_input);
    let close = move || {
        exports.dialog.set(false);
        error.set(None);
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let new = NewExport { name: Some(name.get_untracked()).filter(|n| !n.trim().is_empty()), formats: chosen.get_untracked(), view: export_query() };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let created = send_for::<ExportSummary>("POST", "/api/v1/exports".into(), serde_json::to_string(&new).ok()).await;
            busy.set(false);
            match created {
                Ok(_) => {
                    name.set(String::new());
                    close();
                    exports.shown.set(true);
                    exports.refresh();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let toggle = move |format: &'static str| {
        chosen.update(|c| match c.iter().position(|f| f == format) {
            Some(i) => {
                c.remove(i);
            }
            None => c.push(format.to_string()),
        })
    };
    let range = move || {
        let view = page.view.get();
        let label = range_label(&view.range, page.zone.get().offset_minutes(chrono::Utc::now()));
        match view.range {
            TimeRange::Relative(_) => format!("{label}, counted back from the moment the job starts"),
            TimeRange::Absolute { .. } => label,
        }
    };
    let filters = move || Some(describe_filters(&page.view.get())).filter(|d| !d.is_empty()).unwrap_or_else(|| "None: every event in the range".into());
    let count = move || page.events.get().and_then(Result::ok).map(|s| crate::format::total_label(s.page.total));
    let expiry = move || exports.list.get().and_then(Result::ok).map(|l| duration_label(l.expiry_hours)).unwrap_or_else(|| "7 days".into());
    view! {
        <Show when=move || exports.dialog.get()>
            <div class="modal-backdrop" on:click=move |_| close()></div>
            <div class="modal" role="dialog" aria-modal="true" aria-labelledby="export-title"
                on:keydown=move |ev| if ev.key() == "Escape" { ev.prevent_default(); close(); }>
                <form on:submit=submit>
                    <div class="modal-head">
                        <h2 id="export-title">"Export job"</h2>
                        <button type="button" class="icon-button" aria-label="Close" on:click=move |_| close()><Icon name=IconName::Close/></button>
                    </div>
                    <label class="field-label" for="export-name">"Name"</label>
                    <input id="export-name" class="input" maxlength="200" node_ref=name_input placeholder="Export of today's date"
                        prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                    <fieldset class="format-choices">
                        <legend class="field-label">"Formats"<span class="muted">" — one ZIP file each"</span></legend>
                        {FORMATS.iter().map(|(key, label, about)| {
                            let key = *key;
                            view! {
                                <label class="format-choice" class:checked=move || chosen.get().iter().any(|f| f == key)>
                                    <input type="checkbox" name="format" value=key prop:checked=move || chosen.get().iter().any(|f| f == key)
                                        on:change=move |_| toggle(key)/>
                                    <span><strong>{*label}</strong><span class="muted">{*about}</span></span>
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                    <dl class="export-summary">
                        <dt>"Time range"</dt><dd>{range}</dd>
                        <dt>"Filters"</dt><dd><bdi>{filters}</bdi></dd>
                        {move || count().map(|c| view! { <dt>"Events"</dt><dd>{c}</dd> })}
                        {move || me.get().and_then(Result::ok).filter(|m| m.is_member()).map(|_| view! {
                            <dt>"Scope"</dt><dd>"Only the activity you may see"</dd>
                        })}
                    </dl>
                    <p class="muted export-note">{move || format!("The download links are live for {}, for you and for anyone who may see the same events.", expiry())}</p>
                    {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
                    <div class="modal-actions">
                        <button type="button" class="button" on:click=move |_| close()>"Cancel"</button>
                        <button type="submit" class="button primary" disabled=move || chosen.get().is_empty() || busy.get()>"Start export"</button>
                    </div>
                </form>
            </div>
        </Show>
    }
}

/// The export jobs, above the table, while there are any and the panel is not hidden.
#[component]
pub fn ExportsPanel() -> impl IntoView {
    let exports = use_exports();
    let me = use_me();
    let can_manage = move || me.get().and_then(Result::ok).is_some_and(|m| m.can_manage);
    let error = RwSignal::new(None::<ClientError>);
    let remove = move |id: String| {
        leptos::task::spawn_local(async move {
            match send_json("DELETE", format!("/api/v1/exports/{id}"), None).await {
                Ok(_) => {
                    error.set(None);
                    exports.refresh();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <Show when=move || exports.shown.get() && !exports.jobs().is_empty()>
            <section class="exports-panel" aria-labelledby="exports-title">
                <div class="exports-head">
                    <h2 id="exports-title">"Export jobs"</h2>
                    <span class="muted">{move || thousands(exports.jobs().len() as u64)}</span>
                    <button type="button" class="button small" on:click=move |_| exports.shown.set(false)>"Hide"</button>
                </div>
                {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
                <ul class="export-list">
                    <For each=move || exports.jobs() key=|j| (j.id.clone(), j.status.clone(), j.rows_done) let:job>
                        <ExportRow job=job.clone() deletable=job.mine || can_manage() remove/>
                    </For>
                </ul>
            </section>
        </Show>
    }
}

/// "Action is user.login · Last 7 days" for a job's view.
fn view_label(query: &str, offset_minutes: i32) -> String {
    let view = decode_query(query, &[]).view;
    let filters = describe_filters(&view);
    let range = range_label(&view.range, offset_minutes);
    if filters.is_empty() { format!("{range} · every event") } else { format!("{range} · {filters}") }
}

/// "Dec 3, 10:04" in the page's zone.
fn created_label(at: &str, offset_minutes: i32) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| crate::format::time_minutes(t.with_timezone(&chrono::Utc), offset_minutes))
        .unwrap_or_default()
}

#[component]
fn ExportRow(job: ExportSummary, deletable: bool, remove: impl Fn(String) + Copy + 'static) -> impl IntoView {
    let now = chrono::Utc::now();
    let offset = use_page().zone.get_untracked().offset_minutes(now);
    let percent = job.progress().map(|p| (p * 100.0).round() as u32);
    let id = job.id.clone();
    let formats = job.formats.iter().map(|f| f.to_uppercase()).collect::<Vec<_>>().join(" · ");
    let expiry = (job.status == "done").then(|| job.expiry_label(now)).flatten();
    let status = job.status.clone();
    let what = view_label(&job.view, offset);
    let who = format!("{} · {}", job.created_by, created_label(&job.created_at, offset));
    view! {
        <li class=format!("export-item status-{status}")>
            <div class="export-line">
                <strong class="export-name"><bdi>{job.name.clone()}</bdi></strong>
                <span class="muted">{formats}</span>
                <span class=format!("state-chip export-state-{status}")>{status.clone()}</span>
                <span class="export-spacer"></span>
                {deletable.then(|| view! {
                    <button type="button" class="icon-button" aria-label=format!("Delete export {}", job.name) title="Delete"
                        on:click=move |_| remove(id.clone())><Icon name=IconName::Trash/></button>
                })}
            </div>
            {(job.status != "failed").then(|| view! {
                <div class="progress" role="progressbar" aria-label=format!("Progress of {}", job.name) aria-valuemin="0" aria-valuemax="100"
                    aria-valuenow=percent.map(|p| p.to_string())>
                    <span class:indeterminate=percent.is_none() style=format!("width: {}%", percent.unwrap_or(30))></span>
                </div>
            })}
            <p class="export-meta muted">
                {job.state_label()}
                {percent.filter(|_| job.is_active()).map(|p| format!(" · {p}%"))}
                {job.time_left(now).map(|t| format!(" · {t}"))}
                {expiry.map(|e| format!(" · {e}"))}
            </p>
            <p class="export-meta muted"><bdi>{what}</bdi>" · by "<bdi>{who}</bdi></p>
            {(!job.files.is_empty()).then(|| view! {
                <div class="export-files">
                    {job.files.iter().map(|f| view! {
                        <a class="button small" href=f.url.clone() download>
                            <Icon name=IconName::Download/>
                            {format!("{} · {}", f.format.to_uppercase(), size_label(f.bytes))}
                        </a>
                    }).collect_view()}
                </div>
            })}
        </li>
    }
}
