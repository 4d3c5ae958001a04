//! The form of `/admin/destinations`: add a destination or change one. Checked in the browser
//! with [`check_destination`] before it is sent; every problem (the browser's or the server's)
//! is shown beside its field and listed above the buttons.

use leptos::prelude::*;

use super::destinations::{Board, API};
use crate::client::{send_for, ClientError};
use crate::destinations::{
    check_destination, CreatedDestination, Destination, DestinationInput, DestinationKind, DestinationSettings, StartFrom, SyslogFormat,
    SyslogTransport,
};

/// What the form is for.
#[derive(Clone, Debug, PartialEq)]
pub enum Editing {
    New,
    Change(Box<Destination>),
}

/// Problems as (field, message); the field is empty for one about the whole destination.
type Problems = RwSignal<Vec<(String, String)>>;

const KINDS: [(DestinationKind, &str); 3] = [
    (DestinationKind::Syslog, "RFC 5424 over TLS, TCP or UDP, as CEF or JSON"),
    (DestinationKind::SplunkHec, "Splunk's HTTP Event Collector, with a token"),
    (DestinationKind::Webhook, "HTTPS POST of NDJSON batches, signed (Standard Webhooks)"),
];

#[component]
pub fn DestinationForm(editing: Editing, board: Board) -> impl IntoView {
    let (id, stored) = match editing {
        Editing::New => (None, Destination { settings: DestinationSettings { enabled: true, ..Default::default() }, ..Default::default() }),
        Editing::Change(d) => (Some(d.id.clone()), *d),
    };
    let creating = id.is_none();
    let title = if creating { "Add a destination".to_string() } else { format!("Edit “{}”", stored.settings.name) };
    let s = stored.settings.clone();
    let (stored_kind, has_secret, has_client_key) = (s.kind, stored.has_secret, stored.has_client_key);
    let kind = RwSignal::new(s.kind);
    let name = RwSignal::new(s.name);
    let filter = RwSignal::new(s.filter);
    let enabled = RwSignal::new(s.enabled);
    let host = RwSignal::new(s.host);
    let port = RwSignal::new(if s.port == 0 { String::new() } else { s.port.to_string() });
    let transport = RwSignal::new(s.transport);
    let format = RwSignal::new(s.format);
    let url = RwSignal::new(s.url);
    let secret = RwSignal::new(String::new());
    let index = RwSignal::new(s.index);
    let source = RwSignal::new(s.source);
    let sourcetype = RwSignal::new(s.sourcetype);
    let certs_open = !s.ca_pem.is_empty() || !s.client_cert_pem.is_empty() || has_client_key;
    let ca_pem = RwSignal::new(s.ca_pem);
    let client_cert_pem = RwSignal::new(s.client_cert_pem);
    let client_key_pem = RwSignal::new(String::new());
    let start = RwSignal::new(StartFrom::Now);
    // The server keeps a destination's kind (and its token or secret with it).
    let secret_stored = move || has_secret && kind.get() == stored_kind;
    let problems: Problems = RwSignal::new(Vec::new());
    let error = RwSignal::new(None::<ClientError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let mut found = Vec::new();
        let port_number = match port.get_untracked().trim() {
            "" => 0,
            text => text.parse::<u16>().ok().filter(|p| *p > 0).unwrap_or_else(|| {
                found.push(("port".to_string(), "a port number from 1 to 65535".to_string()));
                0
            }),
        };
        let written = |text: String| Some(text.trim().to_string()).filter(|t| !t.is_empty());
        let mut input = DestinationInput {
            settings: DestinationSettings {
                name: name.get_untracked(),
                kind: kind.get_untracked(),
                filter: view_part(&filter.get_untracked()).to_string(),
                enabled: enabled.get_untracked(),
                host: host.get_untracked(),
                port: port_number,
                transport: transport.get_untracked(),
                format: format.get_untracked(),
                url: url.get_untracked(),
                index: index.get_untracked(),
                source: source.get_untracked(),
                sourcetype: sourcetype.get_untracked(),
                ca_pem: ca_pem.get_untracked(),
                client_cert_pem: client_cert_pem.get_untracked(),
            },
            secret: written(secret.get_untracked()),
            client_key_pem: written(client_key_pem.get_untracked()),
            start: creating.then(|| start.get_untracked()),
        };
        match check_destination(&input, !secret_stored()) {
            Ok(settings) if found.is_empty() => input.settings = settings,
            Ok(_) => {}
            Err(more) => found.extend(more),
        }
        error.set(None);
        problems.set(found);
        if !problems.with_untracked(Vec::is_empty) {
            return;
        }
        let name = input.settings.name.clone();
        let body = serde_json::to_string(&input).ok();
        let id = id.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = match id {
                None => send_for::<CreatedDestination>("POST", API.into(), body)
                    .await
                    .map(|created| (format!("“{name}” was added."), created.secret.map(|s| (name.clone(), s)))),
                Some(id) => send_for::<Destination>("PUT", format!("{API}/{id}"), body).await.map(|_| (format!("“{name}” was saved."), None)),
            };
            busy.set(false);
            match result {
                Ok((notice, secret)) => board.saved(notice, secret),
                Err(e) => {
                    problems.set(e.details.iter().map(|d| (d.field.clone().unwrap_or_default(), d.message.clone())).collect());
                    error.set(Some(e));
                }
            }
        });
    };
    let text = move |signal: RwSignal<String>| move |ev| signal.set(event_target_value(&ev));
    view! {
        <form class="admin-card dest-form" on:submit=submit aria-labelledby="dest-form-title" novalidate=true>
            <h2 id="dest-form-title">{title}</h2>
            {if creating {
                view! {
                    <fieldset class="format-choices dest-kinds">
                        <legend class="field-label">"Kind"</legend>
                        {KINDS.iter().map(|&(k, about)| view! {
                            <label class="format-choice" class:checked=move || kind.get() == k>
                                <input type="radio" name="dest-kind" prop:checked=move || kind.get() == k on:change=move |_| kind.set(k)/>
                                <span><strong>{k.label()}</strong><span class="muted">{about}</span></span>
                            </label>
                        }).collect_view()}
                    </fieldset>
                }.into_any()
            } else {
                view! {
                    <p class="dest-kind-fixed">
                        <span class="field-label">"Kind"</span><span class="role-chip">{stored_kind.label()}</span>
                        <span class="muted">"A destination keeps its kind: its position belongs to its receiver. For another kind, add a destination."</span>
                    </p>
                }.into_any()
            }}
            <div class="form-grid">
                <label for="dest-name">"Name"</label>
                <div>
                    <input id="dest-name" maxlength="100" placeholder="Security SIEM" prop:value=name on:input=text(name) {..field_attrs(problems, "name", None)}/>
                    <FieldProblem problems field="name"/>
                </div>
                <label for="dest-filter">"Events"</label>
                <div>
                    <input id="dest-filter" class="mono" placeholder="All events" autocomplete="off" spellcheck="false"
                        prop:value=filter on:input=text(filter) {..field_attrs(problems, "filter", Some("dest-filter-help"))}/>
                    <p id="dest-filter-help" class="muted form-help">
                        "A view in the URL format, e.g. " <code>"action=user.login&outcome=failure"</code>
                        " — copy it from the explorer's address bar (the whole address works too); its time range is ignored. Empty sends everything."
                    </p>
                    <FieldProblem problems field="filter"/>
                </div>
                {move || match kind.get() {
                    DestinationKind::Syslog => view! {
                        <label for="dest-host">"Host"</label>
                        <div>
                            <input id="dest-host" placeholder="siem.example.com" autocomplete="off" spellcheck="false"
                                prop:value=host on:input=text(host) {..field_attrs(problems, "host", None)}/>
                            <FieldProblem problems field="host"/>
                        </div>
                        <label for="dest-port">"Port"</label>
                        <div>
                            <input id="dest-port" class="dest-port" inputmode="numeric" autocomplete="off"
                                placeholder=move || if transport.get() == SyslogTransport::Tls { "6514" } else { "514" }
                                prop:value=port on:input=text(port) {..field_attrs(problems, "port", None)}/>
                            <FieldProblem problems field="port"/>
                        </div>
                        <label for="dest-transport">"Transport"</label>
                        <div>
                            <select id="dest-transport" prop:value=move || transport_value(transport.get())
                                on:change=move |ev| transport.set(transport_from(&event_target_value(&ev)))>
                                <option value="tls">"TLS (RFC 5425) — recommended"</option>
                                <option value="tcp">"TCP, unencrypted"</option>
                                <option value="udp">"UDP — no delivery guarantee"</option>
                            </select>
                            {move || (transport.get() == SyslogTransport::Udp).then(|| view! {
                                <p class="muted form-help">"A lost datagram is not sent again, and nothing says it was lost."</p>
                            })}
                        </div>
                        <label for="dest-format">"Format"</label>
                        <select id="dest-format" prop:value=move || if format.get() == SyslogFormat::Json { "json" } else { "cef" }
                            on:change=move |ev| format.set(if event_target_value(&ev) == "json" { SyslogFormat::Json } else { SyslogFormat::Cef })>
                            <option value="cef">"CEF (ArcSight), the same as the CEF export"</option>
                            <option value="json">"JSON, one event per message"</option>
                        </select>
                    }.into_any(),
                    chosen => view! {
                        <label for="dest-url">"URL"</label>
                        <div>
                            <input id="dest-url" type="url" autocomplete="off" spellcheck="false"
                                placeholder=if chosen == DestinationKind::SplunkHec { "https://splunk.example.com:8088" } else { "https://hooks.example.com/auditorium" }
                                prop:value=url on:input=text(url) {..field_attrs(problems, "url", None)}/>
                            <FieldProblem problems field="url"/>
                        </div>
                        <label for="dest-secret">{if chosen == DestinationKind::SplunkHec { "Token" } else { "Signing secret" }}</label>
                        <div>
                            <input id="dest-secret" type="password" autocomplete="new-password" spellcheck="false"
                                placeholder=move || match (secret_stored(), chosen) {
                                    (true, _) => "Stored — type to replace",
                                    (false, DestinationKind::Webhook) => "Leave empty and one is made for you",
                                    _ => "",
                                }
                                prop:value=secret on:input=text(secret) {..field_attrs(problems, "secret", Some("dest-secret-help"))}/>
                            <p id="dest-secret-help" class="muted form-help">{if chosen == DestinationKind::SplunkHec {
                                "The HEC token. Write-only: it is never shown again."
                            } else {
                                "Optional: leave it empty and one is made for you (shown once). Your own: whsec_ and base64."
                            }}</p>
                            <FieldProblem problems field="secret"/>
                        </div>
                        {(chosen == DestinationKind::SplunkHec).then(|| view! {
                            <label for="dest-index">"Index"</label>
                            <div><input id="dest-index" placeholder="The token's default" prop:value=index on:input=text(index) {..field_attrs(problems, "index", None)}/>
                                <FieldProblem problems field="index"/></div>
                            <label for="dest-source">"Source"</label>
                            <div><input id="dest-source" placeholder="The token's default" prop:value=source on:input=text(source) {..field_attrs(problems, "source", None)}/>
                                <FieldProblem problems field="source"/></div>
                            <label for="dest-sourcetype">"Sourcetype"</label>
                            <div><input id="dest-sourcetype" placeholder="The token's default" prop:value=sourcetype on:input=text(sourcetype) {..field_attrs(problems, "sourcetype", None)}/>
                                <FieldProblem problems field="sourcetype"/></div>
                        })}
                    }.into_any(),
                }}
            </div>
            <details class="dest-certs" open=certs_open>
                <summary>"Certificates" <span class="muted">" — a private CA, or a client certificate for mutual TLS"</span></summary>
                <div class="form-grid">
                    <label for="dest-ca_pem">"CA bundle"</label>
                    <div>
                        <textarea id="dest-ca_pem" rows="4" spellcheck="false" placeholder="-----BEGIN CERTIFICATE-----"
                            prop:value=ca_pem on:input=text(ca_pem) {..field_attrs(problems, "ca_pem", Some("dest-ca-help"))}></textarea>
                        <p id="dest-ca-help" class="muted form-help">"PEM certificates trusted instead of the system roots."</p>
                        <FieldProblem problems field="ca_pem"/>
                    </div>
                    <label for="dest-client_cert_pem">"Client certificate"</label>
                    <div>
                        <textarea id="dest-client_cert_pem" rows="4" spellcheck="false" placeholder="-----BEGIN CERTIFICATE-----"
                            prop:value=client_cert_pem on:input=text(client_cert_pem) {..field_attrs(problems, "client_cert_pem", None)}></textarea>
                        <FieldProblem problems field="client_cert_pem"/>
                    </div>
                    <label for="dest-client_key_pem">"Client key"</label>
                    <div>
                        <textarea id="dest-client_key_pem" rows="3" spellcheck="false" autocomplete="off"
                            placeholder=if has_client_key { "Stored — paste to replace" } else { "-----BEGIN PRIVATE KEY-----" }
                            prop:value=client_key_pem on:input=text(client_key_pem) {..field_attrs(problems, "client_key_pem", Some("dest-key-help"))}></textarea>
                        <p id="dest-key-help" class="muted form-help">"PEM private key of the client certificate. Write-only: it is never shown again; removing the certificate removes it."</p>
                        <FieldProblem problems field="client_key_pem"/>
                    </div>
                </div>
            </details>
            {creating.then(|| view! {
                <fieldset class="sso-choices">
                    <legend>"Start with"</legend>
                    <label><input type="radio" name="dest-start" prop:checked=move || start.get() == StartFrom::Now on:change=move |_| start.set(StartFrom::Now)/>
                        " The next event"</label>
                    <label><input type="radio" name="dest-start" prop:checked=move || start.get() == StartFrom::Beginning on:change=move |_| start.set(StartFrom::Beginning)/>
                        " The oldest event kept (everything stored is sent first)"</label>
                </fieldset>
            })}
            <fieldset class="sso-choices">
                <legend>"Delivery"</legend>
                <label><input type="checkbox" prop:checked=enabled on:change=move |ev| enabled.set(event_target_checked(&ev))/>
                    " Enabled (otherwise saved paused: it keeps its place and sends nothing)"</label>
            </fieldset>
            <ProblemSummary problems error kind/>
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || busy.get()>
                    {move || match (busy.get(), creating) { (true, _) => "Saving…", (false, true) => "Add destination", (false, false) => "Save changes" }}
                </button>
                <button type="button" class="button" on:click=move |_| board.close()>"Cancel"</button>
            </div>
        </form>
    }
}

