//! `/admin/sessions`: who is signed in, from where; end a session.

use leptos::prelude::*;

use super::{when, AdminFrame, Problem};
use crate::accounts::SessionList;
use crate::client::{get_json, send_json, ClientError};

#[component]
pub fn SessionsPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let sessions = Resource::new(move || version.get(), |_| get_json::<SessionList>("/api/v1/sessions".into()));
    let error = RwSignal::new(None::<ClientError>);
    let end = move |handle: String| {
        leptos::task::spawn_local(async move {
            match send_json("DELETE", format!("/api/v1/sessions/{handle}"), None).await {
                Ok(_) => version.update(|v| *v += 1),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <AdminFrame current="/admin/sessions" title="Sessions"
            lede="Everyone signed in right now. Ending a session signs that browser out at once, and closes its live tail.">
            <Problem error/>
            <Transition fallback=|| view! { <p class="muted">"Loading sessions…"</p> }>
                {move || sessions.get().map(|result| match result {
                    Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="admin-table-wrap">
                            <table class="admin-table">
                                <caption class="visually-hidden">"Active sessions"</caption>
                                <thead><tr>
                                    <th scope="col">"Person"</th><th scope="col">"Signed in"</th><th scope="col">"Last seen"</th>
                                    <th scope="col">"Address"</th><th scope="col">"Browser"</th><th scope="col">"Ends"</th>
                                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                </tr></thead>
                                <tbody>
                                    {list.sessions.into_iter().map(|s| {
                                        let handle = s.handle.clone();
                                        view! {
                                            <tr>
                                                <td><div class="person"><bdi class="person-name">{s.name.clone()}</bdi><bdi class="muted">{s.email.clone()}</bdi></div></td>
                                                <td>{when(&s.created_at)}</td>
                                                <td>{when(&s.last_seen_at)}</td>
                                                <td><bdi>{s.ip.clone().unwrap_or_else(|| "—".into())}</bdi></td>
                                                <td class="ua-cell"><bdi>{s.user_agent.clone().unwrap_or_else(|| "—".into())}</bdi></td>
                                                <td>{when(&s.expires_at)}</td>
                                                <td class="row-actions">
                                                    {if s.current {
                                                        view! { <span class="muted">"This session"</span> }.into_any()
                                                    } else {
                                                        view! { <button type="button" class="button small danger" on:click=move |_| end(handle.clone())>"End"</button> }.into_any()
                                                    }}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                })}
            </Transition>
        </AdminFrame>
    }
}
