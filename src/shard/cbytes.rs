//! `CBytes`: a 16-byte byte string for keys and string values.
//!
//! Up to 15 bytes live inline (no allocation: most keys and small values); longer
//! strings own a boxed slice; payloads of `SHARE_MIN` bytes or more keep the request's
//! `Bytes` (zero copy). The last byte is a tag whose unused values give enums holding a
//! `CBytes` (like `Value`) room for their discriminant, so they stay 16 bytes too.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};

use bytes::Bytes;

#[cfg(not(target_endian = "little"))]
compile_error!("CBytes assumes a little-endian target");

/// Payloads at least this long are shared with the request buffer instead of copied.
pub const SHARE_MIN: usize = 16 * 1024;
const INLINE_MAX: usize = 15;

/// The tag byte: inline lengths 0..=15, then the two out-of-line forms.
#[allow(dead_code)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Tag {
    L0 = 0,
    L1,
    L2,
    L3,
    L4,
    L5,
    L6,
    L7,
    L8,
    L9,
    L10,
    L11,
    L12,
    L13,
    L14,
    L15,
    Heap = 0x40,
    Shared = 0x41,
}

#[repr(C, align(8))]
pub struct CBytes {
    /// Inline: the bytes. Heap: pointer (8) + length (u32). Shared: pointer to a boxed `Bytes`.
    data: [u8; 15],
    tag: Tag,
}

// SAFETY: CBytes owns its allocation exclusively (Heap) or holds a `Bytes`, which is
// Send + Sync.
unsafe impl Send for CBytes {}
unsafe impl Sync for CBytes {}

impl CBytes {
    pub const fn empty() -> CBytes {
        CBytes {
            data: [0; 15],
            tag: Tag::L0,
        }
    }

    fn inline(s: &[u8]) -> CBytes {
        debug_assert!(s.len() <= INLINE_MAX);
        let mut data = [0u8; 15];
        data[..s.len()].copy_from_slice(s);
        // SAFETY: len <= 15 is a valid inline tag value.
        let tag = unsafe { std::mem::transmute::<u8, Tag>(s.len() as u8) };
        CBytes { data, tag }
    }

    fn heap(b: Box<[u8]>) -> CBytes {
        let len = b.len() as u32;
        let ptr = Box::into_raw(b) as *mut u8 as usize as u64;
        let mut data = [0u8; 15];
        data[..8].copy_from_slice(&ptr.to_ne_bytes());
        data[8..12].copy_from_slice(&len.to_ne_bytes());
        CBytes {
            data,
            tag: Tag::Heap,
        }
    }

    fn shared(b: Bytes) -> CBytes {
        let ptr = Box::into_raw(Box::new(b)) as usize as u64;
        let mut data = [0u8; 15];
        data[..8].copy_from_slice(&ptr.to_ne_bytes());
        CBytes {
            data,
            tag: Tag::Shared,
        }
    }

    /// A copy of `s`.
    pub fn from_slice(s: &[u8]) -> CBytes {
        if s.len() <= INLINE_MAX {
            CBytes::inline(s)
        } else if s.len() > u32::MAX as usize {
            CBytes::shared(Bytes::copy_from_slice(s))
        } else {
            CBytes::heap(s.into())
        }
    }

    /// From a request argument: shared when large, copied otherwise (a small value must
    /// not pin a large read buffer).
    pub fn from_bytes(b: &Bytes) -> CBytes {
        if b.len() >= SHARE_MIN {
            CBytes::shared(b.clone())
        } else {
            CBytes::from_slice(b)
        }
    }

    pub fn from_vec(v: Vec<u8>) -> CBytes {
        if v.len() <= INLINE_MAX {
            CBytes::inline(&v)
        } else if v.len() >= SHARE_MIN || v.len() > u32::MAX as usize {
            CBytes::shared(Bytes::from(v))
        } else {
            CBytes::heap(v.into_boxed_slice())
        }
    }

    #[inline]
    fn ptr(&self) -> *mut u8 {
        let mut p = [0u8; 8];
        p.copy_from_slice(&self.data[..8]);
        u64::from_ne_bytes(p) as usize as *mut u8
    }

    #[inline]
    fn heap_len(&self) -> usize {
        let mut l = [0u8; 4];
        l.copy_from_slice(&self.data[8..12]);
        u32::from_ne_bytes(l) as usize
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self.tag {
            Tag::Heap => unsafe { std::slice::from_raw_parts(self.ptr(), self.heap_len()) },
            Tag::Shared => unsafe { (*(self.ptr() as *const Bytes)).as_ref() },
            t => &self.data[..t as usize],
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        match self.tag {
            Tag::Heap => self.heap_len(),
            Tag::Shared => self.as_slice().len(),
            t => t as usize,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// As `Bytes` for a reply: shared when stored shared, else a copy.
    pub fn to_bytes(&self) -> Bytes {
        match self.tag {
            Tag::Shared => unsafe { (*(self.ptr() as *const Bytes)).clone() },
            _ => Bytes::copy_from_slice(self.as_slice()),
        }
    }

    /// Heap bytes owned beyond the 16 inline ones (MEMORY USAGE, eviction).
    pub fn heap_size(&self) -> usize {
        match self.tag {
            Tag::Heap => self.heap_len(),
            Tag::Shared => self.len() + 32,
            _ => 0,
        }
    }
}

impl Drop for CBytes {
    fn drop(&mut self) {
        match self.tag {
            Tag::Heap => unsafe {
                let slice = std::ptr::slice_from_raw_parts_mut(self.ptr(), self.heap_len());
                drop(Box::from_raw(slice));
            },
            Tag::Shared => unsafe {
                drop(Box::from_raw(self.ptr() as *mut Bytes));
            },
            _ => {}
        }
    }
}

impl Clone for CBytes {
    fn clone(&self) -> CBytes {
        match self.tag {
            Tag::Shared => CBytes::shared(self.to_bytes()),
            Tag::Heap => CBytes::heap(self.as_slice().into()),
            _ => CBytes {
                data: self.data,
                tag: self.tag,
            },
        }
    }
}

impl PartialEq for CBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for CBytes {}

impl Hash for CBytes {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_slice().hash(h)
    }
}

impl Borrow<[u8]> for CBytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::ops::Deref for CBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for CBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for CBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

impl Default for CBytes {
    fn default() -> Self {
        CBytes::empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_niche() {
        assert_eq!(std::mem::size_of::<CBytes>(), 16);
        // Enums over CBytes reuse the tag's spare values for their discriminant.
        #[allow(dead_code)]
        enum E {
            A(CBytes),
            B(Box<u64>),
            C(Box<u32>),
        }
        assert_eq!(std::mem::size_of::<E>(), 16);
    }

    #[test]
    fn roundtrips_every_form() {
        for len in [
            0usize,
            1,
            14,
            15,
            16,
            100,
            SHARE_MIN - 1,
            SHARE_MIN,
            SHARE_MIN * 3,
        ] {
            let v: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let a = CBytes::from_slice(&v);
            let b = CBytes::from_bytes(&Bytes::from(v.clone()));
            let c = CBytes::from_vec(v.clone());
            for x in [&a, &b, &c] {
                assert_eq!(x.as_slice(), &v[..]);
                assert_eq!(x.len(), len);
                assert_eq!(&x.to_bytes()[..], &v[..]);
                let y = x.clone();
                assert_eq!(&y, x);
            }
        }
    }
}
