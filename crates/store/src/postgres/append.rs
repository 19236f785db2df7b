//! The append transaction: lock the head, check the lease, `COPY` the batch, upsert the
//! rollups, move the head.

use ::postgres::GenericClient;
use ::postgres::error::SqlState;

use super::conn::Stmts;
use super::copy::{BODIES_COPY, Encoded, RECORDS_COPY};
use super::lease::LeaseToken;
use super::read::hash_col;
use super::{Session, pg_err};
use crate::derived::Rollup;
use crate::sql::{int, session_ints, uint};
use crate::{Durability, Result, StoreError};

impl Rollup {
    fn write_pg(&self, tx: &mut impl GenericClient, stmts: &mut Stmts) -> Result<()> {
        let n = self.groups.len();
        let (mut hour, mut kind, mut category, mut status, mut agent) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut events, mut inp, mut out, mut cost) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for ((h, k, c, s, a), g) in &self.groups {
            hour.push(*h);
            kind.push(k.as_str());
            category.push(c.as_str());
            status.push(s.as_str());
            agent.push(a.as_str());
            events.push(int(g.events));
            inp.push(int(g.input_tokens));
            out.push(int(g.output_tokens));
            cost.push(g.cost_usd);
        }
        let stmt = stmts.get(
            tx,
            "INSERT INTO stats_rollup (hour, kind, category, status, agent, events, input_tokens, \
             output_tokens, cost_usd) \
             SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], \
                                  $6::int8[], $7::int8[], $8::int8[], $9::float8[]) \
             ON CONFLICT (hour, kind, category, status, agent) DO UPDATE SET \
             events = stats_rollup.events + excluded.events, \
             input_tokens = stats_rollup.input_tokens + excluded.input_tokens, \
             output_tokens = stats_rollup.output_tokens + excluded.output_tokens, \
             cost_usd = stats_rollup.cost_usd + excluded.cost_usd",
        )?;
        tx.execute(&stmt, &[&hour, &kind, &category, &status, &agent, &events, &inp, &out, &cost])
            .map_err(pg_err)?;
        if self.sessions.is_empty() {
            return Ok(());
        }
        let n = self.sessions.len();
        let mut session: Vec<&str> = Vec::with_capacity(n);
        let mut agent: Vec<Option<&str>> = Vec::with_capacity(n);
        let mut cost: Vec<f64> = Vec::with_capacity(n);
        // t_start, t_end, events, errors, denials, input_tokens, output_tokens, last_seq.
        let mut ints: [Vec<i64>; 8] = Default::default();
        for e in self.sessions.values() {
            session.push(e.session.as_str());
            agent.push(e.agent.as_deref());
            cost.push(e.cost_usd);
            for (col, v) in ints.iter_mut().zip(session_ints(e)) {
                col.push(v);
            }
        }
        let [t_start, t_end, events, errors, denials, inp, out, last] = ints;
        let stmt = stmts.get(
            tx,
            "INSERT INTO session_rollup (session, t_start, t_end, events, errors, denials, \
             input_tokens, output_tokens, cost_usd, last_seq, agent) \
             SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], \
                                  $6::int8[], $7::int8[], $8::int8[], $9::float8[], $10::int8[], \
                                  $11::text[]) \
             ON CONFLICT (session) DO UPDATE SET \
             t_start = least(session_rollup.t_start, excluded.t_start), \
             t_end = greatest(session_rollup.t_end, excluded.t_end), \
             events = session_rollup.events + excluded.events, \
             errors = session_rollup.errors + excluded.errors, \
             denials = session_rollup.denials + excluded.denials, \
             input_tokens = session_rollup.input_tokens + excluded.input_tokens, \
             output_tokens = session_rollup.output_tokens + excluded.output_tokens, \
             cost_usd = session_rollup.cost_usd + excluded.cost_usd, \
             last_seq = greatest(session_rollup.last_seq, excluded.last_seq), \
             agent = coalesce(session_rollup.agent, excluded.agent)",
        )?;
        tx.execute(
            &stmt,
            &[
                &session, &t_start, &t_end, &events, &errors, &denials, &inp, &out, &cost, &last,
                &agent,
            ],
        )
        .map_err(pg_err)?;
        Ok(())
    }
}

/// How an append transaction ended.
pub(super) enum Appended {
    Done,
    /// The log's head is not the one the batch was encoded after: another writer appended.
    Stale,
    /// The unique index on `id` refused the batch.
    DuplicateId,
    /// The connection was gone before anything of the batch was sent (the server restarted or
    /// ended it while it sat idle): nothing was written, so a new connection may try again.
    Unsent(StoreError),
}

