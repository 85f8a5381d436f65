//! Reading QuickFIX's XML dictionary format.

use core::fmt;
use std::collections::HashMap;

use roxmltree::{Document, Node, NodeId};

use super::validate::{Place, STANDARD_HEADER, STANDARD_TRAILER};
use super::value::FieldType;
use super::{
    Dictionary, FieldDef, FieldIdx, GroupDef, HEADER, Layout, LayoutId, MessageDef, TRAILER, Values,
};
use crate::codec::Tag;

/// Components nested deeper than this are taken for a cycle.
const MAX_DEPTH: usize = 64;

/// Why a data dictionary did not load: the file, the line and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DictionaryError {
    /// The file, as named in the settings.
    pub file: String,
    /// The line of the file at fault; 0 when the file could not be read.
    pub line: u32,
    /// What is wrong.
    pub kind: DictionaryErrorKind,
}

/// What is wrong with a data dictionary.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DictionaryErrorKind {
    /// The file could not be read.
    Unreadable {
        /// The operating system's reason.
        reason: String,
    },
    /// The text is not well-formed XML.
    Xml {
        /// The XML parser's reason.
        reason: String,
    },
    /// The root element is not `<fix>` with `major` and `minor`.
    NotADictionary,
    /// An element lacks an attribute it needs.
    MissingAttribute {
        /// The element, e.g. `field`.
        element: String,
        /// The attribute, e.g. `number`.
        attribute: &'static str,
    },
    /// A field's `number` is not a positive integer.
    BadTagNumber {
        /// The value given.
        value: String,
    },
    /// Two fields share a number or a name.
    DuplicateField {
        /// The name or number given twice.
        field: String,
    },
    /// A message, component or group names a field `<fields>` does not define.
    UnknownField {
        /// The name used.
        name: String,
    },
    /// A message or component names a component `<components>` does not define.
    UnknownComponent {
        /// The name used.
        name: String,
    },
    /// Components include each other without end.
    ComponentCycle {
        /// The component where the nesting went too deep.
        name: String,
    },
    /// A group has no field to start its entries with.
    EmptyGroup {
        /// The group's name.
        name: String,
    },
}

impl fmt::Display for DictionaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        match &self.kind {
            DictionaryErrorKind::Unreadable { reason } => write!(f, "cannot read: {reason}"),
            DictionaryErrorKind::Xml { reason } => write!(f, "not well-formed XML: {reason}"),
            DictionaryErrorKind::NotADictionary => f.write_str(
                "not a QuickFIX data dictionary (root element <fix> with major and minor)",
            ),
            DictionaryErrorKind::MissingAttribute { element, attribute } => {
                write!(f, "<{element}> without the attribute {attribute}")
            }
            DictionaryErrorKind::BadTagNumber { value } => {
                write!(f, "field number {value:?} is not a positive integer")
            }
            DictionaryErrorKind::DuplicateField { field } => {
                write!(f, "field {field} is defined twice")
            }
            DictionaryErrorKind::UnknownField { name } => {
                write!(f, "field {name} is not defined in <fields>")
            }
            DictionaryErrorKind::UnknownComponent { name } => {
                write!(f, "component {name} is not defined in <components>")
            }
            DictionaryErrorKind::ComponentCycle { name } => {
                write!(f, "component {name} includes itself")
            }
            DictionaryErrorKind::EmptyGroup { name } => write!(f, "group {name} has no fields"),
        }
    }
}

impl std::error::Error for DictionaryError {}

pub(super) fn load(path: &std::path::Path) -> Result<Dictionary, DictionaryError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| DictionaryError {
        file: file.clone(),
        line: 0,
        kind: DictionaryErrorKind::Unreadable {
            reason: e.to_string(),
        },
    })?;
    parse(&text, &file)
}

pub(super) fn parse(text: &str, file: &str) -> Result<Dictionary, DictionaryError> {
    let doc = Document::parse(text).map_err(|e| DictionaryError {
        file: file.to_owned(),
        line: e.pos().row,
        kind: DictionaryErrorKind::Xml {
            reason: e.to_string(),
        },
    })?;
    let mut loader = Loader {
        doc: &doc,
        file,
        by_name: HashMap::new(),
        components: HashMap::new(),
        groups: HashMap::new(),
        fields: Vec::new(),
        layouts: Vec::new(),
    };
    loader.run()
}

struct Loader<'d, 'input> {
    doc: &'d Document<'input>,
    file: &'d str,
    by_name: HashMap<&'d str, FieldIdx>,
    components: HashMap<&'d str, Node<'d, 'input>>,
    /// Group layouts by their XML element: a component's groups are built once.
    groups: HashMap<NodeId, GroupDef>,
    fields: Vec<FieldDef>,
    layouts: Vec<Layout>,
}

