use std::path::{Path, PathBuf};

use super::{Dictionary, DictionaryErrorKind, FieldType};

fn dictionaries_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/dictionaries")
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