pub(super) const HEAD_SQL: &str = "SELECT s.size, s.last_hash, l.epoch, l.holder, \
     coalesce(l.expires > clock_timestamp(), false) \
     FROM state s CROSS JOIN lease l WHERE s.id = 0 AND l.id = 0 \
     FOR UPDATE OF s FOR SHARE OF l";

/// One append transaction: lock the head, check the lease and the head, copy, upsert, commit.
pub(super) fn append_tx(
    s: &mut Session,
    e: Encoded,
    fence: Option<LeaseToken>,
    durability: Durability,
) -> Result<Appended> {
    let head_stmt = match s.stmts.get(&mut s.client, HEAD_SQL) {
        Ok(stmt) => stmt,
        Err(e) if s.client.is_closed() => return Ok(Appended::Unsent(e)),
        Err(e) => return Err(e),
    };
    let mut tx = match s.client.transaction() {
        Ok(tx) => tx,
        Err(e) if connection_lost(&e) => return Ok(Appended::Unsent(pg_err(e))),
        Err(e) => return Err(pg_err(e)),
    };
    // Locking the lease row for share makes a takeover wait for this commit, so no append
    // commits after a new epoch did.
    let head = tx.query_one(&head_stmt, &[]).map_err(pg_err)?;
    let epoch = uint(head.get(2));
    let holder: Option<String> = head.get(3);
    let live: bool = head.get(4);
    match &fence {
        Some(t) if t.epoch != epoch || holder.as_deref() != Some(t.node.as_str()) => {
            return Err(StoreError::LeaseLost { epoch: t.epoch, current: epoch });
        }
        Some(_) => {}
        None => {
            if let Some(holder) = holder.filter(|_| live) {
                return Err(StoreError::LeaseHeld { holder, epoch });
            }
        }
    }
    if uint(head.get(0)) != e.size || hash_col(&head, 1)? != e.last_hash {
        return Ok(Appended::Stale);
    }
    if durability == Durability::Checkpoint {
        // The next checkpoint commits with synchronous_commit on, and its WAL flush covers
        // every commit before it.
        tx.batch_execute("SET LOCAL synchronous_commit TO off").map_err(pg_err)?;
    }
    let copied = (|| {
        let mut w = tx.copy_in(RECORDS_COPY)?;
        std::io::Write::write_all(&mut w, &e.records).map_err(io_to_pg)?;
        w.finish()?;
        let mut w = tx.copy_in(BODIES_COPY)?;
        std::io::Write::write_all(&mut w, &e.bodies).map_err(io_to_pg)?;
        w.finish()?;
        Ok::<_, PgOrIo>(())
    })();
    match copied {
        Ok(()) => {}
        Err(PgOrIo::Pg(err)) => {
            if err.code() == Some(&SqlState::UNIQUE_VIOLATION)
                && err.as_db_error().and_then(|d| d.constraint()) == Some("records_id")
            {
                return Ok(Appended::DuplicateId);
            }
            return Err(pg_err(err));
        }
        Err(PgOrIo::Io(err)) => {
            return Err(StoreError::Postgres(format!("copy to the server failed: {err}")));
        }
    }
    e.rollup.write_pg(&mut tx, &mut s.stmts)?;
    let update = s
        .stmts
        .get(&mut tx, "UPDATE state SET size = $1, last_hash = $2, root = $3 WHERE id = 0")?;
    tx.execute(
        &update,
        &[&int(e.new_size), &e.new_last.as_bytes().as_slice(), &e.new_root.as_bytes().as_slice()],
    )
    .map_err(pg_err)?;
    tx.commit().map_err(pg_err)?;
    Ok(Appended::Done)
}

/// True when `e` says the connection is gone: closed, or ended by the server (class 57,
/// operator intervention: `pg_terminate_backend`, shutdown, crash).
pub(super) fn connection_lost(e: &::postgres::Error) -> bool {
    e.is_closed() || e.code().is_some_and(|c| c.code().starts_with("57P"))
}

pub(super) enum PgOrIo {
    Pg(::postgres::Error),
    Io(std::io::Error),
}

impl From<::postgres::Error> for PgOrIo {
    fn from(e: ::postgres::Error) -> Self {
        PgOrIo::Pg(e)
    }
}

pub(super) fn io_to_pg(e: std::io::Error) -> PgOrIo {
    PgOrIo::Io(e)
}
