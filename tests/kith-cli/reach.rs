//! Reach (issue #19): an always-on device of my own as my mailbox, with no
//! special mode: the phone and the contact are never online together, and
//! messages and receipts still travel both ways through it.

use std::process::{Command, Stdio};

use crate::{Device, meet, wait};

/// Whether `device`'s message `id` to `contact` shows delivered everywhere.
fn delivered(device: &Device, contact: &str, id: &str) -> bool {
    device
        .run(&["messages", contact])
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["message_id"] == id)
        .is_some_and(|m| {
            let delivery = m["delivery"].as_object().unwrap();
            !delivery.is_empty() && delivery.values().all(|v| v == "delivered")
        })
}

#[test]
fn an_always_on_device_is_the_mailbox_of_a_phone_and_a_contact_never_online_together() {
    let root = tempfile::tempdir().unwrap();
    let mut phone = Device::new(root.path(), "phone", 47191);
    let mut server = Device::new(root.path(), "server", 47192);
    let mut bob = Device::new(root.path(), "bob", 47193);
    let (alice_id, bob_id) = meet(&mut phone, &mut bob);
    // Alice's always-on device: a plain daemon on a second device of hers.
    server.link_to(&phone);
    server.start();
    wait("Bob to know Alice's always-on device", || {
        bob.run(&["contact", "list"])[0]["devices"]
            .as_array()
            .unwrap()
            .len()
            == 2
    });
    // Alice writes from her phone while Bob is offline, then the phone goes
    // away; Bob comes online later and gets it from the always-on device.
    bob.stop();
    let sent = phone.run(&["send", &bob_id, "written on the phone"]);
    server.wait_texts(&bob_id, &["written on the phone"]);
    phone.stop();
    bob.start();
    bob.wait_texts(&alice_id, &["written on the phone"]);
    // Bob answers while the phone is still away, then goes offline.
    let answer = bob.run(&["send", &alice_id, "answered by Bob"]);
    server.wait_texts(&bob_id, &["written on the phone", "answered by Bob"]);
    let server_device = server.run(&["whoami"])["device_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer_id = answer["message_id"].as_str().unwrap();
    wait(
        "Bob to see his answer delivered to the always-on device",
        || {
            bob.run(&["messages", &alice_id])
                .as_array()
                .unwrap()
                .iter()
                .any(|m| {
                    m["message_id"] == answer_id && m["delivery"][&server_device] == "delivered"
                })
        },
    );
    bob.stop();
    // The phone comes back (Bob offline): the answer, and the receipt of
    // its own message, come from the always-on device.
    phone.start();
    phone.wait_texts(&bob_id, &["written on the phone", "answered by Bob"]);
    let id = sent["message_id"].as_str().unwrap();
    wait("the phone's message to show delivered to Bob", || {
        delivered(&phone, &bob_id, id)
    });
    // And Bob, back later, sees his answer delivered to both of Alice's
    // devices (the phone's receipt came through the always-on device).
    phone.stop();
    bob.start();
    wait(
        "Bob's answer to show delivered to both of Alice's devices",
        || delivered(&bob, &alice_id, answer_id),
    );
    bob.stop();
    server.stop();
}

/// Alice and Bob on a two-namespace LAN (10.77.0.1 and .2, no way out),
/// contacts of each other, daemons running with `--local`.
pub(crate) fn lan(
    root: &std::path::Path,
    ports: [u16; 2],
) -> (crate::Netns, [Device; 2], [String; 2]) {
    let netns = crate::Netns::create().expect("cannot create network namespaces (root needed)");
    let mut a1 = Device::new(root, "a1", ports[0]);
    let mut b1 = Device::new(root, "b1", ports[1]);
    a1.netns = Some((netns.names[0].clone(), "10.77.0.1".into()));
    b1.netns = Some((netns.names[1].clone(), "10.77.0.2".into()));
    let (alice, bob) = meet(&mut a1, &mut b1);
    (netns, [a1, b1], [alice, bob])
}

/// Moves the stopped device in namespace `i` from address `old` to `new`.
fn move_to(netns: &crate::Netns, i: usize, device: &mut Device, old: &str, new: &str) {
    readdress(netns, i, old, new);
    device.netns = Some((netns.names[i].clone(), new.into()));
}

/// Moves namespace `i`'s end of the link from address `old` to `new`, and
/// routes multicast (mDNS) over it.
fn readdress(netns: &crate::Netns, i: usize, old: &str, new: &str) {
    let id = std::process::id() % 100_000;
    let dev = format!("{}{id}", ["kva", "kvb"][i]);
    let ns = netns.names[i].as_str();
    assert!(crate::Netns::ip(&[
        "-n",
        ns,
        "addr",
        "del",
        &format!("{old}/24"),
        "dev",
        &dev
    ]));
    assert!(crate::Netns::ip(&[
        "-n",
        ns,
        "addr",
        "add",
        &format!("{new}/24"),
        "dev",
        &dev
    ]));
    // Already there after the first call: its status does not matter.
    crate::Netns::ip(&["-n", ns, "route", "add", "224.0.0.0/4", "dev", &dev]);
}

/// Needs root (`ip netns`): `./kith.sh test` runs it when namespaces work.
/// Two devices on a LAN with no way out (two namespaces on a bridge), mDNS
/// on, relays and the DHT off. They meet, then both move to addresses the
/// other never heard of while apart: without mDNS they stay apart; with it
/// they find each other by id and sync.
#[test]
#[ignore = "needs root for ip netns; run by ./kith.sh test when available"]
fn on_a_lan_without_internet_devices_find_each_other_by_mdns() {
    let root = tempfile::tempdir().unwrap();
    let (netns, [mut a1, mut b1], [alice, bob]) = lan(root.path(), [7101, 7102]);
    a1.run(&["send", &bob, "before the move"]);
    b1.wait_texts(&alice, &["before the move"]);
    a1.stop();
    b1.stop();
    move_to(&netns, 0, &mut a1, "10.77.0.1", "10.77.0.11");
    move_to(&netns, 1, &mut b1, "10.77.0.2", "10.77.0.12");
    // Without mDNS: each knows only the other's old address.
    a1.start();
    b1.start();
    a1.run(&["send", &bob, "after the move"]);
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(b1.texts(&alice), ["before the move"], "found without mDNS");
    a1.stop();
    b1.stop();
    // With mDNS (and still no relay, no DHT): found by id, synced.
    let lan = crate::flags(&["--no-relay", "--no-dht", "--no-portmapper"]);
    a1.net = lan.clone();
    b1.net = lan;
    a1.start();
    b1.start();
    b1.wait_texts(&alice, &["before the move", "after the move"]);
    b1.run(&["send", &alice, "found you"]);
    a1.wait_texts(&bob, &["before the move", "after the move", "found you"]);
    a1.stop();
    b1.stop();
}

/// Needs root (`ip netns`): `./kith.sh test` runs it when namespaces work.
/// Devices that move to new addresses are found again through their
/// signed announcements alone (no mDNS, relay or DHT): Alice moves and
/// reaches Bob at his old address, which tells Bob her new one; then Bob
/// moves and only that announcement lets him reach her.
#[test]
#[ignore = "needs root for ip netns; run by ./kith.sh test when available"]
fn devices_that_move_are_found_again_through_their_announcements() {
    let root = tempfile::tempdir().unwrap();
    let (netns, [mut a1, mut b1], [alice, bob]) = lan(root.path(), [7201, 7202]);
    a1.run(&["send", &bob, "from the first address"]);
    b1.wait_texts(&alice, &["from the first address"]);
    // Alice moves; she still knows where Bob is.
    a1.stop();
    move_to(&netns, 0, &mut a1, "10.77.0.1", "10.77.0.21");
    a1.start();
    a1.run(&["send", &bob, "moved"]);
    b1.wait_texts(&alice, &["from the first address", "moved"]);
    // Bob moves too: Alice knows only his old address, so the connection
    // can only come from Bob, who dials the address she announced.
    b1.stop();
    move_to(&netns, 1, &mut b1, "10.77.0.2", "10.77.0.22");
    b1.start();
    a1.run(&["send", &bob, "found again"]);
    b1.wait_texts(&alice, &["from the first address", "moved", "found again"]);
    a1.stop();
    b1.stop();
}

/// Three namespaces: Alice (10.77.1.1) and Bob (10.77.2.1), each linked to
/// a router (10.77.1.254, 10.77.2.254) that runs a self-hosted relay and
/// forwards between them only while `direct(true)`.
struct Routed {
    names: [String; 3],
    relay: Option<std::process::Child>,
}

impl Routed {
    fn exec(&self, ns: usize, args: &[&str]) -> bool {
        let mut all = vec!["netns", "exec", self.names[ns].as_str()];
        all.extend_from_slice(args);
        crate::Netns::ip(&all)
    }

    fn create() -> Option<Self> {
        let id = std::process::id() % 100_000;
        let names = ["a", "b", "r"].map(|n| format!("kith-{n}3-{id}"));
        let routed = Self { names, relay: None };
        let [a, b, r] = &routed.names;
        let (va, ra, vb, rb) = (
            format!("k3a{id}"),
            format!("k3ra{id}"),
            format!("k3b{id}"),
            format!("k3rb{id}"),
        );
        let ip = crate::Netns::ip;
        let ok = [a, b, r].iter().all(|n| ip(&["netns", "add", n]))
            && ip(&["link", "add", &va, "type", "veth", "peer", "name", &ra])
            && ip(&["link", "add", &vb, "type", "veth", "peer", "name", &rb])
            && ip(&["link", "set", &va, "netns", a])
            && ip(&["link", "set", &ra, "netns", r])
            && ip(&["link", "set", &vb, "netns", b])
            && ip(&["link", "set", &rb, "netns", r])
            && ip(&["-n", a, "addr", "add", "10.77.1.1/24", "dev", &va])
            && ip(&["-n", r, "addr", "add", "10.77.1.254/24", "dev", &ra])
            && ip(&["-n", b, "addr", "add", "10.77.2.1/24", "dev", &vb])
            && ip(&["-n", r, "addr", "add", "10.77.2.254/24", "dev", &rb])
            && [(a, &va), (r, &ra), (b, &vb), (r, &rb)]
                .iter()
                .all(|(n, d)| ip(&["-n", n, "link", "set", d, "up"]))
            && [a, b, r]
                .iter()
                .all(|n| ip(&["-n", n, "link", "set", "lo", "up"]))
            && ip(&[
                "-n",
                a,
                "route",
                "add",
                "10.77.2.0/24",
                "via",
                "10.77.1.254",
            ])
            && ip(&[
                "-n",
                b,
                "route",
                "add",
                "10.77.1.0/24",
                "via",
                "10.77.2.254",
            ]);
        ok.then_some(routed)
    }

    /// Whether the router forwards between Alice and Bob (a direct path).
    fn direct(&self, on: bool) {
        let value = format!("net.ipv4.ip_forward={}", u8::from(on));
        assert!(self.exec(2, &["sysctl", "-q", "-w", &value]));
    }

    /// Starts `iroh-relay --dev` (plain HTTP, port 3340) on the router.
    fn start_relay(&mut self) {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.names[2], "iroh-relay", "--dev"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("iroh-relay (cargo install iroh-relay --features server; ./kith.sh test does)");
        self.relay = Some(child);
        wait("the relay to listen", || {
            self.exec(0, &["bash", "-c", "echo > /dev/tcp/10.77.1.254/3340"])
        });
    }

    fn stop_relay(&mut self) {
        if let Some(mut child) = self.relay.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Routed {
    fn drop(&mut self) {
        self.stop_relay();
        for name in &self.names {
            crate::Netns::ip(&["netns", "del", name]);
        }
    }
}

/// Needs root (`ip netns`) and `iroh-relay`: `./kith.sh test` runs it when
/// namespaces work. Two devices that cannot reach each other directly talk
/// through a relay they run themselves; when the relay goes and a direct
/// path appears, they use that.
#[test]
#[ignore = "needs root for ip netns and iroh-relay; run by ./kith.sh test when available"]
fn without_a_direct_path_devices_talk_through_their_own_relay_and_back() {
    let mut net = Routed::create().expect("cannot create network namespaces (root needed)");
    net.direct(true);
    net.start_relay();
    let root = tempfile::tempdir().unwrap();
    let mut a1 = Device::new(root.path(), "a1", 7301);
    let mut b1 = Device::new(root.path(), "b1", 7302);
    let relay = crate::flags(&[
        "--no-mdns",
        "--no-dht",
        "--no-portmapper",
        "--relay",
        "http://10.77.1.254:3340",
    ]);
    a1.net = relay.clone();
    b1.net = relay;
    a1.netns = Some((net.names[0].clone(), "10.77.1.1".into()));
    b1.netns = Some((net.names[1].clone(), "10.77.2.1".into()));
    let (alice, bob) = meet(&mut a1, &mut b1);
    // Both connect to the relay and announce it (the relay answers no
    // QUIC address discovery, so that takes a few seconds); a message each
    // way after that carries the announcements ahead of it.
    for device in [&a1, &b1] {
        crate::wait_for(
            std::time::Duration::from_secs(30),
            "the relay announced",
            || device.run(&["whoami"])["relay"] == "http://10.77.1.254:3340/",
        );
    }
    a1.run(&["send", &bob, "direct"]);
    b1.wait_texts(&alice, &["direct"]);
    b1.run(&["send", &alice, "direct too"]);
    a1.wait_texts(&bob, &["direct", "direct too"]);
    // No direct path any more, and fresh connections: only the relay.
    net.direct(false);
    a1.stop();
    b1.stop();
    b1.start();
    a1.start();
    a1.run(&["send", &bob, "through the relay"]);
    b1.wait_texts(&alice, &["direct", "direct too", "through the relay"]);
    b1.run(&["send", &alice, "back through it"]);
    let four = [
        "direct",
        "direct too",
        "through the relay",
        "back through it",
    ];
    a1.wait_texts(&bob, &four);
    // The relay goes, a direct path comes back: they use it.
    net.stop_relay();
    net.direct(true);
    a1.run(&["send", &bob, "direct again"]);
    crate::wait_for(
        std::time::Duration::from_secs(60),
        "the direct path again",
        || b1.texts(&alice).last().is_some_and(|t| t == "direct again"),
    );
    a1.stop();
    b1.stop();
}

/// A private mainline DHT of a few nodes on loopback (its own runtime, so
/// it runs while the test drives the devices); its bootstrap addresses.
fn local_dht() -> (tokio::runtime::Runtime, n0_mainline::Testnet) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let testnet = runtime
        .block_on(async {
            tokio::time::timeout(
                std::time::Duration::from_secs(30),
                n0_mainline::Testnet::new(5),
            )
            .await
        })
        .expect("the local DHT did not bootstrap in 30 s")
        .unwrap();
    (runtime, testnet)
}

/// Two devices that both moved to new addresses while apart (ports on
/// loopback; no mDNS, no relay) find each other again through a local
/// mainline DHT alone, and do not without it.
#[test]
fn devices_that_moved_are_found_through_a_local_dht() {
    let (_runtime, dht) = local_dht();
    let root = tempfile::tempdir().unwrap();
    let mut a1 = Device::new(root.path(), "a1", 47401);
    let mut b1 = Device::new(root.path(), "b1", 47402);
    let (alice, bob) = meet(&mut a1, &mut b1);
    a1.run(&["send", &bob, "before the move"]);
    b1.wait_texts(&alice, &["before the move"]);
    a1.stop();
    b1.stop();
    a1.port = 47411;
    b1.port = 47412;
    // Without the DHT: each knows only the other's old address.
    a1.start();
    b1.start();
    a1.run(&["send", &bob, "after the move"]);
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(
        b1.texts(&alice),
        ["before the move"],
        "found without the DHT"
    );
    a1.stop();
    b1.stop();
    // With the local DHT (and still no mDNS, no relay): found by id.
    let mut flags = crate::flags(&["--no-relay", "--no-mdns", "--no-portmapper"]);
    flags.extend(dht.bootstrap.iter().map(|b| format!("--dht-bootstrap={b}")));
    a1.net = flags.clone();
    b1.net = flags;
    a1.start();
    b1.start();
    crate::wait_for(
        std::time::Duration::from_secs(60),
        "Bob to find Alice through the DHT",
        || b1.texts(&alice) == ["before the move", "after the move"],
    );
    a1.stop();
    b1.stop();
}

#[test]
fn a_dht_bootstrap_that_is_not_host_port_is_refused_with_its_reason() {
    for bad in ["nope", "host:", ":7000", "host:0", "host:99999"] {
        let output = Command::new(crate::KITH)
            .args(["--dht-bootstrap", bad, "version"])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{bad} accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("is not HOST:PORT"), "{bad}: {stderr}");
    }
    let output = Command::new(crate::KITH)
        .args(["--dht-bootstrap", "dht.example.org:6881", "version"])
        .output()
        .unwrap();
    assert!(output.status.success());
}