/// `aria-invalid` and `aria-describedby` of a field, from its problems and its help text.
fn field_attrs(problems: Problems, field: &'static str, help: Option<&'static str>) -> impl leptos::attr::Attribute {
    let wrong = move || problems.with(|p| p.iter().any(|(f, _)| f == field));
    view! {
        <{..}
            aria-invalid=move || wrong().then_some("true")
            aria-describedby=move || {
                let ids: Vec<String> = help.map(String::from).into_iter().chain(wrong().then(|| format!("dest-{field}-problem"))).collect();
                (!ids.is_empty()).then(|| ids.join(" "))
            }
        />
    }
}

/// A field's problems, under it.
#[component]
fn FieldProblem(problems: Problems, field: &'static str) -> impl IntoView {
    move || {
        let found: Vec<String> = problems.with(|p| p.iter().filter(|(f, _)| f == field).map(|(_, m)| m.clone()).collect());
        (!found.is_empty()).then(|| view! { <p class="field-error" id=format!("dest-{field}-problem")>{found.join("; ")}</p> })
    }
}

/// Every problem, with the field it is about, above the buttons (read out when it appears).
#[component]
fn ProblemSummary(problems: Problems, error: RwSignal<Option<ClientError>>, kind: RwSignal<DestinationKind>) -> impl IntoView {
    move || {
        let list = problems.get();
        let message = error.get().map(|e| e.message);
        (message.is_some() || !list.is_empty()).then(|| view! {
            <div class="form-error dest-problems" role="alert">
                <p>{message.unwrap_or_else(|| "Please correct:".into())}</p>
                {(!list.is_empty()).then(|| view! {
                    <ul>{list.into_iter().map(|(field, message)| {
                        let label = field_label(&field, kind.get_untracked());
                        view! { <li>{if label.is_empty() { message } else { format!("{label}: {message}") }}</li> }
                    }).collect_view()}</ul>
                })}
            </div>
        })
    }
}

