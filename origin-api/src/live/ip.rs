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
    attempts: Mutex<HashMap<IpAddr, SendAllowance>>,
}

/// Logins and leave-a-messages one address may make per minute, sustained.
const ATTEMPTS_PER_MINUTE: u32 = 10;
/// Logins and leave-a-messages one address may make in a burst.
const ATTEMPT_BURST: u32 = 10;
/// Addresses remembered for attempts; past this the memory starts over rather than grow.
const MAX_ATTEMPT_ADDRESSES: usize = 100_000;

#[derive(Debug)]
struct IpState {
    sockets: u32,
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
            attempts: Mutex::new(HashMap::new()),
        })
    }

    /// A place for one more socket of `ip`, unless it holds the most it may.
    pub fn open_socket(self: &Arc<Self>, ip: IpAddr, now: Millis) -> Option<SocketSlot> {
        let ip = limited_address(ip);
        let mut by_ip = self.by_ip.lock().unwrap_or_else(PoisonError::into_inner);
        if by_ip.len() >= MAX_TRACKED_ADDRESSES && !by_ip.contains_key(&ip) {
            by_ip.retain(|_, state| state.sockets > 0);
        }
        let state = by_ip.entry(ip).or_insert_with(|| IpState {
            sockets: 0,
            sends: SendAllowance::new(self.sends_per_second, self.send_burst, now),
            new_visitors: SendAllowance::per_minute(
                self.new_visitors_per_minute,
                self.new_visitors_per_minute,
                now,
            ),
        });
        if state.sockets >= self.max_sockets {
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
        let ip = limited_address(ip);
        let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        if attempts.len() >= MAX_ATTEMPT_ADDRESSES && !attempts.contains_key(&ip) {
            attempts.clear();
        }
        // Counted per minute: a token bucket of ATTEMPTS_PER_MINUTE/60 per second, in thousandths.
        let allowance = attempts
            .entry(ip)
            .or_insert_with(|| SendAllowance::per_minute(ATTEMPTS_PER_MINUTE, ATTEMPT_BURST, now));
        allowance.take(now)
    }
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
