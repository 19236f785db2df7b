//! What every handler shares: the logs served, the key ring, the limits, counters, and the
//! extractors that authenticate a request and pick its log.

use std::marker::PhantomData;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tokio::sync::{Semaphore, watch};
use trail_ingest::{Mode, Policy, Recorder, RecorderConfig};
use trail_scan::Scanner;
use trail_store::Store;

use crate::auth::{KeyRing, Principal, Scope};
use crate::config::Limits;
use crate::error::ApiError;
use crate::exporter::ExporterMetrics;
use crate::metrics::HttpMetrics;

/// One log served: its name (the origin), its store, who sequences it, and what the handlers
/// need to know of its configuration.
pub struct LogHandle {
    pub name: String,
    /// The log's store: every read goes here, on leaders and followers alike.
    pub store: Arc<dyn Store>,
    role: RwLock<Role>,
    pub queue_capacity: usize,
    pub checkpoint_interval: Duration,
    /// Set when the scan policy blocks some type: batches are then scanned before any event of
    /// them is queued, so a blocked event refuses its whole batch.
    pub blocking_policy: Option<(Policy, Option<Vec<u8>>)>,
    /// The scanner of this log's recorder (used to check blocking batches before queueing).
    pub scanner: Arc<Scanner>,
    /// The verifier key, shown to readers.
    pub verifier_key: Option<String>,
    pub exporters: Vec<Arc<ExporterMetrics>>,
    /// The log's witnesses, when `[[witnesses]]` are configured.
    pub witnessing: Option<Arc<crate::witnessing::Witnessing>>,
}

/// Who appends to a log. A single node is always the leader; nodes sharing a PostgreSQL log take
/// turns through the store's lease, and a follower forwards ingest to the leader.
#[derive(Clone)]
pub enum Role {
    /// This node sequences the log through this recorder.
    Leader(Recorder),
    /// Another node does; `leader` is its base URL when known.
    Follower { leader: Option<String> },
}

impl LogHandle {
    /// A handle for `recorder`, opened with `config`: this node is the log's leader.
    pub fn new(recorder: Recorder, config: &RecorderConfig) -> LogHandle {
        let mut handle =
            LogHandle::follower(recorder.store().clone(), recorder.scanner().clone(), config);
        handle.role = RwLock::new(Role::Leader(recorder));
        handle
    }

    /// A handle for a log that another node sequences (until [`LogHandle::set_role`]).
    pub fn follower(
        store: Arc<dyn Store>,
        scanner: Arc<Scanner>,
        config: &RecorderConfig,
    ) -> LogHandle {
        let p = &config.policy;
        let blocks = p.default_pii == Mode::Block
            || p.default_secret == Mode::Block
            || p.per_type.values().any(|m| *m == Mode::Block);
        LogHandle {
            name: store.origin().to_owned(),
            store,
            role: RwLock::new(Role::Follower { leader: None }),
            queue_capacity: config.queue_capacity,
            checkpoint_interval: config.checkpoint_interval,
            blocking_policy: blocks.then(|| (p.clone(), config.redaction_tag_key.clone())),
            scanner,
            verifier_key: None,
            exporters: Vec::new(),
            witnessing: None,
        }
    }

    /// Who sequences the log now.
    pub fn role(&self) -> Role {
        self.role.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Changes who sequences the log (leadership won or lost); returns the previous role.
    pub fn set_role(&self, role: Role) -> Role {
        std::mem::replace(&mut *self.role.write().unwrap_or_else(PoisonError::into_inner), role)
    }

    /// The recorder, when this node sequences the log; otherwise a 503 that names the leader.
    pub fn recorder(&self) -> Result<Recorder, ApiError> {
        match self.role() {
            Role::Leader(r) => Ok(r),
            Role::Follower { leader } => Err(ApiError::overloaded(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "not_leader",
                match leader {
                    Some(url) => format!(
                        "this node does not sequence log {:?}; {url} does; retry (any node)",
                        self.name
                    ),
                    None => format!(
                        "no node sequences log {:?} right now (a takeover is under way); retry",
                        self.name
                    ),
                },
            )),
        }
    }

    /// Free room in the recorder queue (none on a follower).
    pub fn queue_room(&self) -> usize {
        match self.role() {
            Role::Leader(r) => {
                let depth = usize::try_from(r.metrics().queue_depth).unwrap_or(usize::MAX);
                self.queue_capacity.saturating_sub(depth)
            }
            Role::Follower { .. } => 0,
        }
    }
}

/// The app's shared state. Cheap to clone.
#[derive(Clone)]
pub struct AppState(pub Arc<Shared>);

pub struct Shared {
    /// The logs, the default first.
    pub logs: Vec<Arc<LogHandle>>,
    pub keys: KeyRing,
    pub limits: Limits,
    pub metrics: HttpMetrics,
    /// Ingest requests being served; full means 429.
    pub in_flight: Arc<Semaphore>,
    /// Request body bytes held, in KiB (`max_buffered_body_bytes`); full means 503.
    pub body_budget: Arc<Semaphore>,
    /// This node's name among the nodes serving the same logs (its advertised URL).
    pub node: String,
    /// The HTTP client a follower forwards ingest with.
    pub forwarder: reqwest::Client,
    shutdown_tx: watch::Sender<bool>,
    pub shutdown: watch::Receiver<bool>,
}

impl AppState {
    pub fn new(logs: Vec<Arc<LogHandle>>, keys: KeyRing, limits: Limits) -> AppState {
        AppState::for_node(logs, keys, limits, "trail".to_owned())
    }

