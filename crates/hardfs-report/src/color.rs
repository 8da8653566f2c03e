//! Whether text output is coloured, from `--color`, the terminal and the
//! `NO_COLOR` and `TERM` environment variables.

use std::ffi::OsStr;
use std::fmt;
use std::str::FromStr;

/// The `--color` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour when writing to a terminal, unless `NO_COLOR` is set or
    /// `TERM` is `dumb`.
    #[default]
    Auto,
    Always,
    Never,
}

impl FromStr for ColorChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(ColorChoice::Auto),
            "always" => Ok(ColorChoice::Always),
            "never" => Ok(ColorChoice::Never),
            _ => Err(format!(
                "invalid color `{text}`: expected one of auto, always, never"
            )),
        }
    }
}

impl fmt::Display for ColorChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ColorChoice::Auto => "auto",
            ColorChoice::Always => "always",
            ColorChoice::Never => "never",
        };
        f.pad(name)
    }
}

/// Decides whether to colour output. `is_terminal` is whether the output
/// goes to a terminal; `no_color` and `term` are the values of `NO_COLOR`
/// and `TERM`. Following no-color.org, a `NO_COLOR` that is present and not
/// empty turns colour off, but an explicit `--color always` still wins.
pub fn use_color(
    choice: ColorChoice,
    is_terminal: bool,
    no_color: Option<&OsStr>,
    term: Option<&OsStr>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color_set = no_color.is_some_and(|value| !value.is_empty());
            let dumb_terminal = term.is_some_and(|value| value == "dumb");
            is_terminal && !no_color_set && !dumb_terminal
        }
    }
}

/// [`use_color`] with the process environment.
pub fn use_color_from_env(choice: ColorChoice, is_terminal: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR");
    let term = std::env::var_os("TERM");
    use_color(choice, is_terminal, no_color.as_deref(), term.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(text: &str) -> Option<&OsStr> {
        Some(OsStr::new(text))
    }

    #[test]
    fn auto_colors_only_terminals() {
        assert!(use_color(ColorChoice::Auto, true, None, os("xterm")));
        assert!(!use_color(ColorChoice::Auto, false, None, os("xterm")));
    }

    #[test]
    fn auto_respects_no_color_and_dumb_term() {
        assert!(!use_color(ColorChoice::Auto, true, os("1"), None));
        assert!(!use_color(ColorChoice::Auto, true, None, os("dumb")));
        // An empty NO_COLOR does not count as set.
        assert!(use_color(ColorChoice::Auto, true, os(""), None));
    }

    #[test]
    fn always_and_never_override_everything() {
        assert!(use_color(ColorChoice::Always, false, os("1"), os("dumb")));
        assert!(!use_color(ColorChoice::Never, true, None, os("xterm")));
    }

    #[test]
    fn choice_parses_and_prints() {
        for choice in [ColorChoice::Auto, ColorChoice::Always, ColorChoice::Never] {
            assert_eq!(choice.to_string().parse(), Ok(choice));
        }
        assert!("yes".parse::<ColorChoice>().is_err());
    }
}
