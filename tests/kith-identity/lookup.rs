//! Name lookup against a local HTTPS server with a test certificate.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use kith_identity::invite::{contact_invite, link_request, to_uri};
use kith_identity::lookup::{LookupConfig, lookup, lookup_url, parse_name};
use kith_identity::{Contact, ContactSource, IdentityError, TrustState};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::account;

/// A one-thread HTTPS server on 127.0.0.1 answering `routes` by path; it
/// serves `requests` connections and stops.
struct Server {
    port: u16,
    root: Vec<u8>,
    handle: JoinHandle<()>,
}

fn serve(requests: usize, routes: Vec<(&'static str, u16, String)>) -> Server {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let root = cert.cert.der().to_vec();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![CertificateDer::from(root.clone())], key)
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(stream) = stream else { continue };
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, stream);
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match tls.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&request);
            let path = text.split_whitespace().nth(1).unwrap_or("").to_owned();
            let (status, body) = routes
                .iter()
                .find(|(p, _, _)| *p == path)
                .map(|(_, s, b)| (*s, b.clone()))
                .unwrap_or((404, "not found".into()));
            if body == "SLOW" {
                std::thread::sleep(Duration::from_millis(1500));
            }
            let response = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.write_all(response.as_bytes());
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    Server { port, root, handle }
}

fn config(server: &Server) -> LookupConfig {
    LookupConfig {
        timeout: Duration::from_millis(800),
        roots: Some(vec![server.root.clone()]),
    }
}

#[test]
fn names_are_checked_before_any_request() {
    assert_eq!(
        lookup_url("alice@example.com").unwrap(),
        "https://example.com/.well-known/kith/alice"
    );
    assert_eq!(
        lookup_url(" bob.b-1@Example.COM:8443 ").unwrap(),
        "https://example.com:8443/.well-known/kith/bob.b-1"
    );
    for bad in [
        "",
        "alice",
        "@example.com",
        "alice@",
        "a/b@example.com",
        "alice@exa mple.com",
        "alice@example.com/x",
        "alice@example.com:0",
        "alice@example.com:99999",
        "alice@-bad.com",
        "..@x.com",
        "alice@x..com",
    ] {
        assert!(parse_name(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn a_name_resolves_to_an_invite_and_says_where_it_came_from() {
    let alice = account("laptop");
    let invite = contact_invite(&alice.keys, &alice.log, vec![], 1_000, 3_600).unwrap();
    let link = link_request(&alice.keys, vec![], 1_000).unwrap();
    let server = serve(
        6,
        vec![
            (
                "/.well-known/kith/alice",
                200,
                format!("{}\n", to_uri(&invite).unwrap()),
            ),
            ("/.well-known/kith/junk", 200, "hello".into()),
            ("/.well-known/kith/link", 200, to_uri(&link).unwrap()),
            (
                "/.well-known/kith/huge",
                200,
                format!("kith:{}", "A".repeat(10_000)),
            ),
            ("/.well-known/kith/slow", 200, "SLOW".into()),
        ],
    );
    let host = format!("localhost:{}", server.port);
    let cfg = config(&server);

    let found = lookup(&format!("alice@{host}"), &cfg, 1_000).unwrap();
    assert_eq!(found.invite, invite);
    assert_eq!(found.url, format!("https://{host}/.well-known/kith/alice"));
    assert_eq!(found.name, format!("alice@{host}"));
    // A looked-up contact starts unvalidated and says where it came from.
    let source = ContactSource::NameLookup {
        name: found.name.clone(),
        url: found.url.clone(),
    };
    let contact = Contact::from_invite(&found.invite, source.clone(), 5).unwrap();
    assert_eq!(contact.trust(), TrustState::Unvalidated);
    assert_eq!(contact.source, source);
    assert_eq!(contact.display_name(), Some("Alice"));
    assert_eq!(contact.account_id(), alice.log.account_id());

    let err = |user: &str| {
        lookup(&format!("{user}@{host}"), &cfg, 1_000)
            .unwrap_err()
            .to_string()
    };
    assert!(err("nobody").contains("http 404"), "{}", err("nobody"));
    assert!(err("junk").contains("not a kith invite"));
    assert!(err("link").contains("device link"));
    assert!(err("huge").contains("too large"), "{}", err("huge"));
    assert!(err("slow").contains("timed out"), "{}", err("slow"));
    drop(server.handle);
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let server = serve(1, vec![]);
    let other_root = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .unwrap()
        .cert
        .der()
        .to_vec();
    let cfg = LookupConfig {
        timeout: Duration::from_secs(2),
        roots: Some(vec![other_root]),
    };
    let err = lookup(&format!("alice@localhost:{}", server.port), &cfg, 0).unwrap_err();
    assert!(
        matches!(&err, IdentityError::Lookup(m) if m.starts_with("tls")),
        "{err}"
    );
}

#[test]
fn a_closed_port_fails_cleanly() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = LookupConfig {
        timeout: Duration::from_secs(2),
        roots: Some(vec![]),
    };
    let err = lookup(&format!("alice@localhost:{port}"), &cfg, 0).unwrap_err();
    assert!(matches!(err, IdentityError::Lookup(_)), "{err}");
}
