//! Native HTTPS: the rustls server configuration from PEM files. ALPN offers `h2` first,
//! then `http/1.1`, so browsers multiplex every tab's event stream over one connection
//! (HTTP/1.1 allows six per origin) while clients without h2 keep working on the same port.
//! Uses the `ring` provider: pure build, no C toolchain beyond what `ring` ships.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// ALPN protocol ids, most preferred first.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// A TLS acceptor for the certificate chain and private key in `cert` and `key` (PEM).
pub fn acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let cert_pem = std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?;
    let key_pem = std::fs::read(key).with_context(|| format!("reading {}", key.display()))?;
    from_pem(&cert_pem, &key_pem)
}

/// A TLS acceptor from PEM bytes (the chain, leaf first; a PKCS#8, PKCS#1 or SEC1 key).
pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> anyhow::Result<TlsAcceptor> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .context("parsing the TLS certificate (PEM)")?;
    if chain.is_empty() {
        bail!("no certificate found in the TLS certificate file");
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).context("parsing the TLS key (PEM)")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the TLS key does not match the certificate")?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let err = from_pem(b"not a certificate", b"not a key")
            .err()
            .expect("refused");
        assert!(err.to_string().contains("certificate"), "{err:#}");
    }
}
