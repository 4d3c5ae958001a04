//! `/admin/users`: invite someone (a one-time link to copy), change roles and scopes,
//! disable, send a new password link, end someone's sessions.

use leptos::prelude::*;

use super::{when, AdminFrame, Problem};
use crate::accounts::{Invitation, NewUser, UserList, UserPatch, UserSummary};
use crate::client::{get_json, send_for, send_json, ClientError};
use crate::components::toolbar::copy_text;
use crate::query::decode_query;

#[component]
pub fn UsersPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let users = Resource::new(move || version.get(), |_| get_json::<UserList>("/api/v1/users".into()));
    let link = RwSignal::new(None::<Invitation>);
    view! {
        <AdminFrame current="/admin/users" title="Users"
            lede="Who can sign in, with which role. Admins manage everything; auditors read and export everything; members see only the events of their scope.">
            <InviteForm version link/>
            {move || link.get().map(|invitation| view! { <LinkNotice invitation/> })}
            <Transition fallback=|| view! { <p class="muted">"Loading users…"</p> }>
                {move || users.get().map(|result| match result {
                    Ok(list) => view! { <UsersTable users=list.users version link/> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                })}
            </Transition>
        </AdminFrame>
    }
}

/// The one-time link of an invitation or a reset, to copy once.
#[component]
fn LinkNotice(invitation: Invitation) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = invitation.link.clone();
    view! {
        <div class="link-notice" role="status">
            <p>
                "Send this one-time link to " <strong><bdi>{invitation.user.email.clone()}</bdi></strong>
                {format!(" (valid for {} days, shown only now):", invitation.expires_in_days)}
            </p>
            <div class="link-row">
                <input class="link-value" readonly=true value=invitation.link.clone() aria-label="One-time link"/>
                <button type="button" class="button" on:click=move |_| copy_text(text.clone(), move |ok| copied.set(ok))>
                    {move || if copied.get() { "Copied" } else { "Copy link" }}
                </button>
            </div>
        </div>
    }
}

/// Problems of scope views as typed (one per line), before they are sent.
fn scope_problems(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .flat_map(|(i, line)| decode_query(line.trim_start_matches('?'), &[]).problems.into_iter().map(move |p| format!("line {}: {}: {}", i + 1, p.param, p.message)))
        .collect()
}

fn scope_lines(text: &str) -> Vec<String> {
    text.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect()
}