fn field_label(field: &str, kind: DestinationKind) -> &'static str {
    match field {
        "name" => "Name",
        "filter" => "Events",
        "host" => "Host",
        "port" => "Port",
        "transport" => "Transport",
        "format" => "Format",
        "url" => "URL",
        "secret" if kind == DestinationKind::SplunkHec => "Token",
        "secret" => "Signing secret",
        "index" => "Index",
        "source" => "Source",
        "sourcetype" => "Sourcetype",
        "ca_pem" => "CA bundle",
        "client_cert_pem" => "Client certificate",
        "client_key_pem" => "Client key",
        _ => "",
    }
}

/// The view of what was typed or pasted: the query of an explorer address
/// (`https://…/?action=x` or `/?action=x`), or the text itself without a leading `?`.
fn view_part(text: &str) -> &str {
    let text = text.trim();
    if text.starts_with("http://") || text.starts_with("https://") || text.starts_with('/') {
        return text.split_once('?').map_or("", |(_, query)| query.split('#').next().unwrap_or_default());
    }
    text.trim_start_matches('?')
}

fn transport_value(transport: SyslogTransport) -> &'static str {
    match transport {
        SyslogTransport::Tls => "tls",
        SyslogTransport::Tcp => "tcp",
        SyslogTransport::Udp => "udp",
    }
}

fn transport_from(value: &str) -> SyslogTransport {
    match value {
        "tcp" => SyslogTransport::Tcp,
        "udp" => SyslogTransport::Udp,
        _ => SyslogTransport::Tls,
    }
}

#[cfg(test)]
mod tests {
    use super::view_part;

    #[test]
    fn a_pasted_explorer_address_gives_its_view() {
        assert_eq!(view_part(" https://audit.example.com/?action=user.login&outcome=failure "), "action=user.login&outcome=failure");
        assert_eq!(view_part("/?actor.id=u_42#top"), "actor.id=u_42");
        assert_eq!(view_part("https://audit.example.com/"), "");
        assert_eq!(view_part("?outcome=failure"), "outcome=failure");
        assert_eq!(view_part("q=what%3F"), "q=what%3F");
    }
}
