//! Integration tests of `kith-session`.