#[component]
fn InviteForm(version: RwSignal<u32>, link: RwSignal<Option<Invitation>>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let role = RwSignal::new("member".to_string());
    let scopes = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ClientError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let new = NewUser {
            email: email.get_untracked(),
            name: Some(name.get_untracked()).filter(|n| !n.trim().is_empty()),
            role: role.get_untracked(),
            scopes: scope_lines(&scopes.get_untracked()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let body = serde_json::to_string(&new).ok();
            match send_for::<Invitation>("POST", "/api/v1/users".into(), body).await {
                Ok(invitation) => {
                    error.set(None);
                    link.set(Some(invitation));
                    email.set(String::new());
                    name.set(String::new());
                    scopes.set(String::new());
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let problems = Memo::new(move |_| scope_problems(&scopes.get()));
    view! {
        <form class="admin-card invite-form" on:submit=submit aria-labelledby="invite-title">
            <h2 id="invite-title">"Invite someone"</h2>
            <div class="form-grid">
                <label for="invite-email">"Email"</label>
                <input id="invite-email" type="email" required prop:value=email on:input=move |ev| email.set(event_target_value(&ev))/>
                <label for="invite-name">"Name"</label>
                <input id="invite-name" type="text" placeholder="(optional)" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="invite-role">"Role"</label>
                <select id="invite-role" prop:value=role on:change=move |ev| role.set(event_target_value(&ev))>
                    <option value="member">"Member — sees their scope"</option>
                    <option value="auditor">"Auditor — reads everything"</option>
                    <option value="admin">"Admin — manages everything"</option>
                </select>
                <Show when=move || role.get() == "member">
                    <label for="invite-scopes">"Scope"</label>
                    <div>
                        <textarea id="invite-scopes" rows="3" placeholder="context.team=machinery\nactor.id=u_42"
                            aria-describedby="invite-scopes-help" prop:value=scopes on:input=move |ev| scopes.set(event_target_value(&ev))></textarea>
                        <p id="invite-scopes-help" class="muted form-help">
                            "One view per line, in the URL format of the events page (build it there with the filters, then copy the part after ?). They see events matching any line."
                        </p>
                        {move || (!problems.get().is_empty()).then(|| view! {
                            <ul class="form-error">{problems.get().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                        })}
                    </div>
                </Show>
            </div>
            <Problem error/>
            <button type="submit" class="button primary" disabled=move || busy.get() || !problems.get().is_empty()>"Invite"</button>
        </form>
    }
}

#[component]
fn UsersTable(users: Vec<UserSummary>, version: RwSignal<u32>, link: RwSignal<Option<Invitation>>) -> impl IntoView {
    let error = RwSignal::new(None::<ClientError>);
    view! {
        <Problem error/>
        <div class="admin-table-wrap">
            <table class="admin-table">
                <caption class="visually-hidden">"Users"</caption>
                <thead><tr>
                    <th scope="col">"Person"</th><th scope="col">"Role"</th><th scope="col">"Scope"</th>
                    <th scope="col">"State"</th><th scope="col">"Last sign-in"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {users.into_iter().map(|user| view! { <UserRow user version link error/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn UserRow(user: UserSummary, version: RwSignal<u32>, link: RwSignal<Option<Invitation>>, error: RwSignal<Option<ClientError>>) -> impl IntoView {
    let id = user.id.clone();
    let change = move |patch: UserPatch| {
        let path = format!("/api/v1/users/{}", id);
        leptos::task::spawn_local(async move {
            match send_json("PATCH", path, serde_json::to_string(&patch).ok()).await {
                Ok(_) => {
                    error.set(None);
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let editing = RwSignal::new(false);
    let draft = RwSignal::new(user.scopes.join("\n"));
    let problems = Memo::new(move |_| scope_problems(&draft.get()));
    let (state, chip) = match (user.disabled, user.sso, user.has_password) {
        (true, _, _) => ("Disabled", "disabled"),
        (false, true, _) => ("Single sign-on", "active"),
        (false, false, true) => ("Active", "active"),
        (false, false, false) => ("Invited", "invited"),
    };
    let sso = user.sso;
    let (id2, id3) = (user.id.clone(), user.id.clone());
    let reset = move |_| {
        let path = format!("/api/v1/users/{id2}/password-link");
        leptos::task::spawn_local(async move {
            match send_for::<Invitation>("POST", path, None).await {
                Ok(invitation) => link.set(Some(invitation)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let end_sessions = move |_| {
        let path = format!("/api/v1/users/{id3}/sessions");
        leptos::task::spawn_local(async move {
            if let Err(e) = send_json("DELETE", path, None).await {
                error.set(Some(e));
            }
        });
    };
    let disabled = user.disabled;
    let is_member = user.role == "member";
    let role_change = change.clone();
    let scope_change = change.clone();
    let label = format!("Role of {}", user.email);
    view! {
        <tr class:row-disabled=disabled>
            <td><div class="person"><bdi class="person-name">{user.name.clone()}</bdi><bdi class="muted">{user.email.clone()}</bdi></div></td>
            <td>
                <select aria-label=label prop:value=user.role.clone()
                    on:change=move |ev| role_change(UserPatch { role: Some(event_target_value(&ev)), ..Default::default() })>
                    <option value="admin">"Admin"</option>
                    <option value="auditor">"Auditor"</option>
                    <option value="member">"Member"</option>
                </select>
            </td>
            <td class="scope-cell">
                {if !is_member {
                    view! { <span class="muted">"Everything"</span> }.into_any()
                } else {
                    view! {
                        <Show when=move || editing.get() fallback=move || view! {
                            <div class="scope-list">
                                {move || {
                                    let lines = scope_lines(&draft.get());
                                    if lines.is_empty() { view! { <span class="muted">"Nothing yet"</span> }.into_any() }
                                    else { lines.into_iter().map(|l| view! { <code><bdi>{l}</bdi></code> }).collect_view().into_any() }
                                }}
                                <button type="button" class="button small" on:click=move |_| editing.set(true)>"Edit"</button>
                            </div>
                        }>
                            <textarea rows="3" aria-label="Scope, one view per line" prop:value=draft on:input=move |ev| draft.set(event_target_value(&ev))></textarea>
                            {move || (!problems.get().is_empty()).then(|| view! {
                                <ul class="form-error">{problems.get().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                            })}
                            <div class="row-actions">
                                <button type="button" class="button small primary" disabled=move || !problems.get().is_empty()
                                    on:click={
                                        let scope_change = scope_change.clone();
                                        move |_| {
                                            editing.set(false);
                                            scope_change(UserPatch { scopes: Some(scope_lines(&draft.get_untracked())), ..Default::default() });
                                        }
                                    }>"Save scope"</button>
                                <button type="button" class="button small" on:click=move |_| editing.set(false)>"Cancel"</button>
                            </div>
                        </Show>
                    }.into_any()
                }}
            </td>
            <td>
                <span class=format!("state-chip state-{chip}")>{state}</span>
                {sso.then(|| view! { <p class="muted form-help">"Role and scope follow their groups at each sign-in."</p> })}
            </td>
            <td>{user.last_sign_in_at.as_deref().map(when).unwrap_or_else(|| "Never".into())}</td>
            <td class="row-actions">
                <button type="button" class="button small" on:click=reset>"New password link"</button>
                <button type="button" class="button small" on:click=end_sessions>"Sign out everywhere"</button>
                <button type="button" class="button small" class:danger=!disabled
                    on:click=move |_| change(UserPatch { disabled: Some(!disabled), ..Default::default() })>
                    {if disabled { "Enable" } else { "Disable" }}
                </button>
            </td>
        </tr>
    }
}
