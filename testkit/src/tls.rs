//! Test certificates made at run time (never committed): a self-signed ECDSA P-256
//! certificate for `localhost`, `127.0.0.1` and `::1`, written as PEM files for servers and
//! clients that take paths (the reactor, nginx, curl, Python's `ssl`).

use std::path::{Path, PathBuf};

/// A certificate and its private key, as PEM text and as files in a directory of their own.
pub struct TestCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8), PEM.
    pub key_pem: String,
    /// Where `cert_pem` is written (`cert.pem`); also the CA file a client trusts, as the
    /// certificate signs itself.
    pub cert_path: PathBuf,
    /// Where `key_pem` is written (`key.pem`).
    pub key_path: PathBuf,
}

impl TestCert {
    /// Makes a fresh self-signed pair and writes it under `dir` (created if missing).
    pub fn generate_in(dir: &Path) -> TestCert {
        let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
        let certified = rcgen::generate_simple_self_signed(names).expect("generate certificate");
        let cert_pem = certified.cert.pem();
        let key_pem = certified.key_pair.serialize_pem();
        std::fs::create_dir_all(dir).expect("certificate directory");
        let cert_path = dir.join("cert.pem");
        let key_path = dir.join("key.pem");
        std::fs::write(&cert_path, &cert_pem).expect("write cert.pem");
        std::fs::write(&key_path, &key_pem).expect("write key.pem");
        TestCert {
            cert_pem,
            key_pem,
            cert_path,
            key_path,
        }
    }

    /// Makes a fresh pair in a new directory under the system's temporary directory, named
    /// after `label` and this process, so parallel tests never share a key.
    pub fn generate(label: &str) -> TestCert {
        let dir = std::env::temp_dir().join(format!(
            "reactor-testkit-tls-{}-{label}",
            std::process::id()
        ));
        Self::generate_in(&dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_pem_certificate_and_key() {
        let cert = TestCert::generate("unit");
        let on_disk = std::fs::read_to_string(&cert.cert_path).expect("read cert");
        assert!(
            on_disk.starts_with("-----BEGIN CERTIFICATE-----"),
            "{on_disk}"
        );
        let key = std::fs::read_to_string(&cert.key_path).expect("read key");
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");
        assert_eq!(on_disk, cert.cert_pem);
    }
}
