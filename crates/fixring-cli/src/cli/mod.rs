//! One module per subcommand of the `fixring` binary.

pub(crate) mod bench;
pub(crate) mod check_config;
pub(crate) mod run;
mod session_rules;
pub(crate) mod signals;
