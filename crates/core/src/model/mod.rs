//! The event an agent sends and the record the log stores.
//!
//! An [`Event`] is untrusted input: it is parsed strictly (unknown fields, wrong types, empty
//! kinds and bad times are errors that name the field). [`Event::prepare`] turns it into a
//! [`Prepared`] record whose body is already canonical and digested, and the sequencer then
//! [`Prepared::seal`]s it at a position: that last step cannot fail, so nothing after a `seq` is
//! assigned can reject an event.

mod event;
mod fields;
mod record;

pub use event::{
    Body, EVENT_FIELDS, Event, EventError, OTEL_ID_PREFIX, Prepared, RESERVED_KIND_PREFIX,
    body_digest,
};
pub use fields::{Fields, FindingSummary, MAX_ID_LEN, Usage};
pub use record::{RECORD_FIELDS, RECORD_VERSION, Record, RecordError, Sealed};
