//! A PostgreSQL log for a test: a fresh origin whose schema is dropped when the test ends. The
//! server is `TRAIL_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`); without one the
//! test fails, loudly, unless `TRAIL_SKIP_POSTGRES=1`.

use trail_store::postgres::{PostgresStore, dangerous_drop_schema, schema_for_origin};

pub struct Schema {
    pub url: String,
    pub origin: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Err(e) = dangerous_drop_schema(&self.url, &schema_for_origin(&self.origin)) {
            eprintln!("could not drop the schema of {}: {e}", self.origin);
        }
    }
}

pub fn pg(name: &str) -> Option<Schema> {
    let url = std::env::var("TRAIL_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let probe = trail_store::postgres::scratch_schema("trail_probe");
    if let Err(e) =
        PostgresStore::create_in(&url, &probe, "probe").map(|s| s.dangerous_drop_on_drop())
    {
        if std::env::var("TRAIL_SKIP_POSTGRES").as_deref() == Ok("1") {
            let loud = format!("\n*** SKIPPED: no PostgreSQL at {url} ({e}) ***\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), loud.as_bytes());
            return None;
        }
        panic!("\n*** no PostgreSQL at {url}: {e}; start it (see .ci/run) ***\n");
    }
    let origin = format!("trail.test/{name}-{}", std::process::id());
    Some(Schema { url, origin })
}