    /// The state of node `node` (its advertised URL) of several serving the same logs.
    pub fn for_node(
        logs: Vec<Arc<LogHandle>>,
        keys: KeyRing,
        limits: Limits,
        node: String,
    ) -> AppState {
        let (shutdown_tx, shutdown) = watch::channel(false);
        AppState(Arc::new(Shared {
            logs,
            keys,
            node,
            forwarder: crate::cluster::forward_client(),
            in_flight: Arc::new(Semaphore::new(limits.max_in_flight)),
            body_budget: Arc::new(Semaphore::new(limits.max_buffered_body_bytes.div_ceil(1024))),
            limits,
            metrics: HttpMetrics::default(),
            shutdown_tx,
            shutdown,
        }))
    }

    /// Ends live tails so a graceful shutdown does not wait for them.
    pub fn begin_shutdown(&self) {
        let _ = self.0.shutdown_tx.send(true);
    }

    pub fn log(&self, name: &str) -> Option<&Arc<LogHandle>> {
        self.0.logs.iter().find(|l| l.name == name)
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The scope an endpoint needs, as a type.
pub trait Need: Send + Sync + 'static {
    const SCOPE: Scope;
}
pub struct Ingest;
pub struct Read;
pub struct Admin;
impl Need for Ingest {
    const SCOPE: Scope = Scope::Ingest;
}
impl Need for Read {
    const SCOPE: Scope = Scope::Read;
}
impl Need for Admin {
    const SCOPE: Scope = Scope::Admin;
}

/// A request whose key has scope `S`.
pub struct Authorized<S: Need> {
    pub principal: Principal,
    _need: PhantomData<S>,
}

impl<S: Need> FromRequestParts<AppState> for Authorized<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = state.keys.authenticate(&parts.headers).inspect_err(|_| {
            state.metrics.auth_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })?;
        if !principal.allows(S::SCOPE) {
            state.metrics.auth_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err(ApiError::forbidden(
                "insufficient_scope",
                format!("API key {} lacks the {} scope", principal.label(), S::SCOPE.as_str()),
            ));
        }
        Ok(Authorized { principal, _need: PhantomData })
    }
}

/// A request whose key has scope `S` on the log it names (`?log=`), or on the default log.
pub struct Access<S: Need> {
    pub log: Arc<LogHandle>,
    pub principal: Principal,
    _need: PhantomData<S>,
}

impl<S: Need> FromRequestParts<AppState> for Access<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authorized { principal, .. } =
            Authorized::<S>::from_request_parts(parts, state).await?;
        let named = log_param(&parts.uri)?;
        let log = match named.as_deref().or(principal.single_log()) {
            Some(name) => {
                if !principal.allows_log(name) {
                    state.metrics.auth_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return Err(ApiError::forbidden(
                        "log_forbidden",
                        format!("API key {} may not touch log {name:?}", principal.label()),
                    ));
                }
                state.log(name).cloned().ok_or_else(|| {
                    ApiError::not_found(
                        "unknown_log",
                        format!("this server serves no log {name:?}"),
                    )
                })?
            }
            None => {
                let first = state
                    .logs
                    .first()
                    .cloned()
                    .ok_or_else(|| ApiError::internal("the server has no log"))?;
                if !principal.allows_log(&first.name) {
                    return Err(ApiError::bad_request(
                        "log_required",
                        "this key may touch several logs: name one with ?log=NAME",
                    ));
                }
                first
            }
        };
        Ok(Access { log, principal, _need: PhantomData })
    }
}

/// The `?log=` of a request, read the same way on every route: absent, or exactly one
/// non-empty name. A malformed query or a repeated `log` is refused, never read as "no log
/// named" (which would write to the default log).
pub fn log_param(uri: &axum::http::Uri) -> Result<Option<String>, ApiError> {
    let Some(q) = uri.query() else { return Ok(None) };
    let mut found: Option<String> = None;
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        if k == "log" {
            if found.is_some() {
                return Err(ApiError::bad_request(
                    "bad_query",
                    "?log= is given more than once: name one log",
                ));
            }
            if v.is_empty() {
                return Err(ApiError::bad_request("bad_query", "?log= is empty: name a log"));
            }
            found = Some(v.into_owned());
        }
    }
    Ok(found)
}
