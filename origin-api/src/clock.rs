//! The wall clock, read in one place: the rooms get the time as an input.

use std::time::{SystemTime, UNIX_EPOCH};

use chat_core::ids::Millis;

/// Milliseconds since the Unix epoch.
pub fn now() -> Millis {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Millis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}
