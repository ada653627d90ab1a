//! Domain separation: every signature, hash and MAC in Kith carries a purpose.
//!
//! A [`Domain`] is a short ASCII label such as `kith-account-v1`. Its encoding
//! is one length byte followed by the label, so no label's encoding is a
//! prefix of another's, and a signature or digest made for one purpose can
//! never be accepted for another (a device-log signature replayed as a message
//! signature fails to verify).

/// A purpose label for signatures, hashes, MACs and KDFs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Domain(&'static str);

impl Domain {
    /// Longest allowed label.
    pub const MAX_LEN: usize = 64;

    /// A new label. Labels are 1 to 64 bytes of printable ASCII; a bad label
    /// fails to compile when used in a `const`.
    pub const fn new(label: &'static str) -> Self {
        let bytes = label.as_bytes();
        assert!(
            !bytes.is_empty() && bytes.len() <= Self::MAX_LEN,
            "domain label length"
        );
        let mut rest = bytes;
        while let [byte, tail @ ..] = rest {
            assert!(
                *byte > 0x20 && *byte < 0x7f,
                "domain label must be printable ascii"
            );
            rest = tail;
        }
        Self(label)
    }

    /// The label text.
    pub const fn label(self) -> &'static str {
        self.0
    }

    /// Appends the encoding (`len:u8 || label`) to `out`.
    pub fn encode_into(self, out: &mut Vec<u8>) {
        // `new` bounds the label to 64 bytes, so the length fits a byte.
        out.push(self.0.len() as u8);
        out.extend_from_slice(self.0.as_bytes());
    }

    /// The encoding (`len:u8 || label`) in a stack buffer, and its length.
    pub fn encoded(self) -> ([u8; 1 + Self::MAX_LEN], usize) {
        let mut buf = [0u8; 1 + Self::MAX_LEN];
        let label = self.0.as_bytes();
        let len = 1 + label.len();
        if let Some((first, rest)) = buf.split_first_mut() {
            *first = label.len() as u8;
            if let Some(dst) = rest.get_mut(..label.len()) {
                dst.copy_from_slice(label);
            }
        }
        (buf, len)
    }

    /// The encoding followed by `msg`: the exact bytes Kith signs.
    pub fn prefixed(self, msg: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.0.len() + msg.len());
        self.encode_into(&mut out);
        out.extend_from_slice(msg);
        out
    }
}