impl<'d, 'input> Loader<'d, 'input> {
    fn run(&mut self) -> Result<Dictionary, DictionaryError> {
        let root = self.doc.root_element();
        if root.tag_name().name() != "fix" {
            return Err(self.error(root, DictionaryErrorKind::NotADictionary));
        }
        let version = self.version(root)?;
        let section = |name: &str| elements(root).find(|n| n.tag_name().name() == name);
        if let Some(fields) = section("fields") {
            self.read_fields(fields)?;
        }
        if let Some(components) = section("components") {
            for component in elements(components) {
                let name = self.attribute(component, "name")?;
                self.components.insert(name, component);
            }
        }
        let mut by_tag = Vec::new();
        for (idx, field) in self.fields.iter().enumerate() {
            let slot = field.tag as usize;
            if by_tag.len() <= slot {
                by_tag.resize(slot + 1, 0);
            }
            // At most u16::MAX fields were read.
            by_tag[slot] = FieldIdx::try_from(idx + 1).unwrap_or(FieldIdx::MAX);
        }
        // The header and the trailer come first, before the layouts of their groups.
        self.new_layout();
        self.new_layout();
        for (layout, name) in [(HEADER, "header"), (TRAILER, "trailer")] {
            if let Some(node) = section(name) {
                self.fill(layout, node, true, 0)?;
            }
        }
        let mut messages = Vec::new();
        if let Some(section) = section("messages") {
            for message in elements(section) {
                let msg_type = self.attribute(message, "msgtype")?;
                let name = self.attribute(message, "name")?;
                let layout = self.new_layout();
                self.fill(layout, message, true, 0)?;
                messages.push(MessageDef {
                    msg_type: msg_type.as_bytes().into(),
                    name: name.to_owned(),
                    layout,
                });
            }
        }
        messages.sort_by(|a, b| a.msg_type.cmp(&b.msg_type));
        let mut fields = std::mem::take(&mut self.fields);
        for (layout, place) in [(HEADER, Place::Header), (TRAILER, Place::Trailer)] {
            for &idx in &self.layouts[layout as usize].order {
                fields[usize::from(idx)].place = place;
            }
        }
        for layout in &mut self.layouts {
            layout
                .required
                .sort_by_key(|&idx| fields[usize::from(idx)].tag);
            layout.required.dedup();
        }
        let mut by_char = [0; 128];
        for message in &messages {
            if let [b] = *message.msg_type
                && let Some(slot) = by_char.get_mut(usize::from(b))
            {
                *slot = message.layout + 1;
            }
        }
        Ok(Dictionary {
            version,
            fields,
            by_tag,
            layouts: std::mem::take(&mut self.layouts),
            messages,
            by_char,
        })
    }

    /// `FIX.4.4`, `FIXT.1.1`, `FIX.5.0SP2` from the root's attributes.
    fn version(&self, root: Node<'_, '_>) -> Result<String, DictionaryError> {
        let kind = root.attribute("type").unwrap_or("FIX");
        let (Some(major), Some(minor)) = (root.attribute("major"), root.attribute("minor")) else {
            return Err(self.error(root, DictionaryErrorKind::NotADictionary));
        };
        let mut version = format!("{kind}.{major}.{minor}");
        match root.attribute("servicepack") {
            Some(sp) if sp != "0" && !sp.is_empty() => version.push_str(&format!("SP{sp}")),
            _ => {}
        }
        Ok(version)
    }

    fn read_fields(&mut self, section: Node<'d, 'input>) -> Result<(), DictionaryError> {
        let mut numbers = HashMap::new();
        for field in elements(section) {
            let number = self.attribute(field, "number")?;
            let name = self.attribute(field, "name")?;
            let kind = FieldType::from_name(self.attribute(field, "type")?);
            let tag = number
                .parse::<Tag>()
                .ok()
                .filter(|&tag| tag > 0)
                .ok_or_else(|| {
                    self.error(
                        field,
                        DictionaryErrorKind::BadTagNumber {
                            value: number.to_owned(),
                        },
                    )
                })?;
            let duplicate =
                |field_name: String| DictionaryErrorKind::DuplicateField { field: field_name };
            if numbers.insert(tag, ()).is_some() {
                return Err(self.error(field, duplicate(number.to_owned())));
            }
            let idx = FieldIdx::try_from(self.fields.len())
                .map_err(|_| self.error(field, duplicate(name.to_owned())))?;
            if self.by_name.insert(name, idx).is_some() {
                return Err(self.error(field, duplicate(name.to_owned())));
            }
            let mut values: Vec<Box<[u8]>> = Vec::new();
            for value in elements(field).filter(|n| n.tag_name().name() == "value") {
                values.push(self.attribute(value, "enum")?.as_bytes().into());
            }
            let place = if STANDARD_HEADER.contains(&tag) {
                Place::Header
            } else if STANDARD_TRAILER.contains(&tag) {
                Place::Trailer
            } else {
                Place::Body
            };
            self.fields.push(FieldDef {
                tag,
                name: name.to_owned(),
                kind,
                enumerated: !values.is_empty(),
                values: Values::new(values),
                place,
                counter: false,
            });
        }
        Ok(())
    }

