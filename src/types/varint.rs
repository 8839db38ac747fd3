//! LEB128 varints: the length header of every entry in the packed encodings (list
//! nodes, small hashes, sorted-set chunks). One byte for values under 128.

/// Append `n`.
#[inline]
pub fn put(buf: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        buf.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

/// Bytes `put(n)` writes.
#[inline]
pub fn len(n: usize) -> usize {
    let mut n = n >> 7;
    let mut l = 1;
    while n > 0 {
        n >>= 7;
        l += 1;
    }
    l
}

/// The varint at `pos`: (value, position after it). Buffers are only written by `put`
/// (never from input), so they are well formed.
#[inline]
pub fn read(buf: &[u8], mut pos: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let b = buf[pos];
        pos += 1;
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            return (n, pos);
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips_and_lengths() {
        for n in [0usize, 1, 127, 128, 300, 16383, 16384, 1 << 40, usize::MAX] {
            let mut buf = vec![9];
            super::put(&mut buf, n);
            assert_eq!(buf.len() - 1, super::len(n), "{n}");
            assert_eq!(super::read(&buf, 1), (n, buf.len()), "{n}");
        }
    }
}
