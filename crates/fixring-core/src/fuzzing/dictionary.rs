//! The dictionary-driven parser under fuzzing: the XML loader, validation, and the group
//! walker, over a small dictionary with every feature QuickFIX's files use.

use std::sync::{Arc, OnceLock};

use crate::codec::Message;
use crate::dictionary::{Dictionaries, Dictionary, Group, ValidationOptions, Validator};

/// A FIX.4.4 subset: header with a group, enumerated and typed fields, a component, nested
/// groups, a required group.
const DICTIONARY: &str = "<fix type='FIX' major='4' minor='4' servicepack='0'>
 <header>
  <field name='BeginString' required='Y'/><field name='BodyLength' required='Y'/>
  <field name='MsgType' required='Y'/><field name='SenderCompID' required='Y'/>
  <field name='TargetCompID' required='Y'/><field name='MsgSeqNum' required='Y'/>
  <field name='SendingTime' required='Y'/>
  <group name='NoHops' required='N'><field name='HopCompID' required='N'/></group>
 </header>
 <trailer><field name='CheckSum' required='Y'/></trailer>
 <messages>
  <message name='Heartbeat' msgtype='0' msgcat='admin'><field name='TestReqID' required='N'/></message>
  <message name='NewOrderSingle' msgtype='D' msgcat='app'>
   <field name='ClOrdID' required='Y'/>
   <component name='Parties' required='N'/>
   <field name='Side' required='Y'/><field name='Price' required='N'/>
   <field name='TransactTime' required='Y'/><field name='ExecInst' required='N'/>
  </message>
  <message name='MarketDataSnapshotFullRefresh' msgtype='W' msgcat='app'>
   <field name='Symbol' required='Y'/>
   <group name='NoMDEntries' required='Y'>
    <field name='MDEntryType' required='Y'/><field name='MDEntryPx' required='N'/>
    <component name='Parties' required='N'/>
   </group>
  </message>
 </messages>
 <components>
  <component name='Parties'>
   <group name='NoPartyIDs' required='N'>
    <field name='PartyID' required='N'/><field name='PartyRole' required='N'/>
    <group name='NoPartySubIDs' required='N'><field name='PartySubID' required='N'/></group>
   </group>
  </component>
 </components>
 <fields>
  <field number='8' name='BeginString' type='STRING'/><field number='9' name='BodyLength' type='LENGTH'/>
  <field number='10' name='CheckSum' type='STRING'/><field number='11' name='ClOrdID' type='STRING'/>
  <field number='18' name='ExecInst' type='MULTIPLEVALUESTRING'><value enum='1'/><value enum='2'/></field>
  <field number='34' name='MsgSeqNum' type='SEQNUM'/><field number='35' name='MsgType' type='STRING'/>
  <field number='44' name='Price' type='PRICE'/><field number='49' name='SenderCompID' type='STRING'/>
  <field number='52' name='SendingTime' type='UTCTIMESTAMP'/>
  <field number='54' name='Side' type='CHAR'><value enum='1'/><value enum='2'/></field>
  <field number='55' name='Symbol' type='STRING'/><field number='56' name='TargetCompID' type='STRING'/>
  <field number='60' name='TransactTime' type='UTCTIMESTAMP'/><field number='112' name='TestReqID' type='STRING'/>
  <field number='268' name='NoMDEntries' type='NUMINGROUP'/>
  <field number='269' name='MDEntryType' type='CHAR'><value enum='0'/><value enum='1'/></field>
  <field number='270' name='MDEntryPx' type='PRICE'/><field number='448' name='PartyID' type='STRING'/>
  <field number='452' name='PartyRole' type='INT'/><field number='453' name='NoPartyIDs' type='NUMINGROUP'/>
  <field number='523' name='PartySubID' type='STRING'/><field number='627' name='NoHops' type='NUMINGROUP'/>
  <field number='628' name='HopCompID' type='STRING'/><field number='802' name='NoPartySubIDs' type='NUMINGROUP'/>
 </fields>
</fix>";

fn dictionary() -> &'static Arc<Dictionary> {
    static LOADED: OnceLock<Arc<Dictionary>> = OnceLock::new();
    LOADED.get_or_init(|| {
        Arc::new(Dictionary::parse(DICTIONARY, "fuzz.xml").unwrap_or_else(|e| panic!("{e}")))
    })
}

/// The first byte picks the mode. Even: the rest is a dictionary's text, loaded with
/// [`Dictionary::parse`], whose error must name a line of the text and say something. Odd:
/// the rest is one message (framed or not), parsed with [`Message::parse_for_validation`],
/// validated under the options the byte's other bits choose, and every repeating group of
/// it walked: validation must finish and give QuickFIX's reasons, and every entry be a piece
/// of the message, with no more entries than fields.
pub fn dictionary_input(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        load_text(rest);
        return;
    }
    let Ok(msg) = Message::parse_for_validation(rest) else {
        return;
    };
    let options = ValidationOptions {
        fields_out_of_order: mode & 2 != 0,
        fields_have_values: mode & 4 != 0,
        user_defined_fields: mode & 8 != 0,
        allow_unknown_msg_fields: mode & 16 != 0,
        unordered_group_fields: mode & 32 != 0,
    };
    let dictionaries = Dictionaries {
        session: Arc::clone(dictionary()),
        application: None,
        versions: Vec::new(),
    };
    let mut validator = Validator::new(dictionaries, options);
    let first = validator.validate(&msg);
    // The same message gives the same answer: no state leaks between messages.
    assert_eq!(validator.validate(&msg), first, "validation not repeatable");
    if let Err(rejection) = first {
        assert!(!rejection.kind.text().is_empty());
        assert!(rejection.kind.code() <= 16);
    }
    let fields = msg.fields().count();
    for counter in [268, 453, 627] {
        if let Some(group) = dictionary().group(&msg, counter) {
            walk(group, msg.as_bytes(), fields, 0);
        }
    }
}

fn walk(group: Group<'_, '_>, bytes: &[u8], fields: usize, depth: usize) {
    assert!(depth < 8, "groups nest deeper than the dictionary");
    let range = bytes.as_ptr_range();
    let mut count = 0;
    for entry in group.entries() {
        count += 1;
        assert!(count <= fields, "more entries than fields");
        let own = entry.as_bytes();
        assert!(
            range.contains(&own.as_ptr()) && own.len() <= bytes.len(),
            "an entry outside its message"
        );
        assert!(entry.fields().count() <= fields);
        if let Some(nested) = entry.group(802) {
            walk(nested, bytes, fields, depth + 1);
        }
        if let Some(nested) = entry.group(453) {
            walk(nested, bytes, fields, depth + 1);
        }
    }
}

fn load_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count();
    if let Err(error) = Dictionary::parse(&text, "fuzz.xml") {
        assert!(
            (error.line as usize) <= lines + 1,
            "error on line {} of {lines}: {error}",
            error.line
        );
        assert!(!error.to_string().is_empty());
    }
}
