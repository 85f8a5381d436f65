//! Repeating groups for applications: a message's groups, their entries and nested groups,
//! read in place with the dictionary saying where each entry starts and ends.

use super::{Dictionary, GroupDef, HEADER, Layout};
use crate::codec::{Message, Tag};

/// One repeating group of a message: its NumInGroup field and the entries after it.
///
/// Borrowed from the message's bytes and the dictionary; nothing is copied.
#[derive(Clone, Copy, Debug)]
pub struct Group<'d, 'm> {
    dict: &'d Dictionary,
    def: GroupDef,
    count: &'m [u8],
    /// The message from the first field after the NumInGroup field to its end.
    rest: &'m [u8],
}

/// One entry of a [`Group`]: its fields, up to the next entry or the end of the group.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'d, 'm> {
    dict: &'d Dictionary,
    layout: &'d Layout,
    bytes: &'m [u8],
}

impl Dictionary {
    /// The repeating group whose NumInGroup field is `counter` in `msg`'s header or body,
    /// outside other groups; `None` when the message has no such field or the dictionary no
    /// such group for its MsgType. For a group inside an entry, see [`Entry::group`].
    ///
    /// ```
    /// use fixring_core::codec::Message;
    /// use fixring_core::dictionary::Dictionary;
    ///
    /// let xml = "<fix major='4' minor='4'>
    ///   <header/><trailer/>
    ///   <messages>
    ///     <message name='MarketDataSnapshotFullRefresh' msgtype='W'>
    ///       <field name='Symbol' required='Y'/>
    ///       <group name='NoMDEntries' required='Y'>
    ///         <field name='MDEntryType' required='Y'/>
    ///         <field name='MDEntryPx' required='N'/>
    ///       </group>
    ///     </message>
    ///   </messages>
    ///   <fields>
    ///     <field number='55' name='Symbol' type='STRING'/>
    ///     <field number='268' name='NoMDEntries' type='NUMINGROUP'/>
    ///     <field number='269' name='MDEntryType' type='CHAR'/>
    ///     <field number='270' name='MDEntryPx' type='PRICE'/>
    ///   </fields>
    /// </fix>";
    /// let dictionary = Dictionary::parse(xml, "example.xml")?;
    ///
    /// let wire = b"8=FIX.4.4\x019=45\x0135=W\x0155=EURUSD\x01268=2\x01269=0\x01270=1.1\x01\
    ///              269=1\x01270=1.2\x0110=000\x01";
    /// let msg = Message::parse(wire)?;
    /// let entries = dictionary.group(&msg, 268).expect("NoMDEntries");
    /// assert_eq!(entries.count(), Some(2));
    /// let prices: Vec<&[u8]> = entries.entries().filter_map(|entry| entry.get(270)).collect();
    /// assert_eq!(prices, [&b"1.1"[..], b"1.2"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn group<'d, 'm>(&'d self, msg: &Message<'m>, counter: Tag) -> Option<Group<'d, 'm>> {
        let body = self.message(msg.msg_type()).and_then(|id| self.layout(id));
        let header = self.layout(HEADER);
        let mut rest = msg.as_bytes();
        while let Some((tag, value, after)) = split(rest) {
            rest = after;
            let def = body
                .and_then(|layout| layout.group(tag))
                .or_else(|| header.and_then(|layout| layout.group(tag)));
            let Some(def) = def else {
                continue;
            };
            let group = Group {
                dict: self,
                def: *def,
                count: value,
                rest,
            };
            if tag == counter {
                return Some(group);
            }
            rest = group.after();
        }
        None
    }
}

impl<'d, 'm> Group<'d, 'm> {
    /// The NumInGroup field's tag.
    pub fn counter(&self) -> Tag {
        self.def.counter
    }

    /// The tag each entry starts with.
    pub fn delimiter(&self) -> Tag {
        self.def.delimiter
    }

    /// The count the NumInGroup field gives, if it is a number; a message that passed
    /// validation has exactly that many entries.
    pub fn count(&self) -> Option<usize> {
        std::str::from_utf8(self.count).ok()?.parse().ok()
    }

