//! Browser protections, as middleware around every route:
//! - the `Host` header must name this server (a DNS-rebinding page cannot talk to it);
//! - a state-changing request made with the session cookie must come from this origin (CSRF);
//! - security headers on every answer (a CSP with a per-request nonce for the page's scripts,
//!   no framing, no MIME sniffing, same-origin referrers).
//! And where a request came from (address, user agent), for the audit log: the peer address,
//! or the `X-Forwarded-For` address a trusted proxy reports.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rand::RngCore;

use super::audit::Origin;
use crate::api::error::ApiError;
use crate::state::AppState;

/// Where this server is reached, for the checks.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// `Host` values accepted (lower case, with the port when not the default); `None`: any
    /// (a server on a public address without `--public-url`).
    pub allowed_hosts: Option<Vec<String>>,
    /// Cookies carry `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// The URL people use, for links (`--public-url`, or `http://<listen address>`).
    pub base_url: String,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Origins besides this site a form may lead to: the single-sign-on provider, whose
    /// end-session page signing out redirects to (CSP `form-action` covers redirects).
    pub sign_out_origins: std::sync::Arc<std::sync::RwLock<Vec<String>>>,
}

impl WebConfig {
    /// Lets forms lead to the origin of `url` (the provider's end-session page), alone. Only a
    /// plain `scheme://host[:port]` goes into the CSP header.
    pub fn allow_sign_out_to(&self, url: Option<&str>) {
        let origin = url.and_then(|u| {
            let (scheme, rest) = u.split_once("://")?;
            let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))?;
            matches!(scheme, "http" | "https").then(|| format!("{scheme}://{host}"))
        });
        if let Ok(mut origins) = self.sign_out_origins.write() {
            *origins = origin.into_iter().collect();
        }
    }

    /// From the listening address and the options; `public_url` like `https://audit.example.com`.
    pub fn new(listen: SocketAddr, public_url: Option<&str>, trusted_proxies: Vec<IpAddr>) -> Result<WebConfig, String> {
        let port = listen.port();
        // Loopback names, on any port: a DNS-rebinding page cannot make a browser send them.
        let mut local = vec!["localhost".to_string(), "127.0.0.1".to_string(), "[::1]".to_string()];
        if !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
            local.push(listen.to_string());
        }
        match public_url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => {
                let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("--public-url {url:?} needs a scheme (https://…)"))?;
                let scheme = scheme.to_ascii_lowercase();
                if scheme != "http" && scheme != "https" {
                    return Err(format!("--public-url {url:?} must be http or https"));
                }
                let host = rest.split('/').next().unwrap_or_default().to_ascii_lowercase();
                if host.is_empty() || host.contains('@') {
                    return Err(format!("--public-url {url:?} has no host"));
                }
                let default_port = if scheme == "https" { ":443" } else { ":80" };
                let mut allowed = vec![host.trim_end_matches(default_port).to_string()];
                allowed.extend(local);
                Ok(WebConfig {
                    allowed_hosts: Some(allowed),
                    secure_cookies: scheme == "https",
                    base_url: format!("{scheme}://{host}"),
                    trusted_proxies,
                    sign_out_origins: Default::default(),
                })
            }
            None => Ok(WebConfig {
                // Without a public URL, a server on a public address cannot know its names.
                allowed_hosts: listen.ip().is_loopback().then_some(local),
                secure_cookies: false,
                base_url: format!("http://{}", if listen.ip().is_unspecified() { format!("127.0.0.1:{port}") } else { listen.to_string() }),
                trusted_proxies,
                sign_out_origins: Default::default(),
            }),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let host = host.strip_suffix(":80").unwrap_or(&host);
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.ends_with(':') => name,
            _ => host,
        };
        self.allowed_hosts.as_ref().is_none_or(|allowed| {
            allowed.iter().any(|a| a == host || (matches!(a.as_str(), "localhost" | "127.0.0.1" | "[::1]") && a == name))
        })
    }
}

/// Refuses requests whose `Host` is not this server's (421).
pub async fn check_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).or_else(|| request.uri().authority().map(|a| a.as_str()));
    match host {
        // No Host at all (HTTP/1.0, in-process calls) cannot come from a browser page.
        None => next.run(request).await,
        Some(host) if state.web.host_allowed(host) => next.run(request).await,
        Some(_) => {
            let message = "This server does not answer to that host name (set --public-url to the address people use).";
            (StatusCode::MISDIRECTED_REQUEST, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message).into_response()
        }
    }
}

/// Refuses a state-changing request from another origin unless it carries an API token
/// (which a foreign page cannot add): the cookie alone does not authorise it.
pub async fn check_origin(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) || request.headers().contains_key(header::AUTHORIZATION) {
        return next.run(request).await;
    }
    if same_origin(request.headers()) {
        next.run(request).await
    } else {
        ApiError::Forbidden("this request came from another site and was refused (cross-site request forgery protection)".into()).into_response()
    }
}

