//! Certificates of a destination: the system's roots unless the destination has its own CA
//! bundle, and an optional client certificate (mutual TLS). For syslog over TLS (rustls
//! config) and for the HTTP destinations (a reqwest client).

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// The PEM material of one destination (the key opened from its sealed form).
#[derive(Clone, Default)]
pub struct Certificates {
    pub ca_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

/// The key stays out of debug output.
impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates").field("custom_ca", &!self.ca_pem.trim().is_empty()).field("client_cert", &self.has_client_cert()).finish_non_exhaustive()
    }
}

fn certificates(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the {what} cannot be read: {e}"))?;
    if certs.is_empty() {
        return Err(format!("the {what} holds no certificate"));
    }
    Ok(certs)
}

fn roots(ca_pem: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    if ca_pem.trim().is_empty() {
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err("no system root certificates were found: give the destination a CA bundle".into());
        }
    } else {
        for cert in certificates(ca_pem, "CA bundle")? {
            roots.add(cert).map_err(|e| format!("a certificate of the CA bundle is not usable: {e}"))?;
        }
    }
    Ok(roots)
}

impl Certificates {
    pub fn has_client_cert(&self) -> bool {
        !self.client_cert_pem.trim().is_empty()
    }

    /// The rustls configuration for syslog over TLS.
    pub fn rustls(&self) -> Result<Arc<ClientConfig>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up failed: {e}"))?
            .with_root_certificates(roots(&self.ca_pem)?);
        let config = if self.has_client_cert() {
            let chain = certificates(&self.client_cert_pem, "client certificate")?;
            let key = PrivateKeyDer::from_pem_slice(self.client_key_pem.as_bytes()).map_err(|e| format!("the client key cannot be read: {e}"))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| format!("the client certificate and key do not go together: {e}"))?
        } else {
            builder.with_no_client_auth()
        };
        Ok(Arc::new(config))
    }

    /// An HTTP client for HEC and webhooks: no redirects followed, bounded waits.
    pub fn http_client(&self, timeout: Duration) -> Result<reqwest::Client, String> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(timeout)
            .user_agent(concat!("Auditorium/", env!("CARGO_PKG_VERSION")));
        if !self.ca_pem.trim().is_empty() {
            builder = builder.tls_built_in_root_certs(false);
            for cert in certificates(&self.ca_pem, "CA bundle")? {
                let cert = reqwest::Certificate::from_der(&cert).map_err(|e| format!("a certificate of the CA bundle is not usable: {e}"))?;
                builder = builder.add_root_certificate(cert);
            }
        }
        if self.has_client_cert() {
            let pem = format!("{}\n{}\n", self.client_cert_pem.trim(), self.client_key_pem.trim());
            let identity = reqwest::Identity::from_pem(pem.as_bytes()).map_err(|e| format!("the client certificate and key cannot be used: {e}"))?;
            builder = builder.identity(identity);
        }
        builder.build().map_err(|e| format!("the HTTP client cannot be built: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_ca_bundle_or_key_is_named() {
        let bad = Certificates { ca_pem: "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----".into(), ..Default::default() };
        assert!(bad.rustls().expect_err("refused").contains("CA bundle"));
        let none = Certificates { ca_pem: "just text".into(), ..Default::default() };
        assert!(none.rustls().expect_err("refused").contains("holds no certificate"));
    }
}
