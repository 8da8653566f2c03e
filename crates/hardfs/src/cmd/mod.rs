//! One module per subcommand.

pub mod audit;
pub mod harden;
pub mod learn;
pub mod lint;
pub mod profile;
pub mod rules;
pub mod verify;

use std::fmt;

/// A `hint:` line attached to an error as its outermost context: the next
/// step for the user. Attach it last, with `.context(Hint(...))`.
#[derive(Debug)]
pub struct Hint(pub String);

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Hint {}
