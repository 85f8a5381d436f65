//! Validation allocates nothing per message, once the validator exists: a counting global
//! allocator, counting on the test's own thread, over valid messages and rejected ones.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;

use fixring_core::codec::Message;
use fixring_core::dictionary::{Dictionaries, Dictionary, ValidationOptions, Validator};

/// The system allocator, counting the allocations of each thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// Safety: every call is passed on unchanged to the system allocator; only a counter is added,
// a thread-local without destructor, which allocates nothing itself.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // Safety: the caller's guarantees for `alloc` are the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Safety: `ptr` was allocated by `alloc` above, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// A whole FIX.4.4 message from `body` (`|` for SOH).
fn frame(body: &str) -> Vec<u8> {
    let body = body.replace('|', "\u{1}");
    let mut out = format!("8=FIX.4.4\u{1}9={}\u{1}{body}", body.len()).into_bytes();
    let sum = out.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
    out.extend_from_slice(format!("10={sum:03}\u{1}").as_bytes());
    out
}

const HEADER: &str = "34=215|49=CLIENT12|52=20261125-23:59:58.123|56=EXCHANGE|";

#[test]
fn validating_allocates_nothing() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/dictionaries/FIX44.xml");
    let dictionary = Dictionary::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let dictionaries = Dictionaries {
        session: Arc::new(dictionary),
        application: None,
        versions: Vec::new(),
    };
    let mut validator = Validator::new(dictionaries, ValidationOptions::default());

    let mut snapshot = format!("35=W|{HEADER}55=EURUSD|268=100|");
    for i in 0..100 {
        snapshot.push_str(&format!("269={}|270=1.{i:04}|271=1000000|", i % 2));
    }
    let cases = [
        (
            format!(
                "35=D|{HEADER}1=ACCT-0042|11=ORD-20261125-000017|21=1|38=1500|40=2|44=101.25|\
                 54=1|55=MSFT|59=0|60=20261125-23:59:58.120|"
            ),
            true,
        ),
        (format!("35=0|{HEADER}"), true),
        (snapshot, true),
        // Refused: a wrong enumerated value, a required field missing, an unknown tag, a
        // wrong NumInGroup count.
        (
            format!("35=D|{HEADER}11=A|21=1|40=2|54=Z|55=X|60=20261125-23:59:58|"),
            false,
        ),
        (format!("35=D|{HEADER}11=A|21=1|40=2|55=X|"), false),
        (format!("35=0|{HEADER}9999=1|"), false),
        (format!("35=W|{HEADER}55=X|268=2|269=0|270=1.5|"), false),
    ];
    for (body, valid) in &cases {
        let wire = frame(body);
        let msg = Message::parse(&wire).expect("parses");
        assert_eq!(validator.validate(&msg).is_ok(), *valid, "{body}");
        let before = allocations();
        for _ in 0..100 {
            let _ = std::hint::black_box(validator.validate(std::hint::black_box(&msg)));
        }
        assert_eq!(allocations() - before, 0, "validating {body} allocated");
    }
}
