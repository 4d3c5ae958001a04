//! Talking to the identity provider: one HTTP client that follows no redirects (so the
//! provider's answers cannot send Auditorium's requests elsewhere) and the discovery document
//! with its signing keys, kept for a few minutes and fetched again after that (or when a
//! token names a key not seen yet).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::core::{CoreClient, CoreGenderClaim};
use openidconnect::{
    AdditionalClaims, ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, ProviderMetadataWithLogout, RedirectUrl,
};
use serde::{Deserialize, Serialize};

/// How long a discovery document (and its keys) is used before it is fetched again.
const FRESH_FOR: Duration = Duration::from_secs(300);

pub type Client = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// Every claim of a userinfo answer, whatever its name (the groups claim is configurable).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct AnyClaims {
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}
impl AdditionalClaims for AnyClaims {}

pub type UserInfo = openidconnect::UserInfoClaims<AnyClaims, CoreGenderClaim>;

pub struct Provider {
    pub http: reqwest::Client,
    cached: Mutex<Option<(String, Instant, Arc<ProviderMetadataWithLogout>)>>,
}

impl Default for Provider {
    fn default() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Provider { http, cached: Mutex::new(None) }
    }
}

impl Provider {
    /// The provider's discovery document for `issuer` (from the cache while fresh).
    pub async fn metadata(&self, issuer: &str) -> Result<Arc<ProviderMetadataWithLogout>, String> {
        if let Ok(guard) = self.cached.lock() {
            if let Some((cached_issuer, at, meta)) = guard.as_ref() {
                if cached_issuer == issuer && at.elapsed() < FRESH_FOR {
                    return Ok(meta.clone());
                }
            }
        }
        let url = IssuerUrl::new(issuer.to_string()).map_err(|e| format!("the issuer {issuer:?} is not a URL: {e}"))?;
        let meta = ProviderMetadataWithLogout::discover_async(url, &self.http)
            .await
            .map_err(|e| format!("the identity provider's discovery document at {issuer} could not be used: {}", chain(&e)))?;
        let meta = Arc::new(meta);
        if let Ok(mut guard) = self.cached.lock() {
            *guard = Some((issuer.to_string(), Instant::now(), meta.clone()));
        }
        Ok(meta)
    }

    /// Fetch the discovery document (and keys) again at the next use.
    pub fn forget(&self) {
        if let Ok(mut guard) = self.cached.lock() {
            *guard = None;
        }
    }

    pub fn client(meta: &ProviderMetadataWithLogout, client_id: &str, secret: Option<String>, redirect: &str) -> Result<Client, String> {
        let redirect = RedirectUrl::new(redirect.to_string()).map_err(|e| format!("the redirect URI {redirect:?} is not a URL: {e}"))?;
        Ok(CoreClient::from_provider_metadata(meta.clone(), ClientId::new(client_id.to_string()), secret.map(ClientSecret::new)).set_redirect_uri(redirect))
    }
}

/// An error with its causes, in one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}
