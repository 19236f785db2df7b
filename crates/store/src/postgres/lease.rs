//! The sequencer lease: who may append, until when, under which fencing epoch.

use std::sync::PoisonError;
use std::time::Duration;

use super::{PostgresStore, millis, pg_err};
use crate::sql::{int, uint};
use crate::{Result, StoreError};

/// A fencing token: the epoch of a sequencer lease held by `node`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseToken {
    pub node: String,
    pub epoch: u64,
}

/// The lease as the database sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseInfo {
    /// The last holder; `None` after a release (or before anyone held it).
    pub holder: Option<String>,
    pub epoch: u64,
    /// Milliseconds until the lease expires; `None` when released, negative when expired.
    pub expires_in_ms: Option<i64>,
}

impl LeaseInfo {
    /// True while a holder's lease has not expired.
    pub fn is_live(&self) -> bool {
        self.holder.is_some() && self.expires_in_ms.is_some_and(|ms| ms > 0)
    }
}

impl PostgresStore {
    /// Takes the log's sequencer lease for `node` for `ttl` if nobody else holds a live one, and
    /// returns its token; `None` while another node's lease is live. Every acquisition bumps the
    /// epoch, including `node` taking over its own earlier lease (a restarted node), so whatever
    /// held the lease before is fenced off. From then on this store appends only under this
    /// epoch: an append after another node took the lease fails with [`StoreError::LeaseLost`],
    /// inside the append's own transaction. Expiry is measured on the database's clock.
    pub fn try_acquire(&self, node: &str, ttl: Duration) -> Result<Option<LeaseToken>> {
        let (node_id, ms) = (node.to_owned(), millis(ttl));
        let epoch = self.pool.run(move |s| {
            let row = s
                .client
                .query_opt(
                    "UPDATE lease SET epoch = epoch + 1, holder = $1, \
                     expires = clock_timestamp() + $2::bigint * interval '1 millisecond' \
                     WHERE id = 0 AND (holder IS NULL OR holder = $1 OR expires <= clock_timestamp()) \
                     RETURNING epoch",
                    &[&node_id, &ms],
                )
                .map_err(pg_err)?;
            Ok(row.map(|r| r.get::<_, i64>(0)))
        })?;
        let Some(epoch) = epoch else { return Ok(None) };
        let token = LeaseToken { node: node.to_owned(), epoch: uint(epoch) };
        *self.fence.lock().unwrap_or_else(PoisonError::into_inner) = Some(token.clone());
        Ok(Some(token))
    }

    /// Extends the lease to `ttl` from now. Fails with [`StoreError::LeaseLost`] when another
    /// node has taken it since; a lease that expired but that nobody took is still this one
    /// (its epoch is unchanged), so renewing it late is safe.
    pub fn renew(&self, token: &LeaseToken, ttl: Duration) -> Result<()> {
        let (node_id, epoch, ms) = (token.node.clone(), int(token.epoch), millis(ttl));
        let current = self.pool.run(move |s| {
            let renewed = s
                .client
                .execute(
                    "UPDATE lease SET expires = clock_timestamp() + $3::bigint * interval '1 millisecond' \
                     WHERE id = 0 AND epoch = $1 AND holder = $2",
                    &[&epoch, &node_id, &ms],
                )
                .map_err(pg_err)?;
            if renewed == 1 {
                return Ok(None);
            }
            let row =
                s.client.query_one("SELECT epoch FROM lease WHERE id = 0", &[]).map_err(pg_err)?;
            Ok(Some(uint(row.get(0))))
        })?;
        match current {
            None => Ok(()),
            Some(current) => Err(StoreError::LeaseLost { epoch: token.epoch, current }),
        }
    }

    /// Gives the lease up (if it is still this token's) so another node can take it at once, and
    /// stops fencing this store's appends with it.
    pub fn release(&self, token: &LeaseToken) -> Result<()> {
        let (node_id, epoch) = (token.node.clone(), int(token.epoch));
        self.pool.run(move |s| {
            s.client
                .execute(
                    "UPDATE lease SET holder = NULL, expires = NULL \
                     WHERE id = 0 AND epoch = $1 AND holder = $2",
                    &[&epoch, &node_id],
                )
                .map_err(pg_err)
        })?;
        let mut fence = self.fence.lock().unwrap_or_else(PoisonError::into_inner);
        if fence.as_ref() == Some(token) {
            *fence = None;
        }
        Ok(())
    }

    /// The lease as the database sees it now.
    pub fn lease(&self) -> Result<LeaseInfo> {
        self.pool.run(|s| {
            let row = s
                .client
                .query_one(
                    "SELECT epoch, holder, \
                     (extract(epoch FROM expires - clock_timestamp()) * 1000)::bigint \
                     FROM lease WHERE id = 0",
                    &[],
                )
                .map_err(pg_err)?;
            Ok(LeaseInfo { epoch: uint(row.get(0)), holder: row.get(1), expires_in_ms: row.get(2) })
        })
    }

    pub(super) fn fence(&self) -> Option<LeaseToken> {
        self.fence.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}