    fn new_layout(&mut self) -> LayoutId {
        self.layouts.push(Layout::new(self.fields.len()));
        LayoutId::try_from(self.layouts.len() - 1).unwrap_or(LayoutId::MAX)
    }

    /// Adds the fields, groups and components under `node` to `layout`; `required` is false
    /// inside a component that is itself optional.
    fn fill(
        &mut self,
        layout: LayoutId,
        node: Node<'d, 'input>,
        required: bool,
        depth: usize,
    ) -> Result<(), DictionaryError> {
        for child in elements(node) {
            let name = self.attribute(child, "name")?;
            let is_required = required && child.attribute("required") == Some("Y");
            match child.tag_name().name() {
                "field" => {
                    let idx = self.field_named(child, name)?;
                    self.add(layout, idx, is_required);
                }
                "group" => {
                    let idx = self.field_named(child, name)?;
                    self.add(layout, idx, is_required);
                    let group = self.group(child, idx, depth)?;
                    self.layout_mut(layout).groups.push(group);
                }
                "component" => {
                    let Some(&component) = self.components.get(name) else {
                        return Err(self.error(
                            child,
                            DictionaryErrorKind::UnknownComponent {
                                name: name.to_owned(),
                            },
                        ));
                    };
                    if depth >= MAX_DEPTH {
                        return Err(self.error(
                            child,
                            DictionaryErrorKind::ComponentCycle {
                                name: name.to_owned(),
                            },
                        ));
                    }
                    self.fill(layout, component, is_required, depth + 1)?;
                }
                // QuickFIX ignores what it does not know (e.g. `<value>` of a field).
                _ => {}
            }
        }
        Ok(())
    }

    /// The layout of the entries of the group `node`, whose NumInGroup field is `counter`.
    fn group(
        &mut self,
        node: Node<'d, 'input>,
        counter: FieldIdx,
        depth: usize,
    ) -> Result<GroupDef, DictionaryError> {
        if let Some(group) = self.groups.get(&node.id()) {
            return Ok(*group);
        }
        if depth >= MAX_DEPTH {
            let name = self.attribute(node, "name")?.to_owned();
            return Err(self.error(node, DictionaryErrorKind::ComponentCycle { name }));
        }
        let layout = self.new_layout();
        self.fill(layout, node, true, depth + 1)?;
        let Some(&first) = self.layout_mut(layout).order.first() else {
            let name = self.attribute(node, "name")?.to_owned();
            return Err(self.error(node, DictionaryErrorKind::EmptyGroup { name }));
        };
        self.fields[usize::from(counter)].counter = true;
        let group = GroupDef {
            counter: self.fields[usize::from(counter)].tag,
            delimiter: self.fields[usize::from(first)].tag,
            layout,
        };
        self.groups.insert(node.id(), group);
        Ok(group)
    }

    fn add(&mut self, layout: LayoutId, idx: FieldIdx, required: bool) {
        let layout = self.layout_mut(layout);
        let bit = usize::from(idx);
        if let Some(word) = layout.members.get_mut(bit / 64) {
            *word |= 1 << (bit % 64);
        }
        layout.order.push(idx);
        if required {
            layout.required.push(idx);
        }
    }

    fn layout_mut(&mut self, id: LayoutId) -> &mut Layout {
        &mut self.layouts[id as usize]
    }

    fn field_named(&self, node: Node<'_, '_>, name: &str) -> Result<FieldIdx, DictionaryError> {
        self.by_name.get(name).copied().ok_or_else(|| {
            self.error(
                node,
                DictionaryErrorKind::UnknownField {
                    name: name.to_owned(),
                },
            )
        })
    }

    fn attribute(
        &self,
        node: Node<'d, 'input>,
        name: &'static str,
    ) -> Result<&'d str, DictionaryError> {
        node.attribute(name).ok_or_else(|| {
            self.error(
                node,
                DictionaryErrorKind::MissingAttribute {
                    element: node.tag_name().name().to_owned(),
                    attribute: name,
                },
            )
        })
    }

    fn error(&self, node: Node<'_, '_>, kind: DictionaryErrorKind) -> DictionaryError {
        DictionaryError {
            file: self.file.to_owned(),
            line: self.doc.text_pos_at(node.range().start).row,
            kind,
        }
    }
}

/// The element children of `node`.
fn elements<'d, 'input>(node: Node<'d, 'input>) -> impl Iterator<Item = Node<'d, 'input>> {
    node.children().filter(Node::is_element)
}
