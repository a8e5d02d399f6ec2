//! Limits per client address: sockets held open, and messages sent across all of them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use chat_core::ids::Millis;
use chat_core::rate::SendAllowance;

use crate::config::Config;

/// Sockets and send allowances per address.
#[derive(Debug)]
pub struct IpLimits {
    max_sockets: u32,
    sends_per_second: u32,
    send_burst: u32,
    new_visitors_per_minute: u32,
    by_ip: Mutex<HashMap<IpAddr, IpState>>,
    attempts: Mutex<Allowances>,
    uploads: Mutex<Allowances>,
}

/// Per-minute allowances of the addresses seen lately, forgetting the longest known first when
/// [`MAX_ATTEMPT_ADDRESSES`] are: an attacker with many addresses cannot wipe everyone's count.
#[derive(Debug, Default)]
struct Allowances {
    by_ip: HashMap<IpAddr, SendAllowance>,
    /// Addresses in the order they were first seen.
    order: std::collections::VecDeque<IpAddr>,
}

/// Logins and leave-a-messages one address may make per minute, sustained.
const ATTEMPTS_PER_MINUTE: u32 = 10;
/// Logins and leave-a-messages one address may make in a burst.
const ATTEMPT_BURST: u32 = 10;
/// Files one address may upload per minute, sustained and in a burst: each may be as large as
/// the upload limit, so this bounds how fast one address can fill the disk.
const UPLOADS_PER_MINUTE: u32 = 20;
/// Addresses remembered for attempts and uploads; past this the memory starts over rather than grow.
const MAX_ATTEMPT_ADDRESSES: usize = 100_000;

/// Sockets one address may open per second, after a burst as large as the sockets it may hold: a
/// page opens one, and an address opening and closing them as fast as it can is refused before
/// the upgrade instead of costing a handshake and a hello each.
pub const SOCKETS_OPENED_PER_SECOND: u32 = 10;

#[derive(Debug)]
struct IpState {
    sockets: u32,
    opened: SendAllowance,
    sends: SendAllowance,
    new_visitors: SendAllowance,
}

/// Addresses with sockets closed are remembered (with their allowances) until this many are known.
const MAX_TRACKED_ADDRESSES: usize = 100_000;

/// The address limits count against: IPv4 as it is; IPv6 by its /64, which one subscriber
/// usually holds whole.
fn limited_address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
    }
}

/// One open socket of an address; dropping it frees the place.
#[derive(Debug)]
pub struct SocketSlot {
    limits: Arc<IpLimits>,
    ip: IpAddr,
}

impl IpLimits {
    /// Limits as configured.
    pub fn new(config: &Config) -> Arc<IpLimits> {
        Arc::new(IpLimits {
            max_sockets: config.max_sockets_per_ip,
            sends_per_second: config.ip_sends_per_second,
            send_burst: config.ip_send_burst,
            new_visitors_per_minute: config.ip_new_visitors_per_minute,
            by_ip: Mutex::new(HashMap::new()),
            attempts: Mutex::new(Allowances::default()),
            uploads: Mutex::new(Allowances::default()),
        })
    }

    /// A place for one more socket of `ip`, unless it holds the most it may or opens them too fast.
    pub fn open_socket(self: &Arc<Self>, ip: IpAddr, now: Millis) -> Option<SocketSlot> {
        let ip = limited_address(ip);
        let mut by_ip = self.by_ip.lock().unwrap_or_else(PoisonError::into_inner);
        if by_ip.len() >= MAX_TRACKED_ADDRESSES && !by_ip.contains_key(&ip) {
            by_ip.retain(|_, state| state.sockets > 0);
        }
        let state = by_ip.entry(ip).or_insert_with(|| IpState {
            sockets: 0,
            opened: SendAllowance::new(SOCKETS_OPENED_PER_SECOND, self.max_sockets, now),
            sends: SendAllowance::new(self.sends_per_second, self.send_burst, now),
            new_visitors: SendAllowance::per_minute(
                self.new_visitors_per_minute,
                self.new_visitors_per_minute,
                now,
            ),
        });
        if state.sockets >= self.max_sockets || !state.opened.take(now) {
            return None;
        }
        state.sockets += 1;
        Some(SocketSlot { limits: Arc::clone(self), ip })
    }

