//! Reading chmod modes, octal (`4755`) and symbolic (`u+s,o+w`), for the
//! permission bits the rules care about.

/// The bits a chmod mode sets or clears.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModeEffect {
    /// Sets write permission for others.
    pub world_writable: bool,
    /// Sets the sticky bit (as `1777` does for /tmp).
    pub sticky: bool,
    pub setuid: bool,
    pub setgid: bool,
    /// Removes the setuid or setgid bit (`a-s`, `u-s`, `g-s`).
    pub clears_setid: bool,
}

/// Reads a chmod mode; `None` when the word is not a mode.
pub fn parse_mode(mode: &str) -> Option<ModeEffect> {
    if !mode.is_empty() && mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return octal(mode);
    }
    let mut effect = ModeEffect::default();
    for clause in mode.split(',') {
        symbolic_clause(clause, &mut effect)?;
    }
    Some(effect)
}

fn octal(mode: &str) -> Option<ModeEffect> {
    let value = u32::from_str_radix(mode, 8)
        .ok()
        .filter(|&value| value <= 0o7777)?;
    Some(ModeEffect {
        world_writable: value & 0o002 != 0,
        sticky: value & 0o1000 != 0,
        setuid: value & 0o4000 != 0,
        setgid: value & 0o2000 != 0,
        clears_setid: false,
    })
}

/// Applies one `[ugoa]*([-+=][rwxXstugo]*)+` clause. Without a `who` part
/// the umask limits `w` (so `+w` is not world-writable with the usual 022),
/// but it never limits `s`.
fn symbolic_clause(clause: &str, effect: &mut ModeEffect) -> Option<()> {
    let who_end = clause
        .find(|ch: char| !"ugoa".contains(ch))
        .unwrap_or(clause.len());
    let who = &clause[..who_end];
    let mut rest = &clause[who_end..];
    if rest.is_empty() {
        return None;
    }
    let others = who.contains('o') || who.contains('a');
    let user = who.is_empty() || who.contains('u') || who.contains('a');
    let group = who.is_empty() || who.contains('g') || who.contains('a');
    while let Some(op) = rest.chars().next().filter(|ch| "+-=".contains(*ch)) {
        let perms_end = rest[1..]
            .find(|ch: char| "+-=".contains(ch))
            .map_or(rest.len(), |end| end + 1);
        let perms = &rest[1..perms_end];
        if !perms.chars().all(|ch| "rwxXstugo".contains(ch)) {
            return None;
        }
        if op == '-' {
            effect.clears_setid |= perms.contains('s') && (user || group);
        } else {
            effect.world_writable |= others && perms.contains('w');
            effect.sticky |= perms.contains('t');
            effect.setuid |= user && perms.contains('s');
            effect.setgid |= group && perms.contains('s');
        }
        rest = &rest[perms_end..];
    }
    rest.is_empty().then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_modes() {
        assert!(parse_mode("777").unwrap().world_writable);
        assert!(parse_mode("0666").unwrap().world_writable);
        assert!(!parse_mode("755").unwrap().world_writable);
        let sticky = parse_mode("1777").unwrap();
        assert!(sticky.world_writable);
        assert!(sticky.sticky);
        assert!(parse_mode("4755").unwrap().setuid);
        assert!(parse_mode("2755").unwrap().setgid);
        assert!(!parse_mode("0755").unwrap().setuid);
        assert_eq!(parse_mode("17777"), None);
    }

    #[test]
    fn symbolic_modes() {
        assert!(parse_mode("o+w").unwrap().world_writable);
        assert!(parse_mode("a+rwx").unwrap().world_writable);
        assert!(parse_mode("u+x,o+w").unwrap().world_writable);
        assert!(!parse_mode("+w").unwrap().world_writable);
        assert!(!parse_mode("g+w").unwrap().world_writable);
        assert!(parse_mode("u+s").unwrap().setuid);
        assert!(!parse_mode("u+s").unwrap().setgid);
        assert!(parse_mode("g+s").unwrap().setgid);
        assert!(parse_mode("+s").unwrap().setuid);
        assert!(parse_mode("a-s").unwrap().clears_setid);
        assert!(parse_mode("ug-s").unwrap().clears_setid);
        assert!(!parse_mode("a-s").unwrap().setuid);
    }

    #[test]
    fn non_modes_are_rejected() {
        assert_eq!(parse_mode("/usr/bin"), None);
        assert_eq!(parse_mode("-R"), None);
        assert_eq!(parse_mode("u"), None);
        assert_eq!(parse_mode("$MODE"), None);
    }
}