/// Whether a browser request comes from a page of this server: its `Origin` (or, lacking one,
/// `Sec-Fetch-Site`) says so. A request with neither is not from a browser page.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        Some(origin) => origin.split_once("://").is_some_and(|(_, rest)| rest.trim_end_matches('/').to_ascii_lowercase() == host),
        None => headers.get("sec-fetch-site").and_then(|s| s.to_str().ok()).is_none_or(|site| site == "same-origin" || site == "none"),
    }
}

/// Adds the security headers (and a fresh CSP nonce to the request for the page).
pub async fn security_headers(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    // The page's inline scripts carry it (app::shell reads it while rendering).
    request.extensions_mut().insert(app::CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let forms: String = state.web.sign_out_origins.read().map(|o| o.iter().map(|o| format!(" {o}")).collect()).unwrap_or_default();
    let csp = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'{forms}; object-src 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    response
}

/// Where the request came from: the peer's address (or what a trusted proxy says it
/// forwarded for) and the user agent.
pub struct ClientOrigin(pub Origin);

impl FromRequestParts<AppState> for ClientOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let ip = client_ip(peer, &parts.headers, &state.web.trusted_proxies).map(|ip| ip.to_string());
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(ClientOrigin(Origin { ip, user_agent }))
    }
}

/// The client's address: the peer, unless the peer is a trusted proxy — then the nearest
/// address in `X-Forwarded-For` that is not a trusted proxy.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(str::trim).filter_map(|a| a.parse().ok()).collect::<Vec<_>>())
        .collect();
    forwarded.into_iter().rev().find(|ip| !trusted.contains(ip)).or(Some(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn hosts_without_a_public_url_on_loopback() {
        let web = WebConfig::new("127.0.0.1:3000".parse().expect("addr"), None, vec![]).expect("config");
        assert!(web.host_allowed("localhost:3000"));
        assert!(web.host_allowed("127.0.0.1:3000"));
        assert!(web.host_allowed("[::1]:3000"));
        assert!(web.host_allowed("localhost"));
        assert!(!web.host_allowed("attacker.example:3000"), "DNS rebinding");
        assert!(!web.host_allowed("localhost.attacker.example:3000"));
    }

    #[test]
    fn hosts_with_a_public_url() {
        let web = WebConfig::new("127.0.0.1:3000".parse().expect("addr"), Some("https://Audit.Example.com/"), vec![]).expect("config");
        assert!(web.secure_cookies);
        assert_eq!(web.base_url, "https://audit.example.com");
        assert!(web.host_allowed("audit.example.com"));
        assert!(web.host_allowed("127.0.0.1:3000"), "health checks on the listening address");
        assert!(!web.host_allowed("other.example.com"));
        assert!(WebConfig::new("127.0.0.1:3000".parse().expect("addr"), Some("audit.example.com"), vec![]).is_err());
    }

    #[test]
    fn only_a_plain_origin_is_allowed_for_signing_out() {
        let config = WebConfig::new("127.0.0.1:3000".parse().expect("addr"), None, vec![]).expect("config");
        let allowed = |url: &str| {
            config.allow_sign_out_to(Some(url));
            config.sign_out_origins.read().expect("lock").clone()
        };
        assert_eq!(allowed("https://id.example.com:8443/oidc/logout?x=1"), vec!["https://id.example.com:8443".to_string()]);
        assert!(allowed("https://id.example.com; script-src *").is_empty(), "nothing that would change the policy");
        assert!(allowed("javascript://x").is_empty());
        config.allow_sign_out_to(None);
        assert!(config.sign_out_origins.read().expect("lock").is_empty());
    }

    #[test]
    fn same_origin_checks() {
        assert!(same_origin(&headers(&[("host", "localhost:3000"), ("origin", "http://localhost:3000")])));
        assert!(!same_origin(&headers(&[("host", "localhost:3000"), ("origin", "http://evil.example")])));
        assert!(!same_origin(&headers(&[("host", "localhost:3000"), ("origin", "null")])));
        assert!(!same_origin(&headers(&[("host", "localhost:3000"), ("sec-fetch-site", "cross-site")])));
        assert!(same_origin(&headers(&[("host", "localhost:3000")])), "not a browser page");
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.2".parse().expect("ip");
        let h = headers(&[("x-forwarded-for", "203.0.113.9, 198.51.100.4")]);
        assert_eq!(client_ip(Some(proxy), &h, &[proxy]), Some("198.51.100.4".parse().expect("ip")));
        assert_eq!(client_ip(Some(proxy), &h, &[]), Some(proxy), "an untrusted peer's header is ignored");
    }
}