    /// Takes one message from the address's allowance.
    pub fn allow_send(&self, ip: IpAddr, now: Millis) -> bool {
        let mut by_ip = self.by_ip.lock().unwrap_or_else(PoisonError::into_inner);
        by_ip.get_mut(&limited_address(ip)).is_some_and(|state| state.sends.take(now))
    }

    /// Takes one new visitor from the address's allowance.
    pub fn allow_new_visitor(&self, ip: IpAddr, now: Millis) -> bool {
        let mut by_ip = self.by_ip.lock().unwrap_or_else(PoisonError::into_inner);
        by_ip.get_mut(&limited_address(ip)).is_some_and(|state| state.new_visitors.take(now))
    }
}

impl IpLimits {
    /// Takes one attempt (a login, a leave-a-message) from the address's allowance.
    pub fn allow_attempt(&self, ip: IpAddr, now: Millis) -> bool {
        take_per_minute(&self.attempts, ip, (ATTEMPTS_PER_MINUTE, ATTEMPT_BURST), now)
    }

    /// Takes one file upload from the address's allowance.
    pub fn allow_upload(&self, ip: IpAddr, now: Millis) -> bool {
        take_per_minute(&self.uploads, ip, (UPLOADS_PER_MINUTE, UPLOADS_PER_MINUTE), now)
    }
}

/// Takes one from `ip`'s allowance of `rate` a minute (bursts of `burst`).
fn take_per_minute(
    allowances: &Mutex<Allowances>,
    ip: IpAddr,
    (rate, burst): (u32, u32),
    now: Millis,
) -> bool {
    let ip = limited_address(ip);
    let mut allowances = allowances.lock().unwrap_or_else(PoisonError::into_inner);
    let Allowances { by_ip, order } = &mut *allowances;
    if !by_ip.contains_key(&ip) {
        while by_ip.len() >= MAX_ATTEMPT_ADDRESSES {
            let Some(oldest) = order.pop_front() else { break };
            by_ip.remove(&oldest);
        }
        order.push_back(ip);
    }
    by_ip.entry(ip).or_insert_with(|| SendAllowance::per_minute(rate, burst, now)).take(now)
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut by_ip = self.limits.by_ip.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(state) = by_ip.get_mut(&self.ip) {
            // The address stays known after its last socket: reconnecting must not refill its
            // allowances. Addresses without sockets are forgotten when the map grows too big.
            state.sockets = state.sockets.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_new_addresses_forget_the_oldest_not_everyone() {
        let limits = IpLimits::new(&Config::with_database("sqlite::memory:"));
        let now = Millis(1_000);
        let busy: IpAddr = "198.51.100.7".parse().unwrap();
        let recent: IpAddr = "198.51.100.8".parse().unwrap();
        for _ in 0..ATTEMPT_BURST {
            assert!(limits.allow_attempt(busy, now));
        }
        assert!(!limits.allow_attempt(busy, now), "out of attempts");
        // An attacker brings fresh addresses until the oldest known ones are forgotten.
        for n in 0..MAX_ATTEMPT_ADDRESSES as u32 - 2 {
            limits.allow_attempt(IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n)), now);
        }
        for _ in 0..ATTEMPT_BURST {
            assert!(limits.allow_attempt(recent, now));
        }
        limits.allow_attempt(IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000)), now);
        assert!(!limits.allow_attempt(recent, now), "a recent address keeps its count");
        assert!(limits.allow_attempt(busy, now), "the oldest was forgotten, not everyone");
    }
}
