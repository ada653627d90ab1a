//! Trait impls shared by the key newtypes.

/// For a public byte-array newtype: constant-time `PartialEq`/`Eq`, a `Hash`
/// consistent with it, and a `Debug` that shows only the first four bytes.
macro_rules! public_bytes {
    ($ty:ident) => {
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                crate::ffi::memeq(&self.0, &other.0)
            }
        }

        impl Eq for $ty {}

        impl std::hash::Hash for $ty {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                // Equal values have equal bytes, so this agrees with `eq`.
                self.0.hash(state);
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(
                    f,
                    concat!(stringify!($ty), "({})"),
                    crate::short_hex(&self.0)
                )
            }
        }
    };
}

/// For a newtype over `SecretBytes<32>`: `generate`, `from_secret`, `secret`
/// and a redacted `Debug`.
macro_rules! secret_key {
    ($ty:ident) => {
        impl $ty {
            /// A fresh random key.
            pub fn generate() -> crate::Result<Self> {
                Ok(Self(crate::SecretBytes::random()?))
            }

            /// Wraps key material (from a KDF or the store).
            pub fn from_secret(secret: crate::SecretBytes<32>) -> Self {
                Self(secret)
            }

            /// The key bytes, for storing the key encrypted at rest.
            pub fn secret(&self) -> &crate::SecretBytes<32> {
                &self.0
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($ty), "(redacted)"))
            }
        }
    };
}
