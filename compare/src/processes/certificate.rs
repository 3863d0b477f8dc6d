//! The run's TLS certificate: one self-signed ECDSA P-256 certificate for `localhost`,
//! `127.0.0.1` and `::1`, made with rcgen when a comparison starts, written into the run's
//! output directory (removed with the designs' temp dirs at the end, never committed). Every
//! design serving https presents it (`{tls_cert}`, `{tls_key}`) and the load generator trusts
//! it (`--cacert`), so all designs are measured with the same key type and size.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The certificate and key files of one run.
#[derive(Debug, Clone)]
pub struct RunCert {
    /// The certificate, PEM; also the CA file the generator trusts (it signs itself).
    pub cert: PathBuf,
    /// Its private key (PKCS#8), PEM.
    pub key: PathBuf,
}

impl RunCert {
    /// Where a run with output directory `out_dir` keeps its certificate.
    pub fn dir(out_dir: &Path) -> PathBuf {
        out_dir.join("tls")
    }

    /// Makes a fresh pair and writes it as `cert.pem` and `key.pem` under `dir` (created if
    /// missing; the key readable by its owner only).
    pub fn generate_in(dir: &Path) -> anyhow::Result<RunCert> {
        let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
        // rcgen's default key pair is ECDSA P-256 with SHA-256.
        let made = rcgen::generate_simple_self_signed(names).context("making the certificate")?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir =
            std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?;
        let run = RunCert {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        write_private(&run.key, &made.key_pair.serialize_pem())?;
        std::fs::write(&run.cert, made.cert.pem())
            .with_context(|| format!("writing {}", run.cert.display()))?;
        Ok(run)
    }
}

/// Writes `text` to a new file at `path` that only its owner may read.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_p256_certificate_and_a_private_key() {
        let dir = std::env::temp_dir().join(format!("compare-cert-{}", std::process::id()));
        let run = RunCert::generate_in(&dir).unwrap();
        let cert = std::fs::read_to_string(&run.cert).unwrap();
        let key = std::fs::read_to_string(&run.key).unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");
        let pair = rcgen::KeyPair::from_pem(&key).unwrap();
        assert!(pair.is_compatible(&rcgen::PKCS_ECDSA_P256_SHA256));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&run.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key is the owner's alone");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
