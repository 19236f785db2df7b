//! Which connections may stay open: at most `max_connections` in all and
//! `max_connections_per_address` from one address. When either is reached, an idle connection
//! (no request in progress, oldest activity first; of the same address for its share) is closed
//! to make room for the new one, and only when none is idle is the new one refused. So 1,024
//! idle connections do not lock everyone out, and one address that keeps reconnecting holds at
//! most its own share.
//!
//! A connection is busy from the moment a request arrives until its response body is finished
//! (a live tail stays busy while it streams); [`Tracked`] wraps each response body for that.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::Notify;

/// One open connection's state, shared by its task, its requests and the registry.
pub struct Conn {
    id: u64,
    ip: IpAddr,
    /// Requests in progress (bodies included).
    busy: AtomicUsize,
    /// Milliseconds since the registry started, at the last request's start or end.
    last: AtomicU64,
    /// Told when the registry closes this connection to make room.
    pub evict: Notify,
}

impl Conn {
    fn touch(&self, epoch: Instant) {
        self.last.store(
            u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

/// Why a connection was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `max_connections` are open and none of them is idle.
    Full,
    /// This address has `max_connections_per_address` open.
    PerAddress,
}

/// The open connections.
pub struct Registry {
    max: usize,
    per_address: usize,
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Registry {
    pub fn new(max: usize, per_address: usize) -> Registry {
        Registry {
            max: max.max(1),
            per_address: per_address.clamp(1, max.max(1)),
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Lets a connection from `ip` in, closing the longest-idle connection when the server is
    /// full. The connection counts until its [`Admitted`] guard is dropped.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admitted, Refused> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        // The longest-idle connection among those `which` selects, closed to make room: it
        // leaves the count now, and its task closes the socket when told.
        let evict = |open: &mut HashMap<u64, Arc<Conn>>, which: &dyn Fn(&Conn) -> bool| {
            let idle = open
                .values()
                .filter(|c| which(c) && c.busy.load(Ordering::Relaxed) == 0)
                .min_by_key(|c| c.last.load(Ordering::Relaxed))
                .cloned();
            idle.map(|victim| {
                open.remove(&victim.id);
                victim.evict.notify_one();
            })
        };
        if open.values().filter(|c| c.ip == ip).count() >= self.per_address
            && evict(&mut open, &|c| c.ip == ip).is_none()
        {
            return Err(Refused::PerAddress);
        }
        if open.len() >= self.max && evict(&mut open, &|_| true).is_none() {
            return Err(Refused::Full);
        }
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            ip,
            busy: AtomicUsize::new(0),
            last: AtomicU64::new(0),
            evict: Notify::new(),
        });
        conn.touch(self.epoch);
        open.insert(conn.id, conn.clone());
        Ok(Admitted { registry: self.clone(), conn })
    }

    /// Connections open now.
    pub fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A connection let in; leaves the registry when dropped.
pub struct Admitted {
    registry: Arc<Registry>,
    pub conn: Arc<Conn>,
}

impl Admitted {
    /// Marks a request begun on this connection; it stays busy until the returned guard (kept
    /// in the response body) is dropped.
    pub fn begin(conn: &Arc<Conn>, registry: &Arc<Registry>) -> Busy {
        conn.busy.fetch_add(1, Ordering::Relaxed);
        conn.touch(registry.epoch);
        Busy { conn: conn.clone(), epoch: registry.epoch }
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.registry.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.remove(&self.conn.id);
    }
}

/// A request in progress on a connection.
pub struct Busy {
    conn: Arc<Conn>,
    epoch: Instant,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.conn.touch(self.epoch);
        self.conn.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that keeps its connection busy until it is finished or dropped.
pub struct Tracked {
    inner: Body,
    _busy: Busy,
}

impl Tracked {
    pub fn wrap(inner: Body, busy: Busy) -> Body {
        Body::new(Tracked { inner, _busy: busy })
    }
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn a_full_server_closes_its_longest_idle_connection_for_a_new_one() {
        let r = Arc::new(Registry::new(3, 3));
        let a = r.admit(ip(1)).ok();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = r.admit(ip(2)).ok();
        let c = r.admit(ip(3)).ok();
        let (Some(a), Some(b), Some(c)) = (a, b, c) else { panic!("three fit") };
        // b is busy; a is the oldest idle one, so it makes room.
        let busy = Admitted::begin(&b.conn, b.registry());
        let d = r.admit(ip(4));
        assert!(d.is_ok());
        assert_eq!(r.len(), 3);
        assert!(!r.open.lock().unwrap_or_else(PoisonError::into_inner).contains_key(&a.conn.id));
        // With every connection busy, a new one is refused.
        let _busy_c = Admitted::begin(&c.conn, c.registry());
        let d = d.ok();
        let _busy_d = d.as_ref().map(|d| Admitted::begin(&d.conn, d.registry()));
        assert_eq!(r.admit(ip(5)).err(), Some(Refused::Full));
        drop(busy);
        assert!(r.admit(ip(5)).is_ok(), "b went idle and made room");
    }

    #[test]
    fn one_address_gets_its_share_only() {
        let r = Arc::new(Registry::new(10, 2));
        let a = r.admit(ip(1)).ok();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = r.admit(ip(1)).ok();
        let (Some(a), Some(b)) = (a, b) else { panic!("two fit") };
        // Its own idle connection makes room for its new one...
        let c = r.admit(ip(1));
        assert!(c.is_ok());
        assert_eq!(r.len(), 2);
        // ...but with both of its connections busy it gets no third.
        let _busy_b = Admitted::begin(&b.conn, b.registry());
        let c = c.ok();
        let _busy_c = c.as_ref().map(|c| Admitted::begin(&c.conn, c.registry()));
        assert_eq!(r.admit(ip(1)).err(), Some(Refused::PerAddress));
        assert!(r.admit(ip(2)).is_ok(), "another address is let in");
        drop(a);
    }
}
