//! The shared settings checked without sockets: a rustls client and server in memory.

use std::sync::Arc;

use reactor_testkit::tls::TestCert;
use rustls::crypto::{ring, CryptoProvider, SupportedKxGroup};
use rustls::{
    ClientConfig, ClientConnection, Connection, NamedGroup, RootCertStore, ServerConnection,
};

use super::*;

fn files(cert: &TestCert) -> CertKeyFiles {
    CertKeyFiles {
        cert: cert.cert_path.clone(),
        key: cert.key_path.clone(),
    }
}

fn fresh() -> Resumption {
    Resumption::fresh(64).expect("ticketer")
}

/// Runs a handshake between a client offering `client_groups` (in that order) and the shared
/// server configuration, and says which group the server chose.
fn negotiated_group(label: &str, client_groups: Vec<&'static dyn SupportedKxGroup>) -> NamedGroup {
    let cert = TestCert::generate(label);
    let server = server_config(&files(&cert), fresh()).expect("server config");
    let mut roots = RootCertStore::empty();
    for der in read_certificates("cacert", &cert.cert_path).expect("certificate") {
        roots.add(der).expect("trusted");
    }
    let provider = CryptoProvider {
        kx_groups: client_groups,
        ..(*crypto_provider()).clone()
    };
    let client = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = "localhost".try_into().expect("name");
    let client = ClientConnection::new(Arc::new(client), name).expect("client");
    let server = ServerConnection::new(server).expect("server");
    let (mut client, mut server) = (Connection::Client(client), Connection::Server(server));
    for _ in 0..8 {
        deliver(&mut client, &mut server);
        deliver(&mut server, &mut client);
    }
    assert!(!server.is_handshaking() && !client.is_handshaking());
    server
        .negotiated_key_exchange_group()
        .expect("a key exchange")
        .name()
}

/// Hands every byte `from` has to send to `to`, which processes it.
fn deliver(from: &mut Connection, to: &mut Connection) {
    let mut wire = Vec::new();
    from.write_tls(&mut wire).expect("writes");
    let mut rest = wire.as_slice();
    while !rest.is_empty() {
        to.read_tls(&mut rest).expect("reads");
        to.process_new_packets().expect("accepts");
    }
}

#[test]
fn x25519_is_preferred_and_p384_last() {
    let names: Vec<_> = crypto_provider()
        .kx_groups
        .iter()
        .map(|g| g.name())
        .collect();
    assert_eq!(
        names,
        [
            NamedGroup::X25519,
            NamedGroup::secp256r1,
            NamedGroup::secp384r1
        ]
    );
}

#[test]
fn a_client_with_the_shared_provider_negotiates_x25519() {
    let groups = crypto_provider().kx_groups.clone();
    assert_eq!(
        negotiated_group("groups-shared", groups),
        NamedGroup::X25519
    );
}

/// Why the server's group order is only a stated preference: rustls takes the first group of
/// the client's list that it supports.
#[test]
fn the_server_follows_the_clients_group_order() {
    use ring::kx_group::{SECP384R1, X25519};
    let groups = vec![SECP384R1, X25519];
    assert_eq!(
        negotiated_group("groups-p384", groups),
        NamedGroup::secp384r1
    );
}

#[test]
fn a_generated_pair_loads_with_http_1_1_and_tickets() {
    let cert = TestCert::generate("tls-ok");
    let config = server_config(&files(&cert), fresh()).expect("loads");
    assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    assert!(config.ticketer.enabled());
    assert_eq!(config.max_early_data_size, 0);
}

#[test]
fn the_resumption_state_is_carried_over() {
    let cert = TestCert::generate("tls-carry");
    let first = server_config(&files(&cert), fresh()).expect("loads");
    let second = server_config(&files(&cert), Resumption::of(&first)).expect("loads again");
    assert!(Arc::ptr_eq(&first.ticketer, &second.ticketer));
    assert!(Arc::ptr_eq(&first.session_storage, &second.session_storage));
}

#[test]
fn a_missing_file_is_named_with_its_flag() {
    let cert = TestCert::generate("tls-missing");
    let missing = cert.cert_path.with_file_name("nope.pem");
    let err = read_certificates("cacert", &missing).expect_err("missing");
    assert!(matches!(err, PemError::Unreadable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("--cacert") && text.contains("nope.pem"),
        "{text}"
    );
}

#[test]
fn swapped_files_say_what_form_was_expected() {
    let cert = TestCert::generate("tls-swapped");
    let swapped = CertKeyFiles {
        cert: cert.key_path.clone(),
        key: cert.cert_path.clone(),
    };
    let err = server_config(&swapped, fresh()).expect_err("a key is no certificate");
    assert!(err.to_string().contains("BEGIN CERTIFICATE"), "{err}");
    let err = read_private_key("tls-key", &cert.cert_path).expect_err("a cert is no key");
    assert!(matches!(err, PemError::NoKey { .. }), "{err:?}");
    assert!(err.to_string().contains("BEGIN PRIVATE KEY"), "{err}");
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let one = TestCert::generate("tls-one");
    let other = TestCert::generate("tls-other");
    let mismatched = CertKeyFiles {
        cert: one.cert_path.clone(),
        key: other.key_path.clone(),
    };
    let err = server_config(&mismatched, fresh()).expect_err("mismatch");
    assert!(matches!(err, ServerConfigError::Refused { .. }), "{err:?}");
    assert!(err.to_string().contains("does not belong"), "{err}");
}
