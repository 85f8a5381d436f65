use core::fmt;

/// The identity of a FIX session: BeginString, the two CompIDs and an optional qualifier.
///
/// Displayed as QuickFIX does, `FIX.4.4:SENDER->TARGET` (with `:QUALIFIER` appended when set).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId {
    /// BeginString (tag 8), e.g. `FIX.4.4` or `FIXT.1.1`.
    pub begin_string: String,
    /// Our CompID: SenderCompID (tag 49) on what we send.
    pub sender_comp_id: String,
    /// The peer's CompID: TargetCompID (tag 56) on what we send.
    pub target_comp_id: String,
    /// SessionQualifier, distinguishing sessions with the same CompIDs; empty when unused.
    pub qualifier: String,
}

impl SessionId {
    /// A session identity without a qualifier.
    pub fn new(begin_string: &str, sender_comp_id: &str, target_comp_id: &str) -> Self {
        Self {
            begin_string: begin_string.to_owned(),
            sender_comp_id: sender_comp_id.to_owned(),
            target_comp_id: target_comp_id.to_owned(),
            qualifier: String::new(),
        }
    }

    /// The same session seen from the other side (CompIDs swapped).
    pub fn reversed(&self) -> Self {
        Self {
            begin_string: self.begin_string.clone(),
            sender_comp_id: self.target_comp_id.clone(),
            target_comp_id: self.sender_comp_id.clone(),
            qualifier: self.qualifier.clone(),
        }
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}->{}",
            self.begin_string, self.sender_comp_id, self.target_comp_id
        )?;
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
}
