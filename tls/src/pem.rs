//! Certificates and private keys read from PEM files. Each error names the flag the file came
//! from (`tls-cert`, `tls-key`, `cacert`), the file, and the form that was expected, so a
//! swapped or empty file says what is wrong with it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A PEM file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    /// The file could not be read.
    #[error("cannot read --{flag} {path}")]
    Unreadable {
        /// The flag that named the file, without its dashes.
        flag: &'static str,
        /// The file named.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The PEM text itself is malformed.
    #[error("--{flag} {path} is not valid PEM")]
    BadPem {
        /// The flag that named the file, without its dashes.
        flag: &'static str,
        /// The file named.
        path: PathBuf,
        /// What the PEM parser said.
        #[source]
        source: io::Error,
    },
    /// The file holds no certificate.
    #[error(
        "--{flag} {path} holds no certificate: expected PEM with one or more \
         \"-----BEGIN CERTIFICATE-----\" blocks"
    )]
    NoCertificate {
        /// The flag that named the file, without its dashes.
        flag: &'static str,
        /// The file named.
        path: PathBuf,
    },
    /// The file holds no private key.
    #[error(
        "--{flag} {path} holds no private key: expected a PEM \"-----BEGIN PRIVATE KEY-----\" \
         (PKCS#8), \"-----BEGIN EC PRIVATE KEY-----\" or \"-----BEGIN RSA PRIVATE KEY-----\" block"
    )]
    NoKey {
        /// The flag that named the file, without its dashes.
        flag: &'static str,
        /// The file named.
        path: PathBuf,
    },
}

/// Every certificate in the PEM file at `path`, in file order (a server's chain: its own
/// certificate first); an error when it holds none. `flag` names the file in errors.
pub fn read_certificates(
    flag: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let pem = read(flag, path)?;
    let chain = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| PemError::BadPem {
            flag,
            path: path.to_owned(),
            source,
        })?;
    if chain.is_empty() {
        return Err(PemError::NoCertificate {
            flag,
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in the PEM file at `path`. `flag` names the
/// file in errors.
pub fn read_private_key(
    flag: &'static str,
    path: &Path,
) -> Result<PrivateKeyDer<'static>, PemError> {
    let pem = read(flag, path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|source| PemError::BadPem {
            flag,
            path: path.to_owned(),
            source,
        })?
        .ok_or_else(|| PemError::NoKey {
            flag,
            path: path.to_owned(),
        })
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, PemError> {
    fs::read(path).map_err(|source| PemError::Unreadable {
        flag,
        path: path.to_owned(),
        source,
    })
}
