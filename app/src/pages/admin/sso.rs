//! `/admin/sso`: single sign-on with OpenID Connect — the provider, who may sign in, the rules
//! from groups to role and scope, "Test sign-in" and the claims it received.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{when, AdminFrame, Problem};
use crate::client::{get_json, send_for, ClientError};
use crate::sso::{MappingRule, SsoSettings, SsoSettingsInput, TestResult};

#[component]
pub fn SsoPage() -> impl IntoView {
    let settings = Resource::new(|| (), |_| get_json::<SsoSettings>("/api/v1/sso/settings".into()));
    let query = use_query_map();
    let tested = query.with_untracked(|q| q.get("tested").is_some());
    view! {
        <AdminFrame current="/admin/sso" title="Single sign-on"
            lede="People sign in with your identity provider (OpenID Connect). Their groups decide their role and scope at every sign-in, so removing someone from a group removes their access at their next sign-in.">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || settings.get().map(|result| match result {
                    Ok(s) => view! { <SsoForm settings=s tested/> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                })}
            </Transition>
        </AdminFrame>
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect()
}

#[component]
fn SsoForm(settings: SsoSettings, tested: bool) -> impl IntoView {
    let enabled = RwSignal::new(settings.enabled);
    let display_name = RwSignal::new(settings.display_name.clone());
    let issuer = RwSignal::new(settings.issuer.clone());
    let client_id = RwSignal::new(settings.client_id.clone());
    let client_secret = RwSignal::new(String::new());
    let has_secret = RwSignal::new(settings.has_client_secret);
    let scopes = RwSignal::new(settings.scopes.join(" "));
    let groups_claim = RwSignal::new(settings.groups_claim.clone());
    let domains = RwSignal::new(settings.allowed_domains.join(" "));
    let create_accounts = RwSignal::new(settings.create_accounts);
    let password_sign_in = RwSignal::new(settings.password_sign_in);
    let rules = RwSignal::new(if settings.mappings.is_empty() { vec![MappingRule { role: "member".into(), ..Default::default() }] } else { settings.mappings.clone() });
    let error = RwSignal::new(None::<ClientError>);
    let saved = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let input = SsoSettingsInput {
            enabled: enabled.get_untracked(),
            display_name: display_name.get_untracked(),
            issuer: issuer.get_untracked(),
            client_id: client_id.get_untracked(),
            client_secret: Some(client_secret.get_untracked()).filter(|s| !s.trim().is_empty()),
            scopes: vec![scopes.get_untracked()],
            groups_claim: groups_claim.get_untracked(),
            mappings: rules.get_untracked(),
            allowed_domains: vec![domains.get_untracked()],
            create_accounts: create_accounts.get_untracked(),
            password_sign_in: password_sign_in.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match send_for::<SsoSettings>("PUT", "/api/v1/sso/settings".into(), serde_json::to_string(&input).ok()).await {
                Ok(s) => {
                    error.set(None);
                    saved.set(true);
                    client_secret.set(String::new());
                    has_secret.set(s.has_client_secret);
                    rules.set(s.mappings);
                }
                Err(e) => {
                    saved.set(false);
                    error.set(Some(e));
                }
            }
        });
    };
    let redirect_uri = settings.redirect_uri.clone();
    let post_logout_uri = settings.post_logout_uri.clone();
    view! {
        <form class="admin-card sso-form" on:submit=submit aria-labelledby="sso-provider-title">
            <h2 id="sso-provider-title">"Identity provider"</h2>
            <p class="muted form-help">"Register Auditorium at your provider as a web application (authorisation code flow) with these addresses:"</p>
            <dl class="sso-uris">
                <dt>"Redirect URI"</dt><dd><code>{redirect_uri}</code></dd>
                <dt>"Post-logout redirect URI"</dt><dd><code>{post_logout_uri}</code></dd>
            </dl>
            <div class="form-grid">
                <label for="sso-name">"Button name"</label>
                <input id="sso-name" required placeholder="Okta" prop:value=display_name on:input=move |ev| display_name.set(event_target_value(&ev))/>
                <label for="sso-issuer">"Issuer URL"</label>
                <input id="sso-issuer" type="url" placeholder="https://id.example.com" prop:value=issuer on:input=move |ev| issuer.set(event_target_value(&ev))/>
                <label for="sso-client-id">"Client ID"</label>
                <input id="sso-client-id" autocomplete="off" prop:value=client_id on:input=move |ev| client_id.set(event_target_value(&ev))/>
                <label for="sso-client-secret">"Client secret"</label>
                <input id="sso-client-secret" type="password" autocomplete="new-password"
                    placeholder=move || if has_secret.get() { "Stored — type to replace" } else { "" }
                    prop:value=client_secret on:input=move |ev| client_secret.set(event_target_value(&ev))/>
                <label for="sso-scopes">"Scopes"</label>
                <input id="sso-scopes" prop:value=scopes on:input=move |ev| scopes.set(event_target_value(&ev))/>
                <label for="sso-claim">"Groups claim"</label>
                <input id="sso-claim" prop:value=groups_claim on:input=move |ev| groups_claim.set(event_target_value(&ev))/>
                <label for="sso-domains">"Allowed email domains"</label>
                <input id="sso-domains" placeholder="Any (e.g. example.com corp.example)" prop:value=domains on:input=move |ev| domains.set(event_target_value(&ev))/>
            </div>
            <fieldset class="sso-choices">
                <legend>"Sign-in"</legend>
                <label><input type="checkbox" prop:checked=create_accounts on:change=move |ev| create_accounts.set(event_target_checked(&ev))/>
                    " Create an account at first sign-in (otherwise only invited people)"</label>
                <label><input type="checkbox" prop:checked=password_sign_in on:change=move |ev| password_sign_in.set(event_target_checked(&ev))/>
                    " Allow password sign-in for everyone (otherwise admins only, as break-glass)"</label>
                <label><input type="checkbox" id="sso-enabled" prop:checked=enabled on:change=move |ev| enabled.set(event_target_checked(&ev))/>
                    " Single sign-on is on (the sign-in page shows its button)"</label>
            </fieldset>
            <MappingTable rules/>
            <Problem error/>
            {move || saved.get().then(|| view! { <p class="account-notice" role="status">"Saved."</p> })}
            <div class="form-actions">
                <button type="submit" class="button primary">"Save"</button>
                <a class="button" href="/sso/start?test=1" rel="external" id="sso-test">"Test sign-in"</a>
                <span class="muted form-help">"Tests the saved settings: you go to the provider and back; nobody is signed in."</span>
            </div>
        </form>
        {settings.last_test.map(|t| view! { <LastTest result=t fresh=tested/> })}
    }
}

