//! Fixed-size byte strings on the wire: identifiers, public keys, signatures.

/// Defines a public fixed-size byte string: serialised as a length-prefixed
/// byte string (exact length required on decode), constant-time equality,
/// bytewise order (for maps), and a `Debug` showing the first four bytes.
macro_rules! fixed_bytes {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// The bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Lowercase hex of all bytes (for URIs, JSON and file names;
            /// not for logs, which use `Debug`).
            pub fn to_hex(&self) -> String {
                crate::hex_encode(&self.0)
            }

            /// Parses lowercase or uppercase hex of exactly the right length.
            pub fn from_hex(text: &str) -> Result<Self, crate::WireError> {
                let bytes = crate::hex_decode(text).ok_or(crate::WireError::Malformed)?;
                let array: [u8; $len] = bytes.try_into().map_err(|_| crate::WireError::Malformed)?;
                Ok(Self(array))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                kith_crypto::ct_eq(&self.0, &other.0)
            }
        }

        impl Eq for $name {}

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                // Public identifiers only: ordering is for maps and the
                // deterministic tie-breaks, never for authentication.
                self.0.as_slice().cmp(other.0.as_slice())
            }
        }

        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let prefix = crate::hex_encode(self.0.get(..4).unwrap_or(&self.0));
                write!(f, concat!(stringify!($name), "({}…)"), prefix)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_bytes(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl<'de> serde::de::Visitor<'de> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "{} bytes", $len)
                    }
                    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<$name, E> {
                        let array: [u8; $len] =
                            v.try_into().map_err(|_| E::invalid_length(v.len(), &self))?;
                        Ok($name(array))
                    }
                }
                deserializer.deserialize_bytes(Visitor)
            }
        }
    };
}

fixed_bytes!(
    /// An account: `BLAKE2b-256(domain "kith-account-v1", genesis entry)`.
    /// Stable for the life of the account, whatever devices come and go.
    AccountId, 32
);
fixed_bytes!(
    /// A device: the public half of its Ed25519 device signing key.
    DeviceId, 32
);
fixed_bytes!(
    /// The hash of a signed device-log or conversation-log entry.
    EntryHash, 32
);
fixed_bytes!(
    /// A device's iroh endpoint id (the public half of its transport key).
    TransportId, 32
);
fixed_bytes!(
    /// An X25519 public key.
    DhKey, 32
);
fixed_bytes!(
    /// An Ed25519 signature.
    Sig, 64
);
fixed_bytes!(
    /// A one-time secret that authenticates the first connection of an
    /// invite or a device link. Compared in constant time.
    InviteSecret, 16
);

/// Defines a 32-byte secret that travels only inside encrypted bodies or
/// links: compared in constant time, never printed, wiped when dropped.
macro_rules! secret_key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, serde::Serialize, serde::Deserialize)]
        pub struct $name(pub [u8; 32]);

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                kith_crypto::ct_eq(&self.0, &other.0)
            }
        }

        impl Eq for $name {}

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                kith_crypto::zeroize(&mut self.0);
            }
        }
    };
}

secret_key!(
    /// A sender-key chain's key as a distribution carries it (only ever
    /// inside an end-to-end encrypted body).
    ChainKey
);
secret_key!(
    /// A public room's link key: whoever holds the room's `kith-room:`
    /// link holds it; room bodies are sealed under keys derived from it
    /// (`docs/groups.md` §8).
    RoomKey
);
