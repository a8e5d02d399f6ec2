//! Send allowances: how many messages a socket (or an address) may send, with bursts.

use crate::ids::Millis;

/// The frames one socket may send: [`FRAMES_PER_SECOND`](crate::limits::FRAMES_PER_SECOND) after
/// a burst of [`FRAME_BURST`](crate::limits::FRAME_BURST). A frame beyond them is answered with
/// [`too_many_frames`] and not read.
pub fn socket_frames(now: Millis) -> SendAllowance {
    SendAllowance::new(crate::limits::FRAMES_PER_SECOND, crate::limits::FRAME_BURST, now)
}

/// The answer to a frame beyond [`socket_frames`] (`text`): with its `cid`, if it has one, so a
/// send refused this way is sent again later.
pub fn too_many_frames(text: &str) -> crate::protocol::ServerFrame {
    let cid = crate::protocol::frame_cid(text);
    crate::protocol::ServerFrame::error(
        crate::protocol::ErrorCode::RateLimited,
        "too many frames; slow down",
        cid,
    )
}

/// A token bucket in whole units, so refills never lose fractions however often it is asked.
#[derive(Debug)]
pub struct SendAllowance {
    /// Units held; one send costs `per_send`.
    units: u64,
    /// Units regained per millisecond.
    refill_per_ms: u64,
    per_send: u64,
    burst: u64,
    updated: Millis,
}

impl SendAllowance {
    /// `per_second` sends a second, sustained, after a burst of `burst`.
    pub fn new(per_second: u32, burst: u32, now: Millis) -> Self {
        SendAllowance::with_period(per_second, 1_000, burst, now)
    }

    /// `per_minute` sends a minute, sustained, after a burst of `burst`.
    pub fn per_minute(per_minute: u32, burst: u32, now: Millis) -> Self {
        SendAllowance::with_period(per_minute, 60_000, burst, now)
    }

    /// `count` sends per `period_ms`: a send costs `period_ms` units and `count` units come back
    /// each millisecond.
    fn with_period(count: u32, period_ms: u64, burst: u32, now: Millis) -> Self {
        let burst = u64::from(burst);
        SendAllowance {
            units: burst * period_ms,
            refill_per_ms: u64::from(count),
            per_send: period_ms,
            burst,
            updated: now,
        }
    }

    /// Takes one send if there is one left.
    pub fn take(&mut self, now: Millis) -> bool {
        let refill = now.since(self.updated).saturating_mul(self.refill_per_ms);
        self.units = self.units.saturating_add(refill).min(self.burst * self.per_send);
        self.updated = self.updated.max(now);
        if self.units >= self.per_send {
            self.units -= self.per_send;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_allowance_allows_its_burst_then_its_rate() {
        let mut sends = SendAllowance::new(5, 3, Millis(0));
        assert!((0..3).all(|_| sends.take(Millis(0))));
        assert!(!sends.take(Millis(0)));
        assert!(!sends.take(Millis(199)), "one send refills in 200 ms at 5/s");
        assert!(sends.take(Millis(200)));
        assert!(sends.take(Millis(10_000)) && sends.take(Millis(10_000)) && sends.take(Millis(10_000)));
        assert!(!sends.take(Millis(10_000)), "refill stops at the burst");
    }

    #[test]
    fn a_per_minute_allowance_refills_exactly_even_when_asked_often() {
        let mut attempts = SendAllowance::per_minute(10, 1, Millis(0));
        assert!(attempts.take(Millis(0)));
        // Asked every 10 ms: after 6 s, exactly one attempt has come back.
        assert!((1..600).all(|i| !attempts.take(Millis(i * 10))));
        assert!(attempts.take(Millis(6_000)));
    }
}