#[component]
fn MappingTable(rules: RwSignal<Vec<MappingRule>>) -> impl IntoView {
    let set = move |i: usize, f: Box<dyn Fn(&mut MappingRule)>| rules.update(|r| if let Some(rule) = r.get_mut(i) { f(rule) });
    view! {
        <h2 id="sso-rules-title">"Groups → access"</h2>
        <p class="muted form-help">"Someone in several groups gets the highest role; a member in several member groups sees what any of their scopes shows. Someone in no listed group is refused."</p>
        <div class="admin-table-wrap">
            <table class="admin-table sso-rules" aria-labelledby="sso-rules-title">
                <thead><tr>
                    <th scope="col">"Group"</th><th scope="col">"Role"</th><th scope="col">"Scope (members: one view per line)"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {move || rules.get().into_iter().enumerate().map(|(i, rule)| {
                        let member = rule.role == "member";
                        view! {
                            <tr>
                                <td><input aria-label=format!("Group of rule {}", i + 1) placeholder="sec-team" prop:value=rule.group.clone()
                                    on:change=move |ev| { let v = event_target_value(&ev); set(i, Box::new(move |r| r.group = v.clone())) }/></td>
                                <td><select aria-label=format!("Role of rule {}", i + 1) prop:value=rule.role.clone()
                                    on:change=move |ev| { let v = event_target_value(&ev); set(i, Box::new(move |r| r.role = v.clone())) }>
                                    <option value="member">"Member"</option>
                                    <option value="auditor">"Auditor"</option>
                                    <option value="admin">"Admin"</option>
                                </select></td>
                                <td>{member.then(|| view! {
                                    <textarea rows="1" aria-label=format!("Scope of rule {}", i + 1) placeholder="context.team=machinery" prop:value=rule.scopes.join("\n")
                                        on:change=move |ev| { let v = lines(&event_target_value(&ev)); set(i, Box::new(move |r| r.scopes = v.clone())) }></textarea>
                                })}</td>
                                <td class="row-actions">
                                    <button type="button" class="button small" aria-label=format!("Remove rule {}", i + 1)
                                        on:click=move |_| rules.update(|r| { if i < r.len() { r.remove(i); } })>"Remove"</button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <button type="button" class="button small" on:click=move |_| rules.update(|r| r.push(MappingRule { role: "member".into(), ..Default::default() }))>"Add a rule"</button>
    }
}

#[component]
fn LastTest(result: TestResult, fresh: bool) -> impl IntoView {
    let claims = serde_json::to_string_pretty(&result.claims).unwrap_or_default();
    view! {
        <section class="admin-card sso-test" aria-labelledby="sso-test-title" id="sso-last-test">
            <h2 id="sso-test-title">{if fresh { "Test sign-in: result" } else { "Last test sign-in" }}</h2>
            <p class=if result.allowed { "account-notice" } else { "form-error" } role="status">{format!("{} — {}", when(&result.at), result.outcome)}</p>
            <h3>"Claims received"</h3>
            {if result.claims.is_null() {
                view! { <p class="muted">"None: the test stopped before the identity provider sent any."</p> }.into_any()
            } else {
                view! { <pre class="sso-claims">{claims}</pre> }.into_any()
            }}
        </section>
    }
}
