use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Dictionary, DictionaryErrorKind, FieldType};

fn dictionaries_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/dictionaries")
}

/// One of the conformance dictionaries, shared as a session holds it.
fn shared(file: &str) -> Arc<Dictionary> {
    Arc::new(Dictionary::load(&dictionaries_dir().join(file)).unwrap_or_else(|e| panic!("{e}")))
}

pub(super) fn fix44() -> Dictionary {
    Dictionary::load(&dictionaries_dir().join("FIX44.xml")).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn loads_all_nine_quickfix_dictionaries() {
    let cases = [
        ("FIX40.xml", "FIX.4.0"),
        ("FIX41.xml", "FIX.4.1"),
        ("FIX42.xml", "FIX.4.2"),
        ("FIX43.xml", "FIX.4.3"),
        ("FIX44.xml", "FIX.4.4"),
        ("FIX50.xml", "FIX.5.0"),
        ("FIX50SP1.xml", "FIX.5.0SP1"),
        ("FIX50SP2.xml", "FIX.5.0SP2"),
        ("FIXT11.xml", "FIXT.1.1"),
    ];
    for (file, version) in cases {
        let dictionary =
            Dictionary::load(&dictionaries_dir().join(file)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dictionary.version(), version, "{file}");
        assert!(dictionary.fields().count() > 50, "{file}");
    }
}

#[test]
fn fields_messages_and_components_as_the_file_says() {
    let dd = fix44();
    let ord_type = dd.field(40).expect("OrdType");
    assert_eq!(
        (ord_type.name(), ord_type.kind()),
        ("OrdType", FieldType::Char)
    );
    assert!(ord_type.allows(b"1") && !ord_type.allows(b"w"));
    assert_eq!(dd.message_name(b"D"), Some("NewOrderSingle"));
    assert!(dd.is_header_field(49) && !dd.is_header_field(11));
    assert!(dd.is_trailer_field(10));
    // Symbol comes from the Instrument component; FIX44.xml makes it optional there.
    assert!(dd.is_message_field(b"D", 55));
    let required: Vec<_> = dd.required_fields(b"D").collect();
    assert_eq!(required, [11, 40, 54, 60]);
    assert!(!dd.is_message_field(b"0", 55));
}

#[test]
fn a_broken_dictionary_is_refused_with_its_line() {
    let cases: &[(&str, u32, DictionaryErrorKind)] = &[
        (
            "<fix major='4' minor='4'>\n<fields>\n<field number='x' name='A' type='INT'/>\n</fields></fix>",
            3,
            DictionaryErrorKind::BadTagNumber { value: "x".into() },
        ),
        (
            "<fix major='4' minor='4'>\n<messages>\n<message name='M' msgtype='M'>\n\
             <field name='Nope' required='Y'/>\n</message></messages></fix>",
            4,
            DictionaryErrorKind::UnknownField {
                name: "Nope".into(),
            },
        ),
        (
            "<fix major='4' minor='4'>\n<messages>\n<message name='M' msgtype='M'>\n\
             <component name='C' required='Y'/>\n</message></messages>\n\
             <components><component name='C'><component name='C' required='N'/></component>\
             </components></fix>",
            6,
            DictionaryErrorKind::ComponentCycle { name: "C".into() },
        ),
        (
            "<fix major='4'>\n</fix>",
            1,
            DictionaryErrorKind::NotADictionary,
        ),
    ];
    for (text, line, kind) in cases {
        let error = Dictionary::parse(text, "bad.xml").expect_err(text);
        assert_eq!((error.line, &error.kind), (*line, kind), "{error}");
        assert!(error.to_string().starts_with(&format!("bad.xml:{line}: ")));
    }
    let error =
        Dictionary::parse("<fix major='4' minor='4'>\n<fields>", "cut.xml").expect_err("cut");
    assert!(
        matches!(error.kind, DictionaryErrorKind::Xml { .. }),
        "{error}"
    );
    let missing = Dictionary::load(Path::new("no/such/FIX44.xml")).expect_err("missing");
    assert!(matches!(
        missing.kind,
        DictionaryErrorKind::Unreadable { .. }
    ));
    assert!(
        missing
            .to_string()
            .starts_with("no/such/FIX44.xml:0: cannot read")
    );
}

mod validation {
    use std::sync::Arc;

    use super::{dictionaries_dir, fix44, shared};
    use crate::codec::Message;
    use crate::dictionary::{
        Dictionaries, Dictionary, RejectKind, Rejection, ValidationOptions, Validator,
    };

    /// A whole message from `body` (`|` for SOH), BodyLength and CheckSum computed.
    pub(in crate::dictionary) fn frame(begin: &str, body: &str) -> Vec<u8> {
        let body = body.replace('|', "\u{1}");
        let mut out = format!("8={begin}\u{1}9={}\u{1}{body}", body.len()).into_bytes();
        let sum = out.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
        out.extend_from_slice(format!("10={sum:03}\u{1}").as_bytes());
        out
    }

    fn validator(options: ValidationOptions) -> Validator {
        let dictionaries = Dictionaries {
            session: Arc::new(fix44()),
            application: None,
            versions: Vec::new(),
        };
        Validator::new(dictionaries, options)
    }

    const HEADER: &str = "34=2|49=TW44|52=20261125-23:59:58.123|56=ISLD|";

    fn check(validator: &mut Validator, msg_type: &str, fields: &str) -> Result<(), Rejection> {
        let wire = frame("FIX.4.4", &format!("35={msg_type}|{HEADER}{fields}"));
        match Message::parse_for_validation(&wire) {
            Ok(msg) => validator.validate(&msg),
            Err(e) => panic!("{fields}: {e}"),
        }
    }

    fn rejected(kind: RejectKind, tag: i64) -> Result<(), Rejection> {
        Err(Rejection {
            kind,
            tag: Some(tag),
        })
    }

    const ORDER: &str = "11=ID|21=1|38=100|40=1|54=1|55=INTC|60=20261125-23:59:58|";

    #[test]
    fn each_reason_as_quickfix_gives_it() {
        let mut v = validator(ValidationOptions::default());
        use RejectKind::*;
        let cases: &[(&str, &str, Result<(), Rejection>)] = &[
            ("D", ORDER, Ok(())),
            ("0", "", Ok(())),
            ("0", "999=HI|", rejected(InvalidTagNumber, 999)),
            ("0", "0=HI|", rejected(InvalidTagNumber, 0)),
            ("0", "-1=HI|", rejected(InvalidTagNumber, -1)),
            ("0", "5000=HI|", rejected(InvalidTagNumber, 5000)),
            ("0", "55=MSFT|", rejected(TagNotDefinedForMessageType, 55)),
            ("0", "112=|", rejected(TagSpecifiedWithoutValue, 112)),
            (
                "D",
                "11=ID|21=4|38=100|40=1|54=1|55=INTC|60=20261125-23:59:58|",
                rejected(ValueIncorrect, 21),
            ),
            (
                "D",
                "11=ID|21=1|38=+200.00|40=1|54=1|55=INTC|60=20261125-23:59:58|",
                rejected(IncorrectDataFormat, 38),
            ),
            (
                "D",
                "11=ID|21=1|40=1|40=2|54=1|55=INTC|60=20261125-23:59:58|",
                rejected(TagAppearsMoreThanOnce, 40),
            ),
            (
                "D",
                "21=1|38=100|40=1|54=1|55=INTC|60=20261125-23:59:58|",
                rejected(RequiredTagMissing, 11),
            ),
            (
                "D",
                "11=ID|21=1|38=200|40=1|54=1|55=INTC|386=3|336=PRE-OPEN|336=AFTER-HOURS|60=20261125-23:59:58|",
                rejected(IncorrectNumInGroupCount, 386),
            ),
            (
                "D",
                "11=ID|21=1|38=200|40=1|54=1|55=INTC|386=2|336=PRE-OPEN|336=AFTER-HOURS|60=20261125-23:59:58|",
                Ok(()),
            ),
            (
                "D",
                "11=ID|21=1|38=200|40=1|54=1|55=INTC|386=1|625=X|60=20261125-23:59:58|",
                rejected(RepeatingGroupFieldsOutOfOrder, 625),
            ),
            (
                "*",
                "",
                Err(Rejection {
                    kind: InvalidMsgType,
                    tag: None,
                }),
            ),
        ];
        for (msg_type, fields, expected) in cases {
            assert_eq!(
                &check(&mut v, msg_type, fields),
                expected,
                "35={msg_type} {fields}"
            );
        }
    }

    /// The fields the parse did not record (tags 0 and negative, those past the 32nd) are
    /// read from the bytes, and the recorded ones after them still line up.
    #[test]
    fn fields_the_parse_did_not_record_read_alike() {
        use RejectKind::*;
        let mut v = validator(ValidationOptions {
            allow_unknown_msg_fields: true,
            ..ValidationOptions::default()
        });
        let bad_21 = "11=ID|21=4|38=100|40=1|54=1|55=INTC|60=20261125-23:59:58|";
        let sessions: String = (0..30).map(|_| "336=X|").collect();
        let cases = [
            format!("-1=HI|0=X|{bad_21}"),
            format!("0=X|00=Y|-0=Z|{bad_21}"),
            "011=ID|021=4|38=100|40=1|54=1|55=INTC|60=20261125-23:59:58|".to_string(),
            format!("{bad_21}386=30|{sessions}"),
            format!("386=30|{sessions}0=X|{bad_21}"),
        ];
        for fields in &cases {
            assert_eq!(
                check(&mut v, "D", fields),
                rejected(ValueIncorrect, 21),
                "{fields}"
            );
        }
        let late = format!("{}386=30|{sessions}60=2026|", &ORDER[..ORDER.len() - 21]);
        assert_eq!(
            check(&mut v, "D", &late),
            rejected(IncorrectDataFormat, 60),
            "{late}"
        );
        let counted = format!("{ORDER}386=31|{sessions}");
        assert_eq!(
            check(&mut v, "D", &counted),
            rejected(IncorrectNumInGroupCount, 386)
        );
    }

    /// A message laid out as the last ones that passed is refused for what it is refused for
    /// when first seen.
    #[test]
    fn the_last_layout_kept_refuses_alike() {
        use RejectKind::*;
        let mut v = validator(ValidationOptions::default());
        let faults = [
            (
                "11=ID|21=4|38=100|40=1|54=1|55=INTC|60=20261125-23:59:58|",
                rejected(ValueIncorrect, 21),
            ),
            (
                "11=ID|21=1|38=1e2|40=1|54=1|55=INTC|60=20261125-23:59:58|",
                rejected(IncorrectDataFormat, 38),
            ),
            (
                "11=|21=1|38=100|40=1|54=1|55=INTC|60=20261125-23:59:58|",
                rejected(TagSpecifiedWithoutValue, 11),
            ),
            (
                "11=ID|0=X|21=1|38=100|40=1|54=1|55=INTC|60=20261125-23:59:58|",
                rejected(InvalidTagNumber, 0),
            ),
            (
                "11=ID|21=1|38=100|40=1|54=1|55=INTC|60=20261125-23:59:58|0=X|",
                rejected(InvalidTagNumber, 0),
            ),
            (
                "011=ID|21=1|38=100|40=1|54=1|55=INTC|60=20261125-23:59:58|",
                Ok(()),
            ),
        ];
        for (fields, expected) in faults {
            for _ in 0..3 {
                assert_eq!(check(&mut v, "D", ORDER), Ok(()));
            }
            assert_eq!(check(&mut v, "D", fields), expected, "{fields}");
            assert_eq!(
                check(&mut v, "G", ORDER),
                rejected(RequiredTagMissing, 41),
                "35=G"
            );
        }
    }

    #[test]
    fn a_group_counted_by_a_field_of_another_type_is_a_group() {
        // FIX42.xml gives NoTradingSessions (386) the type INT.
        let dd = Dictionary::load(&dictionaries_dir().join("FIX42.xml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut v = Validator::new(
            Dictionaries {
                session: Arc::new(dd),
                application: None,
                versions: Vec::new(),
            },
            ValidationOptions::default(),
        );
        let body = "35=D|34=2|49=TW42|52=20261125-23:59:58|56=ISLD|11=ID|21=1|40=1|54=1|38=200|\
                    55=INTC|386=3|336=PRE-OPEN|336=AFTER-HOURS|60=20261125-23:59:58|";
        let wire = frame("FIX.4.2", body);
        let msg = Message::parse_for_validation(&wire).expect("parses");
        assert_eq!(
            v.validate(&msg),
            rejected(RejectKind::IncorrectNumInGroupCount, 386)
        );
    }

    #[test]
    fn header_after_body_is_out_of_order() {
        let mut v = validator(ValidationOptions::default());
        let wire = frame(
            "FIX.4.4",
            "35=D|11=id|21=3|40=1|54=1|55=MSFT|60=20261125-23:59:58|34=2|49=TW44|52=20261125-23:59:58|56=ISLD|",
        );
        let msg = Message::parse_for_validation(&wire).expect("parses");
        assert_eq!(v.validate(&msg), rejected(RejectKind::TagOutOfOrder, 34));
        let mut relaxed = validator(ValidationOptions {
            fields_out_of_order: false,
            ..ValidationOptions::default()
        });
        assert_eq!(relaxed.validate(&msg), Ok(()));
    }

    #[test]
    fn the_keys_turn_checks_off() {
        let mut v = validator(ValidationOptions {
            fields_have_values: false,
            user_defined_fields: false,
            allow_unknown_msg_fields: true,
            unordered_group_fields: false,
            ..ValidationOptions::default()
        });
        for fields in ["112=|", "5000=HI|", "999=HI|", "55=MSFT|"] {
            assert_eq!(check(&mut v, "0", fields), Ok(()), "{fields}");
        }
        let group = "11=ID|21=1|38=200|40=1|54=1|55=INTC|386=1|625=X|60=20261125-23:59:58|";
        assert_eq!(check(&mut v, "D", group), Ok(()));
    }

    #[test]
    fn an_entrys_fields_come_in_the_dictionarys_order() {
        // NoPartyIDs lists PartyID (448), PartyIDSource (447), PartyRole (452).
        let order = |entry: &str| {
            format!("11=ID|21=1|38=100|40=1|453=1|{entry}54=1|55=INTC|60=20261125-23:59:58|")
        };
        let mut v = validator(ValidationOptions::default());
        assert_eq!(check(&mut v, "D", &order("448=A|447=D|452=1|")), Ok(()));
        assert_eq!(check(&mut v, "D", &order("448=A|452=1|")), Ok(()));
        assert_eq!(
            check(&mut v, "D", &order("448=A|452=1|447=D|")),
            rejected(RejectKind::RepeatingGroupFieldsOutOfOrder, 447)
        );
        let mut relaxed = validator(ValidationOptions {
            unordered_group_fields: false,
            ..ValidationOptions::default()
        });
        assert_eq!(
            check(&mut relaxed, "D", &order("448=A|452=1|447=D|")),
            Ok(())
        );
    }

    #[test]
    fn nested_groups_and_many_entries() {
        let mut v = validator(ValidationOptions::default());
        // NoPartyIDs with nested NoPartySubIDs.
        let parties = "11=ID|21=1|38=100|40=1|453=2|448=A|447=D|452=1|802=2|523=S1|803=1|523=S2|803=2|\
                       448=B|447=D|452=3|54=1|55=INTC|60=20261125-23:59:58|";
        assert_eq!(check(&mut v, "D", parties), Ok(()));
        let short = parties.replace("802=2", "802=3");
        assert_eq!(
            check(&mut v, "D", &short),
            rejected(RejectKind::IncorrectNumInGroupCount, 802)
        );
        let mut entries = String::from("55=INTC|268=300|");
        for i in 0..300 {
            entries.push_str(&format!("269=0|270=1{i}.5|271=100|"));
        }
        for _ in 0..3 {
            assert_eq!(check(&mut v, "W", &entries), Ok(()));
        }
    }

    #[test]
    fn fixt_application_messages_use_the_application_dictionary() {
        let mut v = Validator::new(
            Dictionaries {
                session: shared("FIXT11.xml"),
                application: Some(shared("FIX50SP2.xml")),
                versions: Vec::new(),
            },
            ValidationOptions::default(),
        );
        let wire = frame("FIXT.1.1", &format!("35=D|{HEADER}{ORDER}"));
        let msg = Message::parse_for_validation(&wire).expect("parses");
        assert_eq!(v.validate(&msg), Ok(()));
        let wire = frame("FIXT.1.1", &format!("35=0|{HEADER}55=X|"));
        let msg = Message::parse_for_validation(&wire).expect("parses");
        // An admin message is checked against the transport's dictionary alone.
        assert_eq!(v.validate(&msg), rejected(RejectKind::InvalidTagNumber, 55));
    }

    #[test]
    fn fixt_messages_of_another_version_use_that_versions_dictionary() {
        let mut v = Validator::new(
            Dictionaries {
                session: shared("FIXT11.xml"),
                application: Some(shared("FIX50SP2.xml")),
                versions: vec![(6, shared("FIX44.xml"))],
            },
            ValidationOptions::default(),
        );
        // ManualOrderIndicator (1028) came with FIX 5.0: FIX44.xml does not define it.
        let order = |v: &mut Validator, appl_ver_id: &str| {
            let wire = frame(
                "FIXT.1.1",
                &format!("35=D|{HEADER}{appl_ver_id}{ORDER}1028=Y|"),
            );
            let msg = Message::parse_for_validation(&wire).expect("parses");
            v.validate(&msg)
        };
        assert_eq!(order(&mut v, ""), Ok(()));
        assert_eq!(order(&mut v, "1128=9|"), Ok(()));
        assert_eq!(
            order(&mut v, "1128=6|"),
            rejected(RejectKind::InvalidTagNumber, 1028)
        );
        // A version without a dictionary of its own is the application dictionary's.
        assert_eq!(order(&mut v, "1128=8|"), Ok(()));
        // Without an ApplVerID, the counterparty's DefaultApplVerID decides.
        v.set_peer_appl_ver_id(Some(6));
        assert_eq!(
            order(&mut v, ""),
            rejected(RejectKind::InvalidTagNumber, 1028)
        );
        assert_eq!(order(&mut v, "1128=9|"), Ok(()));
    }
}

mod groups {
    use super::fix44;
    use super::validation::frame;
    use crate::codec::Message;

    #[test]
    fn entries_and_nested_groups_read_in_place() {
        let dd = fix44();
        let wire = frame(
            "FIX.4.4",
            "35=D|34=2|49=A|52=20261125-23:59:58|56=B|11=ID|21=1|38=100|40=1|\
             453=2|448=A|447=D|452=1|802=2|523=S1|803=1|523=S2|803=2|448=B|447=D|452=3|\
             54=1|55=INTC|60=20261125-23:59:58|",
        );
        let msg = Message::parse(&wire).expect("parses");
        let parties = dd.group(&msg, 453).expect("NoPartyIDs");
        assert_eq!((parties.count(), parties.delimiter()), (Some(2), 448));
        let entries: Vec<_> = parties.entries().collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].get(448), Some(&b"A"[..]));
        assert_eq!(entries[1].get(452), Some(&b"3"[..]));
        // The nested group's fields are not the entry's own.
        assert_eq!(entries[0].get(523), None);
        let tags: Vec<_> = entries[0].fields().map(|(tag, _)| tag).collect();
        assert_eq!(tags, [448, 447, 452, 802]);
        let subs = entries[0].group(802).expect("NoPartySubIDs");
        let values: Vec<_> = subs.entries().filter_map(|e| e.get(523)).collect();
        assert_eq!(values, [&b"S1"[..], b"S2"]);
        assert!(entries[1].group(802).is_none());
        assert!(dd.group(&msg, 386).is_none());
        // The entries are slices of the message itself.
        let bytes = msg.as_bytes().as_ptr_range();
        assert!(bytes.contains(&entries[1].as_bytes().as_ptr()));
    }

    #[test]
    fn a_hundred_entries_of_a_market_data_snapshot() {
        let dd = fix44();
        let mut body = String::from("35=W|34=2|49=A|52=20261125-23:59:58|56=B|55=EURUSD|268=100|");
        for i in 0..100 {
            body.push_str(&format!("269={}|270=1.{i}|271=100|", i % 2));
        }
        let wire = frame("FIX.4.4", &body);
        let msg = Message::parse(&wire).expect("parses");
        let entries = dd.group(&msg, 268).expect("NoMDEntries");
        assert_eq!(entries.entries().count(), 100);
        let last = entries.entries().last().expect("entries");
        assert_eq!(last.get(270), Some(&b"1.99"[..]));
    }
}
