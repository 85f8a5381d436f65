use core::fmt;

/// The identity of a FIX session: BeginString, the two CompIDs with their optional Sub and
/// Location IDs, and an optional qualifier.
///
/// Displayed as QuickFIX/J does, `FIX.4.4:SENDER->TARGET`, each CompID followed by
/// `/SUBID` and `/LOCATIONID` when set, and `:QUALIFIER` appended when set:
/// `FIX.4.4:SENDER/DESK->TARGET/FLOOR/NY:Q1`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId {
    /// BeginString (tag 8), e.g. `FIX.4.4` or `FIXT.1.1`.
    pub begin_string: String,
    /// Our CompID: SenderCompID (tag 49) on what we send.
    pub sender_comp_id: String,
    /// Our SenderSubID (tag 50) on what we send; empty when unused.
    pub sender_sub_id: String,
    /// Our SenderLocationID (tag 142) on what we send; empty when unused.
    pub sender_location_id: String,
    /// The peer's CompID: TargetCompID (tag 56) on what we send.
    pub target_comp_id: String,
    /// The peer's TargetSubID (tag 57) on what we send; empty when unused.
    pub target_sub_id: String,
    /// The peer's TargetLocationID (tag 143) on what we send; empty when unused.
    pub target_location_id: String,
    /// SessionQualifier, distinguishing sessions with the same CompIDs; empty when unused.
    pub qualifier: String,
}

/// The value of a template's identity field that matches any value.
const WILDCARD: &str = "*";

impl SessionId {
    /// A session identity without Sub or Location IDs or a qualifier.
    pub fn new(begin_string: &str, sender_comp_id: &str, target_comp_id: &str) -> Self {
        Self {
            begin_string: begin_string.to_owned(),
            sender_comp_id: sender_comp_id.to_owned(),
            target_comp_id: target_comp_id.to_owned(),
            ..Self::default()
        }
    }

    /// The same session seen from the other side (CompIDs, Sub and Location IDs swapped).
    pub fn reversed(&self) -> Self {
        Self {
            begin_string: self.begin_string.clone(),
            sender_comp_id: self.target_comp_id.clone(),
            sender_sub_id: self.target_sub_id.clone(),
            sender_location_id: self.target_location_id.clone(),
            target_comp_id: self.sender_comp_id.clone(),
            target_sub_id: self.sender_sub_id.clone(),
            target_location_id: self.sender_location_id.clone(),
            qualifier: self.qualifier.clone(),
        }
    }

    /// Whether this identity fits `template`'s (QuickFIX/J's AcceptorTemplate): each of its
    /// fields is `*`, which matches any value, or equal to this one's.
    pub fn fits(&self, template: &SessionId) -> bool {
        fn fields(id: &SessionId) -> [&str; 8] {
            [
                &id.begin_string,
                &id.sender_comp_id,
                &id.sender_sub_id,
                &id.sender_location_id,
                &id.target_comp_id,
                &id.target_sub_id,
                &id.target_location_id,
                &id.qualifier,
            ]
            .map(String::as_str)
        }
        fields(template)
            .iter()
            .zip(fields(self))
            .all(|(&pattern, value)| pattern == WILDCARD || pattern == value)
    }

    /// Whether any of the Sub and Location IDs is set.
    pub fn has_sub_or_location_ids(&self) -> bool {
        !(self.sender_sub_id.is_empty()
            && self.sender_location_id.is_empty()
            && self.target_sub_id.is_empty()
            && self.target_location_id.is_empty())
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = |f: &mut fmt::Formatter<'_>, value: &str| {
            if value.is_empty() {
                Ok(())
            } else {
                write!(f, "/{value}")
            }
        };
        write!(f, "{}:{}", self.begin_string, self.sender_comp_id)?;
        part(f, &self.sender_sub_id)?;
        part(f, &self.sender_location_id)?;
        write!(f, "->{}", self.target_comp_id)?;
        part(f, &self.target_sub_id)?;
        part(f, &self.target_location_id)?;
        if !self.qualifier.is_empty() {
            write!(f, ":{}", self.qualifier)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_quickfix() {
        let mut id = SessionId::new("FIX.4.4", "A", "B");
        assert_eq!(id.to_string(), "FIX.4.4:A->B");
        assert_eq!(id.reversed().to_string(), "FIX.4.4:B->A");
        id.qualifier = "Q1".into();
        assert_eq!(id.to_string(), "FIX.4.4:A->B:Q1");
    }

    #[test]
    fn sub_and_location_ids_display_and_reverse_like_quickfix_j() {
        let mut id = SessionId::new("FIX.4.2", "US", "THEM");
        assert!(!id.has_sub_or_location_ids());
        id.sender_sub_id = "DESK".into();
        id.target_sub_id = "FLOOR".into();
        id.target_location_id = "NY".into();
        assert!(id.has_sub_or_location_ids());
        assert_eq!(id.to_string(), "FIX.4.2:US/DESK->THEM/FLOOR/NY");
        let back = id.reversed();
        assert_eq!(back.to_string(), "FIX.4.2:THEM/FLOOR/NY->US/DESK");
        assert_eq!(back.reversed(), id);
        let mut other = id.clone();
        other.target_sub_id = "OTHER".into();
        assert_ne!(other, id, "a Sub ID is part of the identity");
    }

    #[test]
    fn fits_a_template_field_by_field_as_quickfix_j() {
        let template = SessionId::new("FIX.4.4", "US", "*");
        assert!(SessionId::new("FIX.4.4", "US", "ANYONE").fits(&template));
        assert!(!SessionId::new("FIX.4.2", "US", "ANYONE").fits(&template));
        assert!(!SessionId::new("FIX.4.4", "OTHER", "ANYONE").fits(&template));
        // A field the template leaves empty matches only an empty one.
        let mut desk = SessionId::new("FIX.4.4", "US", "ANYONE");
        desk.target_sub_id = "DESK".into();
        assert!(!desk.fits(&template));
        let mut any_desk = template.clone();
        any_desk.target_sub_id = "*".into();
        assert!(desk.fits(&any_desk));
        // `*` matches no value too.
        assert!(SessionId::new("FIX.4.4", "US", "X").fits(&any_desk));
        let everything = SessionId::new("*", "*", "*");
        assert!(SessionId::new("FIXT.1.1", "A", "B").fits(&everything));
    }
}
