//! A thread's TLS session cache (`--tls-resume on`): what rustls' own in-memory cache keeps,
//! with room for as many TLS 1.3 tickets per server as the thread has connections.
//!
//! rustls' cache keeps at most 8 tickets per server, and a TLS 1.3 ticket is used once. A
//! thread that opens a connection per request on 32 slots has up to 32 handshakes under way,
//! each having taken a ticket before the server's new one arrives: with 8, about a quarter of
//! its handshakes would fall back to full ones whatever the server supports, and "resumed"
//! would measure the cache's size, not the server. With room for two tickets per connection, the cache
//! holds what the server hands out.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use rustls::client::{ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue};
use rustls::pki_types::ServerName;
use rustls::NamedGroup;

/// Tickets kept per server at the least (rustls' own figure).
const MIN_TICKETS: usize = 8;

/// The sessions of one thread, by server name. The lock is the thread's own: no other thread
/// touches it.
#[derive(Debug)]
pub struct SessionCache {
    tickets_per_server: usize,
    servers: Mutex<HashMap<ServerName<'static>, Server>>,
}

/// What is kept for one server.
#[derive(Debug, Default)]
struct Server {
    kx_hint: Option<NamedGroup>,
    tls12: Option<Tls12ClientSessionValue>,
    tls13: VecDeque<Tls13ClientSessionValue>,
}

impl SessionCache {
    /// A cache for a thread with `connections` connections.
    pub fn for_connections(connections: usize) -> SessionCache {
        SessionCache {
            tickets_per_server: (2 * connections).max(MIN_TICKETS),
            servers: Mutex::new(HashMap::new()),
        }
    }

    /// Run `f` on the entry of `name` (a poisoned lock means a thread panicked while holding
    /// it; the sessions are still sound, so they are used).
    fn with<T>(&self, name: &ServerName<'_>, f: impl FnOnce(&mut Server) -> T) -> T {
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        let server = servers.entry(name.to_owned()).or_default();
        f(server)
    }
}

impl ClientSessionStore for SessionCache {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.with(&server_name, |s| s.kx_hint = Some(group));
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.with(server_name, |s| s.kx_hint)
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.with(&server_name, |s| s.tls12 = Some(value));
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.with(server_name, |s| s.tls12.clone())
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.with(server_name, |s| s.tls12 = None);
    }

    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: Tls13ClientSessionValue,
    ) {
        let cap = self.tickets_per_server;
        self.with(&server_name, |s| {
            if s.tls13.len() >= cap {
                s.tls13.pop_front();
            }
            s.tls13.push_back(value);
        });
    }

    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<Tls13ClientSessionValue> {
        // The newest first: it is the least likely to have expired.
        self.with(server_name, |s| s.tls13.pop_back())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_room_grows_with_the_connections() {
        assert_eq!(SessionCache::for_connections(1).tickets_per_server, 8);
        assert_eq!(SessionCache::for_connections(32).tickets_per_server, 64);
    }

    #[test]
    fn hints_are_kept_per_server() {
        let cache = SessionCache::for_connections(4);
        let a = ServerName::try_from("a.test").unwrap();
        let b = ServerName::try_from("b.test").unwrap();
        cache.set_kx_hint(a.clone(), NamedGroup::X25519);
        assert_eq!(cache.kx_hint(&a), Some(NamedGroup::X25519));
        assert_eq!(cache.kx_hint(&b), None);
        assert!(cache.tls12_session(&a).is_none());
        assert!(cache.take_tls13_ticket(&a).is_none());
    }
}