    /// The entries, in wire order.
    pub fn entries(&self) -> Entries<'d, 'm> {
        Entries {
            dict: self.dict,
            layout: self.dict.layout(self.def.layout),
            delimiter: self.def.delimiter,
            rest: self.rest,
        }
    }

    /// The message after the group's last entry.
    fn after(&self) -> &'m [u8] {
        let mut entries = self.entries();
        while entries.next().is_some() {}
        entries.rest
    }
}

/// The entries of a [`Group`], from [`Group::entries`].
#[derive(Clone, Debug)]
pub struct Entries<'d, 'm> {
    dict: &'d Dictionary,
    layout: Option<&'d Layout>,
    delimiter: Tag,
    rest: &'m [u8],
}

impl<'d, 'm> Iterator for Entries<'d, 'm> {
    type Item = Entry<'d, 'm>;

    fn next(&mut self) -> Option<Self::Item> {
        let layout = self.layout?;
        let start = self.rest;
        let mut fields = 0;
        // Tags seen in this entry; an entry has few, a linear look is cheapest.
        let mut seen = [0 as Tag; 32];
        while let Some((tag, value, after)) = split(self.rest) {
            let member = self.dict.field_idx(tag).is_some_and(|idx| layout.has(idx));
            let repeated = seen
                .get(..fields.min(seen.len()))
                .is_some_and(|s| s.contains(&tag));
            if !member || (fields > 0 && (tag == self.delimiter || repeated)) {
                break;
            }
            if let Some(slot) = seen.get_mut(fields) {
                *slot = tag;
            }
            fields += 1;
            self.rest = after;
            if let Some(def) = layout.group(tag) {
                let nested = Group {
                    dict: self.dict,
                    def: *def,
                    count: value,
                    rest: self.rest,
                };
                self.rest = nested.after();
            }
        }
        if fields == 0 {
            return None;
        }
        let len = start.len() - self.rest.len();
        Some(Entry {
            dict: self.dict,
            layout,
            bytes: start.get(..len)?,
        })
    }
}

impl<'d, 'm> Entry<'d, 'm> {
    /// The value of the entry's field `tag`, outside its nested groups.
    pub fn get(&self, tag: Tag) -> Option<&'m [u8]> {
        self.fields()
            .find(|&(field, _)| field == tag)
            .map(|(_, value)| value)
    }

    /// The entry's fields as `(tag, value)` in wire order, outside its nested groups (their
    /// NumInGroup fields included).
    pub fn fields(&self) -> impl Iterator<Item = (Tag, &'m [u8])> + use<'d, 'm> {
        let (dict, layout) = (self.dict, self.layout);
        let mut rest = self.bytes;
        std::iter::from_fn(move || {
            let (tag, value, after) = split(rest)?;
            rest = after;
            if let Some(def) = layout.group(tag) {
                let nested = Group {
                    dict,
                    def: *def,
                    count: value,
                    rest,
                };
                rest = nested.after();
            }
            Some((tag, value))
        })
    }

    /// The group nested in this entry whose NumInGroup field is `counter`.
    pub fn group(&self, counter: Tag) -> Option<Group<'d, 'm>> {
        let mut rest = self.bytes;
        while let Some((tag, value, after)) = split(rest) {
            rest = after;
            if let Some(def) = self.layout.group(tag) {
                let group = Group {
                    dict: self.dict,
                    def: *def,
                    count: value,
                    rest,
                };
                if tag == counter {
                    return Some(group);
                }
                rest = group.after();
            }
        }
        None
    }

    /// The entry's bytes as received, nested groups included.
    pub fn as_bytes(&self) -> &'m [u8] {
        self.bytes
    }
}

/// The first field of `bytes` (`tag=value<SOH>`), and the bytes after it.
fn split(bytes: &[u8]) -> Option<(Tag, &[u8], &[u8])> {
    let eq = bytes.iter().position(|&b| b == b'=')?;
    let tag = std::str::from_utf8(bytes.get(..eq)?).ok()?.parse().ok()?;
    let after = bytes.get(eq + 1..)?;
    let end = after.iter().position(|&b| b == 0x01)?;
    Some((tag, after.get(..end)?, after.get(end + 1..)?))
}
