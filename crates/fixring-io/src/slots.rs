//! The slot table with generations: the per-connection payloads of a backend, whose slots are
//! reused, and the generation that tells a slot's occupant from an earlier one.
//!
//! A backend hands the kernel a [`SlotKey`] packed with a kind byte (as io_uring `user_data`
//! or epoll data). A completion or readiness event whose generation no longer matches its slot
//! belongs to an earlier occupant and finds nothing ([`Slots::current`]).

/// Bits of a generation: what fits in 64 bits beside a 32-bit index and an 8-bit kind.
pub const GENERATION_BITS: u32 = 24;

const GENERATION_MASK: u32 = (1 << GENERATION_BITS) - 1;

/// The generation after `generation`, wrapping within [`GENERATION_BITS`].
pub fn next_generation(generation: u32) -> u32 {
    generation.wrapping_add(1) & GENERATION_MASK
}

/// A slot and the generation of its occupant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotKey {
    /// The slot's index.
    pub index: u32,
    /// The occupant's generation, below `2^GENERATION_BITS`.
    pub generation: u32,
}

impl SlotKey {
    /// The key of slot `index` in `generation`, wrapped into [`GENERATION_BITS`].
    pub fn new(index: u32, generation: u32) -> Self {
        Self {
            index,
            generation: generation & GENERATION_MASK,
        }
    }

    /// The key with `kind` in 64 bits, most significant first: 8 bits of kind, 24 bits of
    /// generation, 32 bits of index.
    pub fn pack(self, kind: u8) -> u64 {
        (u64::from(kind) << 56)
            | (u64::from(self.generation & GENERATION_MASK) << 32)
            | u64::from(self.index)
    }

    /// The kind and the key [`SlotKey::pack`] put into `data`.
    pub fn unpack(data: u64) -> (u8, Self) {
        // The casts keep exactly the bits of each field.
        let kind = (data >> 56) as u8;
        let key = Self {
            index: data as u32,
            generation: ((data >> 32) as u32) & GENERATION_MASK,
        };
        (kind, key)
    }
}

/// One slot: its payload, whether it is occupied, and its occupant's generation.
#[derive(Debug)]
struct Entry<S> {
    generation: u32,
    occupied: bool,
    payload: S,
}

/// A table of at most `capacity` slots holding payloads `S`, with a free list.
///
/// Slots are created as they are first needed and never dropped: a released slot's payload
/// (and whatever buffers it holds) waits for the next occupant, which gets the most recently
/// released slot, or else the lowest one never used.
#[derive(Debug)]
pub struct Slots<S> {
    entries: Vec<Entry<S>>,
    free: Vec<u32>,
    capacity: u32,
}

impl<S: Default> Slots<S> {
    /// An empty table of `capacity` slots.
    pub fn new(capacity: u32) -> Self {
        Self {
            entries: Vec::new(),
            free: Vec::new(),
            capacity,
        }
    }

    /// How many slots the table holds at most.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Whether a slot is free.
    pub fn has_room(&self) -> bool {
        !self.free.is_empty() || self.entries.len() < self.capacity as usize
    }

    /// Occupies a free slot and returns its index and payload, as the last occupant left it,
    /// for the caller to fill in; `None` when every slot is occupied.
    pub fn insert(&mut self) -> Option<(u32, &mut S)> {
        let index = match self.free.pop() {
            Some(index) => index,
            None if self.entries.len() < self.capacity as usize => {
                let index = u32::try_from(self.entries.len()).ok()?;
                self.entries.push(Entry {
                    generation: 0,
                    occupied: false,
                    payload: S::default(),
                });
                index
            }
            None => return None,
        };
        let entry = self.entries.get_mut(index as usize)?;
        entry.occupied = true;
        Some((index, &mut entry.payload))
    }

    /// The payload of occupied slot `index`.
    pub fn get(&self, index: u32) -> Option<&S> {
        self.entries
            .get(index as usize)
            .filter(|e| e.occupied)
            .map(|e| &e.payload)
    }

    /// The payload of occupied slot `index`, mutable.
    pub fn get_mut(&mut self, index: u32) -> Option<&mut S> {
        self.entries
            .get_mut(index as usize)
            .filter(|e| e.occupied)
            .map(|e| &mut e.payload)
    }

    /// The payload of slot `index`, occupied or free (a free slot's payload is what its last
    /// occupant left).
    pub fn payload_mut(&mut self, index: u32) -> Option<&mut S> {
        self.entries.get_mut(index as usize).map(|e| &mut e.payload)
    }

    /// The generation of slot `index`'s occupant (of its next one when it is free; 0 for a
    /// slot never used).
    pub fn generation(&self, index: u32) -> u32 {
        self.entries.get(index as usize).map_or(0, |e| e.generation)
    }

    /// The key of slot `index`'s occupant.
    pub fn key(&self, index: u32) -> SlotKey {
        SlotKey::new(index, self.generation(index))
    }

    /// The payload of the occupant `key` names, if it still occupies its slot.
    pub fn current(&mut self, key: SlotKey) -> Option<&mut S> {
        self.entries
            .get_mut(key.index as usize)
            .filter(|e| e.occupied && e.generation == key.generation)
            .map(|e| &mut e.payload)
    }

    /// Frees occupied slot `index` for a later occupant of the next generation, and returns
    /// its payload for the caller to empty; `None` when the slot is free already.
    pub fn release(&mut self, index: u32) -> Option<&mut S> {
        let entry = self
            .entries
            .get_mut(index as usize)
            .filter(|e| e.occupied)?;
        entry.occupied = false;
        entry.generation = next_generation(entry.generation);
        self.free.push(index);
        Some(&mut entry.payload)
    }

    /// Indices of every occupied slot.
    pub fn occupied(&self) -> Vec<u32> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.occupied)
            .filter_map(|(i, _)| u32::try_from(i).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_with_their_kind() {
        let key = SlotKey::new(0xdead_beef, 0x0123_4567);
        assert_eq!(key.generation, 0x23_4567);
        assert_eq!(SlotKey::unpack(key.pack(6)), (6, key));
        assert_eq!(SlotKey::unpack(0), (0, SlotKey::new(0, 0)));
        assert_eq!(next_generation(GENERATION_MASK), 0);
    }

    #[test]
    fn a_released_slot_is_reused_first_and_its_old_key_finds_nothing() {
        let mut slots: Slots<u8> = Slots::new(2);
        let (a, _) = slots.insert().expect("a");
        let (b, payload) = slots.insert().expect("b");
        *payload = 7;
        assert_eq!((a, b), (0, 1));
        assert!(!slots.has_room());
        assert!(slots.insert().is_none());
        let old = slots.key(b);
        assert_eq!(slots.release(b).copied(), Some(7));
        assert!(slots.release(b).is_none(), "released twice");
        assert!(slots.get(b).is_none());
        assert_eq!(slots.occupied(), vec![a]);
        let (again, payload) = slots.insert().expect("again");
        assert_eq!(
            (again, *payload),
            (b, 7),
            "the payload waits for the next occupant"
        );
        assert!(slots.current(old).is_none());
        assert!(slots.current(slots.key(b)).is_some());
    }
}
