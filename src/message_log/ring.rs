//! A single-producer, single-consumer ring of byte records, allocated once.
//!
//! The event loop pushes records (a copy into the ring and one atomic store); the log
//! writer pops them. Neither side locks, allocates or makes a system call. Each record is a
//! 4-byte length and its bytes, kept contiguous: a record that does not fit before the end
//! of the buffer starts again at its beginning, behind a wrap marker.

use std::cell::UnsafeCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The length of a record's length field.
const LEN: usize = 4;

/// The length value that marks the rest of the buffer as unused.
const WRAP: u32 = u32::MAX;

/// What the two ends share.
struct Shared {
    buf: Box<[UnsafeCell<u8>]>,
    /// Bytes ever pushed (the producer's position), published after the bytes.
    head: AtomicUsize,
    /// Bytes ever popped (the consumer's position), published once they are read.
    tail: AtomicUsize,
    /// The consumer is gone: nothing will make room any more.
    closed: AtomicBool,
}

// Safety: the producer only writes bytes in `[head, tail + capacity)` and publishes them
// with a release store of `head`; the consumer only reads bytes in `[tail, head)` after an
// acquire load of `head`, and gives them back with a release store of `tail`, which the
// producer loads with acquire before it writes there again. The two never touch the same
// byte at the same time, and each end lives on one thread (neither is `Clone`).
unsafe impl Sync for Shared {}

impl Shared {
    fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// A pointer to byte `at` (taken modulo the capacity by the caller).
    fn at(&self, at: usize) -> *mut u8 {
        UnsafeCell::raw_get(&raw const self.buf[at])
    }
}

/// A ring of `capacity` bytes (rounded up to a power of two, at least 64): its producer and
/// its consumer.
pub(crate) fn ring(capacity: usize) -> (Producer, Consumer) {
    let capacity = capacity.max(64).next_power_of_two();
    let shared = Arc::new(Shared {
        buf: (0..capacity).map(|_| UnsafeCell::new(0)).collect(),
        head: AtomicUsize::new(0),
        tail: AtomicUsize::new(0),
        closed: AtomicBool::new(false),
    });
    let producer = Producer {
        shared: Arc::clone(&shared),
        head: 0,
        tail: 0,
    };
    (producer, Consumer { shared, tail: 0 })
}

/// The pushing end, owned by one event loop.
pub(crate) struct Producer {
    shared: Arc<Shared>,
    /// The position of the next record.
    head: usize,
    /// The consumer's position when last looked at.
    tail: usize,
}

impl Producer {
    /// The largest record the ring can ever take.
    pub(crate) fn max_record(&self) -> usize {
        self.shared.capacity() / 2 - LEN
    }

    /// Whether the consumer is gone, so that waiting for room is pointless.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Pushes one record made of `parts` laid end to end; `false` when there is no room
    /// (nothing is pushed then) or it is larger than [`Producer::max_record`].
    pub(crate) fn push(&mut self, parts: &[&[u8]]) -> bool {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len > self.max_record() {
            return false;
        }
        let capacity = self.shared.capacity();
        let offset = self.head & (capacity - 1);
        let contiguous = capacity - offset;
        let skip = if contiguous < LEN + len {
            contiguous
        } else {
            0
        };
        let needed = skip + LEN + len;
        if capacity - (self.head - self.tail) < needed {
            self.tail = self.shared.tail.load(Ordering::Acquire);
            if capacity - (self.head - self.tail) < needed {
                return false;
            }
        }
        if skip >= LEN {
            self.write(offset, &WRAP.to_le_bytes());
        }
        let mut at = (self.head + skip) & (capacity - 1);
        // `len` is at most half the capacity, so it fits in a u32.
        self.write(at, &(len as u32).to_le_bytes());
        at += LEN;
        for part in parts {
            self.write(at, part);
            at += part.len();
        }
        self.head += needed;
        self.shared.head.store(self.head, Ordering::Release);
        true
    }

    /// Copies `bytes` to offset `at`, which has room for them before the end.
    fn write(&mut self, at: usize, bytes: &[u8]) {
        debug_assert!(at + bytes.len() <= self.shared.capacity());
        // Safety: `push` checked that the bytes from `head` up to `head + needed` are free
        // (the consumer is done with them and will not read them before `head` is
        // published), and that they do not wrap past the end of the buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.shared.at(at), bytes.len());
        }
    }
}

/// The popping end, owned by the log writer.
pub(crate) struct Consumer {
    shared: Arc<Shared>,
    /// The position of the next record to read.
    tail: usize,
}

impl Consumer {
    /// Hands every record pushed so far to `f`, in order, then gives their room back.
    /// Returns how many there were.
    pub(crate) fn drain(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        let head = self.shared.head.load(Ordering::Acquire);
        let capacity = self.shared.capacity();
        let mut count = 0;
        while self.tail != head {
            let offset = self.tail & (capacity - 1);
            let contiguous = capacity - offset;
            if contiguous < LEN {
                self.tail += contiguous;
                continue;
            }
            let mut len = [0u8; LEN];
            self.read(offset, &mut len);
            let len = u32::from_le_bytes(len);
            if len == WRAP {
                self.tail += contiguous;
                continue;
            }
            let len = len as usize;
            // Safety: the producer wrote these `len` bytes, contiguous and before the end
            // of the buffer, and published them with `head`, loaded above with acquire; it
            // will not write there again before `tail` moves past them.
            let record = unsafe {
                std::slice::from_raw_parts(self.shared.at(offset + LEN).cast_const(), len)
            };
            f(record);
            count += 1;
            self.tail += LEN + len;
        }
        self.shared.tail.store(self.tail, Ordering::Release);
        count
    }

    /// Copies the bytes at offset `at` into `out`.
    fn read(&self, at: usize, out: &mut [u8]) {
        // Safety: the caller reads a published record's length, inside the buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.shared.at(at).cast_const(),
                out.as_mut_ptr(),
                out.len(),
            );
        }
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drained(consumer: &mut Consumer) -> Vec<Vec<u8>> {
        let mut records = Vec::new();
        consumer.drain(|r| records.push(r.to_vec()));
        records
    }

    #[test]
    fn records_come_out_whole_and_in_order_across_the_wrap() {
        let (mut producer, mut consumer) = ring(64);
        let mut expected = Vec::new();
        for n in 0u8..50 {
            let record = vec![n; usize::from(n % 13)];
            assert!(producer.push(&[
                &record[..1.min(record.len())],
                &record[1.min(record.len())..]
            ]));
            expected.push(record);
            if n % 3 == 2 {
                assert_eq!(drained(&mut consumer), expected);
                expected.clear();
            }
        }
        assert_eq!(drained(&mut consumer), expected);
    }

    #[test]
    fn a_full_ring_refuses_until_the_consumer_makes_room() {
        let (mut producer, mut consumer) = ring(64);
        let record = [7u8; 12];
        let mut pushed = 0;
        while producer.push(&[&record]) {
            pushed += 1;
        }
        assert_eq!(pushed, 4, "64 bytes hold four records of 4 + 12");
        assert!(!producer.push(&[b"x"]));
        assert_eq!(consumer.drain(|r| assert_eq!(r, record)), 4);
        assert!(producer.push(&[&record]));
        assert!(!producer.push(&[&[0; 29]]), "larger than half the ring");
        assert!(!producer.is_closed());
        drop(consumer);
        assert!(producer.is_closed());
    }
}
