//! A deterministic simulator: many devices, no sockets. Links come up and go
//! down (partitions), devices go offline and restart, frames in flight on a
//! link that goes down are lost, and delivery order is drawn from a seeded
//! generator.

use std::collections::BTreeSet;

use crate::storage::MemoryStorage;
use kith_wire::{DeviceId, SyncMessage};

use crate::io::{Input, Output};
use crate::replica::Replica;

/// One simulated device.
pub struct SimDevice {
    /// Its engine.
    pub replica: Replica<MemoryStorage>,
    /// Whether it is online.
    pub online: bool,
}

/// The simulated network.
pub struct Sim {
    /// The devices.
    pub devices: Vec<SimDevice>,
    links: BTreeSet<(usize, usize)>,
    in_flight: Vec<(usize, usize, SyncMessage)>,
    rng: u64,
    /// Simulated time (ms).
    pub now_ms: u64,
    /// Frames delivered so far.
    pub delivered: usize,
    /// Encoded bytes of the frames delivered so far.
    pub bytes: usize,
    /// Frames over `MAX_FRAME_BYTES` the receiver refused (as `kith/sync/1`
    /// does: it closes the connection, so the link went down).
    pub oversized: usize,
}

impl Sim {
    /// A network of `devices`, all online, no links; `seed` drives delivery order.
    pub fn new(devices: Vec<Replica<MemoryStorage>>, seed: u64) -> Self {
        Self {
            devices: devices
                .into_iter()
                .map(|replica| SimDevice {
                    replica,
                    online: true,
                })
                .collect(),
            links: BTreeSet::new(),
            in_flight: Vec::new(),
            rng: seed | 1,
            now_ms: 1_000,
            delivered: 0,
            bytes: 0,
            oversized: 0,
        }
    }

    /// Device `i`'s engine.
    pub fn replica(&self, i: usize) -> Option<&Replica<MemoryStorage>> {
        self.devices.get(i).map(|d| &d.replica)
    }

    /// Device `i`'s engine, writable.
    pub fn replica_mut(&mut self, i: usize) -> Option<&mut Replica<MemoryStorage>> {
        self.devices.get_mut(i).map(|d| &mut d.replica)
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn index_of(&self, device: &DeviceId) -> Option<usize> {
        self.devices
            .iter()
            .position(|d| d.replica.device_id() == *device)
    }

    fn link(a: usize, b: usize) -> (usize, usize) {
        (a.min(b), a.max(b))
    }

    /// Whether `a` and `b` are connected.
    pub fn linked(&self, a: usize, b: usize) -> bool {
        self.links.contains(&Self::link(a, b))
    }

    /// Feeds `input` to device `i` and routes what it wants sent.
    pub fn feed(&mut self, i: usize, input: Input) {
        let now = self.now_ms;
        let Some(device) = self.devices.get_mut(i) else {
            return;
        };
        let outputs = device.replica.handle(input, now);
        self.route(i, outputs);
    }

    /// Routes a device's outputs: frames go on the wire if the link is up.
    pub fn route(&mut self, from: usize, outputs: Vec<Output>) {
        for output in outputs {
            if let Output::Send { to, message } = output
                && let Some(to) = self.index_of(&to)
                && self.linked(from, to)
            {
                self.in_flight.push((from, to, message));
            }
        }
    }

    /// Brings up a link between two online devices.
    pub fn connect(&mut self, a: usize, b: usize) {
        let online = |i: usize| self.devices.get(i).is_some_and(|d| d.online);
        if a == b || !online(a) || !online(b) || self.linked(a, b) {
            return;
        }
        self.links.insert(Self::link(a, b));
        let (Some(da), Some(db)) = (self.devices.get(a), self.devices.get(b)) else {
            return;
        };
        let (ida, idb) = (da.replica.device_id(), db.replica.device_id());
        self.feed(a, Input::Connected(idb));
        self.feed(b, Input::Connected(ida));
    }

    /// Takes a link down; frames in flight on it are lost.
    pub fn disconnect(&mut self, a: usize, b: usize) {
        if !self.links.remove(&Self::link(a, b)) {
            return;
        }
        self.in_flight
            .retain(|(f, t, _)| Self::link(*f, *t) != Self::link(a, b));
        let (Some(da), Some(db)) = (self.devices.get(a), self.devices.get(b)) else {
            return;
        };
        let (ida, idb) = (da.replica.device_id(), db.replica.device_id());
        self.feed(a, Input::Disconnected(idb));
        self.feed(b, Input::Disconnected(ida));
    }

    /// Takes a device offline (all its links drop) or brings it back.
    pub fn set_online(&mut self, i: usize, online: bool) {
        if !online {
            let others: Vec<usize> = (0..self.devices.len())
                .filter(|&j| self.linked(i, j))
                .collect();
            for j in others {
                self.disconnect(i, j);
            }
            // A restart: everything not stored is gone, the rest reloads.
            if let Some(d) = self.devices.get_mut(i) {
                let _ = d.replica.reload();
            }
        }
        if let Some(d) = self.devices.get_mut(i) {
            d.online = online;
        }
    }

    /// Connects every pair of online devices.
    pub fn connect_all(&mut self) {
        for a in 0..self.devices.len() {
            for b in a + 1..self.devices.len() {
                self.connect(a, b);
            }
        }
    }

    /// Delivers one frame (chosen at random) if any is in flight.
    pub fn step(&mut self) -> bool {
        if self.in_flight.is_empty() {
            return false;
        }
        let pick = (self.next_random() % self.in_flight.len() as u64) as usize;
        let (from, to, message) = self.in_flight.swap_remove(pick);
        self.deliver(from, to, message);
        true
    }

    /// Delivers one frame as `kith/sync/1` would: one over the frame limit
    /// makes the receiver close the connection instead.
    fn deliver(&mut self, from: usize, to: usize, message: SyncMessage) {
        self.now_ms += 1;
        let size = kith_wire::encode(&message).map_or(usize::MAX, |b| b.len());
        if size > kith_wire::limits::MAX_FRAME_BYTES {
            self.oversized += 1;
            self.disconnect(from, to);
            return;
        }
        self.delivered += 1;
        self.bytes += size;
        let Some(sender) = self.devices.get(from).map(|d| d.replica.device_id()) else {
            return;
        };
        self.feed(
            to,
            Input::Received {
                from: sender,
                message,
            },
        );
    }

    /// Delivers frames until none is in flight or `max_steps` were taken;
    /// returns whether the network went quiet.
    pub fn run(&mut self, max_steps: usize) -> bool {
        for _ in 0..max_steps {
            if !self.step() {
                return true;
            }
        }
        self.in_flight.is_empty()
    }

    /// Delivers in waves: every frame in flight, then every frame those
    /// caused, and so on. Returns the number of waves (round trips are about
    /// half of it) until quiet, or `None` after `max_waves`.
    pub fn run_waves(&mut self, max_waves: usize) -> Option<usize> {
        for wave in 0..max_waves {
            if self.in_flight.is_empty() {
                return Some(wave);
            }
            let batch = std::mem::take(&mut self.in_flight);
            for (from, to, message) in batch {
                self.deliver(from, to, message);
            }
        }
        self.in_flight.is_empty().then_some(max_waves)
    }

    /// A random number below `n` from the simulation's generator.
    pub fn random_below(&mut self, n: usize) -> usize {
        (self.next_random() % n.max(1) as u64) as usize
    }
}
