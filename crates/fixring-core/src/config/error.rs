//! Placeholder until the settings parser lands.

/// A configuration error.
#[derive(Debug)]
pub struct ConfigError;
/// The kind of a configuration error.
#[derive(Debug)]
pub enum ConfigErrorKind {}
/// Every error of one settings file.
#[derive(Debug)]
pub struct ConfigErrors;
/// A key that was not recognised.
#[derive(Clone, Debug)]
pub struct ConfigWarning;
