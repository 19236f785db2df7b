//! What callers put on the recorder's bounded queue: prepared events awaiting their
//! acknowledgement, and flush requests.

use tokio::sync::oneshot;
use trail_core::Prepared;

use crate::{Appended, RecordError};

pub(crate) struct Job {
    pub(crate) prepared: Prepared,
    pub(crate) reply: oneshot::Sender<Result<Appended, RecordError>>,
}

pub(crate) enum Msg {
    Event(Box<Job>),
    Flush(oneshot::Sender<Result<(), RecordError>>),
}
