//! TLS for the mimics: a throwaway test CA made at start, and a leaf certificate for every real
//! source's host name signed by it, so a scraper that connects to `https://www.redfin.com`
//! (routed to loopback by the operator's `--resolve`) gets a certificate it can check against
//! the printed CA (`--ca-cert`). The CA's key lives only in memory.

use super::Source;
use crate::MarketError;
use std::sync::Arc;

/// A test CA and the server configuration presenting its leaf certificate.
pub struct TestCa {
    ca_pem: String,
    server: Arc<tokio_rustls::rustls::ServerConfig>,
}

fn tls_err(what: &str, e: impl std::fmt::Display) -> MarketError {
    MarketError::InvalidConfig(format!(
        "making the mimic's test certificates ({what}): {e}"
    ))
}

impl TestCa {
    /// A new CA and a leaf for every [`Source::host`] plus `localhost`.
    pub fn generate() -> Result<TestCa, MarketError> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        };
        let mut ca_params =
            CertificateParams::new(Vec::<String>::new()).map_err(|e| tls_err("CA params", e))?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(
            DnType::CommonName,
            "resi mimic test CA (never trust outside tests)",
        );
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().map_err(|e| tls_err("CA key", e))?;
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .map_err(|e| tls_err("CA certificate", e))?;
        let issuer = Issuer::new(ca_params, ca_key);

        let mut names: Vec<String> = Source::ALL.iter().map(|s| s.host().to_owned()).collect();
        names.push("localhost".into());
        let mut leaf_params =
            CertificateParams::new(names).map_err(|e| tls_err("leaf params", e))?;
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "resi mimic");
        let leaf_key = KeyPair::generate().map_err(|e| tls_err("leaf key", e))?;
        let leaf = leaf_params
            .signed_by(&leaf_key, &issuer)
            .map_err(|e| tls_err("leaf certificate", e))?;

        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let key_der =
            tokio_rustls::rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der())
                .map_err(|e| tls_err("leaf key DER", e))?;
        let server = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_err("protocol versions", e))?
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone(), ca_cert.der().clone()], key_der)
            .map_err(|e| tls_err("server config", e))?;
        Ok(TestCa {
            ca_pem: ca_cert.pem(),
            server: Arc::new(server),
        })
    }

    /// The CA certificate in PEM, for `--ca-cert`.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A TLS acceptor presenting the leaf certificate.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.server.clone())
    }
}
