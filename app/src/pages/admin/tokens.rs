//! `/admin/tokens`: API tokens with their owner and last use; create one (its secret is shown
//! once) and revoke.

use leptos::prelude::*;

use super::{when, AdminFrame, Problem};
use crate::accounts::{CreatedToken, NewToken, TokenList, TokenSummary, UserList};
use crate::client::{get_json, send_for, send_json, ClientError};
use crate::components::toolbar::copy_text;

#[component]
pub fn TokensPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let tokens = Resource::new(move || version.get(), |_| get_json::<TokenList>("/api/v1/tokens".into()));
    let users = Resource::new(|| (), |_| get_json::<UserList>("/api/v1/users".into()));
    let created = RwSignal::new(None::<CreatedToken>);
    view! {
        <AdminFrame current="/admin/tokens" title="API tokens"
            lede="Ingest tokens let an application send events. Read and admin tokens act as the person they belong to, with that person's role and scope. A secret is shown once; only its hash is kept.">
            <Transition fallback=|| ()>
                {move || users.get().map(|result| view! { <CreateToken users=result.map(|l| l.users).unwrap_or_default() version created/> })}
            </Transition>
            {move || created.get().map(|token| view! { <SecretNotice token/> })}
            <Transition fallback=|| view! { <p class="muted">"Loading tokens…"</p> }>
                {move || tokens.get().map(|result| match result {
                    Ok(list) => view! { <TokensTable tokens=list.tokens version/> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                })}
            </Transition>
        </AdminFrame>
    }
}

#[component]
fn SecretNotice(token: CreatedToken) -> impl IntoView {
    let copied = RwSignal::new(false);
    let secret = token.secret.clone();
    view! {
        <div class="link-notice" role="status">
            <p>"The secret of " <strong><bdi>{token.token.name.clone()}</bdi></strong> " — copy it now, it is not shown again:"</p>
            <div class="link-row">
                <input class="link-value" readonly=true value=token.secret.clone() aria-label="Token secret"/>
                <button type="button" class="button" on:click=move |_| copy_text(secret.clone(), move |ok| copied.set(ok))>
                    {move || if copied.get() { "Copied" } else { "Copy secret" }}
                </button>
            </div>
        </div>
    }
}

#[component]
fn CreateToken(users: Vec<crate::accounts::UserSummary>, version: RwSignal<u32>, created: RwSignal<Option<CreatedToken>>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let scope = RwSignal::new("ingest".to_string());
    let owner = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ClientError>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let new = NewToken {
            name: name.get_untracked(),
            scope: scope.get_untracked(),
            user_id: Some(owner.get_untracked()).filter(|o| !o.is_empty() && scope.get_untracked() != "ingest"),
        };
        leptos::task::spawn_local(async move {
            match send_for::<CreatedToken>("POST", "/api/v1/tokens".into(), serde_json::to_string(&new).ok()).await {
                Ok(token) => {
                    error.set(None);
                    created.set(Some(token));
                    name.set(String::new());
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let active: Vec<_> = users.into_iter().filter(|u| !u.disabled).collect();
    view! {
        <form class="admin-card" on:submit=submit aria-labelledby="token-title">
            <h2 id="token-title">"Create a token"</h2>
            <div class="form-grid">
                <label for="token-name">"Name"</label>
                <input id="token-name" required placeholder="billing-service" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="token-scope">"Scope"</label>
                <select id="token-scope" prop:value=scope on:change=move |ev| scope.set(event_target_value(&ev))>
                    <option value="ingest">"Ingest — an application sends events"</option>
                    <option value="read">"Read — reads as its owner"</option>
                    <option value="admin">"Admin — reads, sends and manages as its owner"</option>
                </select>
                <Show when=move || scope.get() != "ingest">
                    <label for="token-owner">"Owner"</label>
                    <select id="token-owner" required prop:value=owner on:change=move |ev| owner.set(event_target_value(&ev))>
                        <option value="">"Choose a person…"</option>
                        {active.iter().map(|u| view! { <option value=u.id.clone()>{format!("{} ({}, {})", u.name, u.email, u.role)}</option> }).collect_view()}
                    </select>
                </Show>
            </div>
            <Problem error/>
            <button type="submit" class="button primary">"Create token"</button>
        </form>
    }
}

#[component]
fn TokensTable(tokens: Vec<TokenSummary>, version: RwSignal<u32>) -> impl IntoView {
    let error = RwSignal::new(None::<ClientError>);
    let revoke = move |id: String| {
        leptos::task::spawn_local(async move {
            match send_json("DELETE", format!("/api/v1/tokens/{id}"), None).await {
                Ok(_) => version.update(|v| *v += 1),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <Problem error/>
        <div class="admin-table-wrap">
            <table class="admin-table">
                <caption class="visually-hidden">"API tokens"</caption>
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"Scope"</th><th scope="col">"Owner"</th>
                    <th scope="col">"Created"</th><th scope="col">"Last used"</th><th scope="col">"State"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {tokens.is_empty().then(|| view! { <tr><td colspan="7" class="empty-row">"No tokens yet. Create one above for each application that sends events."</td></tr> })}
                    {tokens.into_iter().rev().map(|t| {
                        let id = t.id.clone();
                        let active = t.revoked_at.is_none();
                        view! {
                            <tr class:row-disabled=!active>
                                <td><bdi>{t.name.clone()}</bdi></td>
                                <td><span class="role-chip">{t.scope.clone()}</span></td>
                                <td><bdi>{t.owner.clone().unwrap_or_else(|| "—".into())}</bdi></td>
                                <td>{when(&t.created_at)}</td>
                                <td>{t.last_used_at.as_deref().map(when).unwrap_or_else(|| "Never".into())}</td>
                                <td>{match &t.revoked_at { Some(at) => format!("Revoked {}", when(at)), None => "Active".into() }}</td>
                                <td class="row-actions">
                                    {active.then(|| view! {
                                        <button type="button" class="button small danger" on:click=move |_| revoke(id.clone())>"Revoke"</button>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
