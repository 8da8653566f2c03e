//! Decoding `security.capability` values (`struct vfs_cap_data`,
//! linux/capability.h): a little-endian magic word with the revision and
//! the effective flag, then permitted and inheritable masks, and in
//! revision 3 the root uid of the user namespace the file belongs to.

const REVISION_MASK: u32 = 0xff00_0000;
const REVISION_1: u32 = 0x0100_0000;
const REVISION_2: u32 = 0x0200_0000;
const REVISION_3: u32 = 0x0300_0000;
const FLAG_EFFECTIVE: u32 = 0x0000_0001;

/// Capability names by bit number, as in linux/capability.h.
const NAMES: [&str; 41] = [
    "cap_chown",
    "cap_dac_override",
    "cap_dac_read_search",
    "cap_fowner",
    "cap_fsetid",
    "cap_kill",
    "cap_setgid",
    "cap_setuid",
    "cap_setpcap",
    "cap_linux_immutable",
    "cap_net_bind_service",
    "cap_net_broadcast",
    "cap_net_admin",
    "cap_net_raw",
    "cap_ipc_lock",
    "cap_ipc_owner",
    "cap_sys_module",
    "cap_sys_rawio",
    "cap_sys_chroot",
    "cap_sys_ptrace",
    "cap_sys_pacct",
    "cap_sys_admin",
    "cap_sys_boot",
    "cap_sys_nice",
    "cap_sys_resource",
    "cap_sys_time",
    "cap_sys_tty_config",
    "cap_mknod",
    "cap_lease",
    "cap_audit_write",
    "cap_audit_control",
    "cap_setfcap",
    "cap_mac_override",
    "cap_mac_admin",
    "cap_syslog",
    "cap_wake_alarm",
    "cap_block_suspend",
    "cap_audit_read",
    "cap_perfmon",
    "cap_bpf",
    "cap_checkpoint_restore",
];

/// A decoded file capability set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capability {
    pub revision: u8,
    pub effective: bool,
    pub permitted: u64,
    pub inheritable: u64,
    /// Root uid of the owning user namespace (revision 3 only).
    pub root_id: Option<u32>,
}

impl Capability {
    /// Names of the permitted or inheritable capabilities, sorted by bit.
    pub fn names(&self) -> Vec<String> {
        (0..64)
            .filter(|bit| (self.permitted | self.inheritable) & (1u64 << bit) != 0)
            .map(|bit| {
                NAMES
                    .get(bit)
                    .map_or_else(|| format!("cap_{bit}"), |name| (*name).to_string())
            })
            .collect()
    }

    /// The `getcap` spelling, such as `cap_net_raw=ep`.
    pub fn describe(&self) -> String {
        let mut flags = String::new();
        if self.effective {
            flags.push('e');
        }
        let permitted: Vec<String> = self.names().into_iter().collect();
        let mut text = permitted.join(",");
        if self.inheritable != 0 {
            flags.push('i');
        }
        if self.permitted != 0 {
            flags.push('p');
        }
        text.push('=');
        text.push_str(&flags);
        if let Some(root_id) = self.root_id {
            text.push_str(&format!(" [rootid={root_id}]"));
        }
        text
    }
}

/// Decodes a `security.capability` value; `None` when it is malformed.
pub fn decode_capability(value: &[u8]) -> Option<Capability> {
    let word = |index: usize| -> Option<u32> {
        value
            .get(index * 4..index * 4 + 4)
            .map(|bytes| u32::from_le_bytes(bytes.try_into().expect("four bytes")))
    };
    let magic = word(0)?;
    let effective = magic & FLAG_EFFECTIVE != 0;
    let (revision, words, root_id) = match magic & REVISION_MASK {
        REVISION_1 if value.len() == 12 => (1, 1, None),
        REVISION_2 if value.len() == 20 => (2, 2, None),
        REVISION_3 if value.len() == 24 => (3, 2, Some(word(5)?)),
        _ => return None,
    };
    let mut permitted = 0u64;
    let mut inheritable = 0u64;
    for index in 0..words {
        permitted |= u64::from(word(1 + index * 2)?) << (32 * index);
        inheritable |= u64::from(word(2 + index * 2)?) << (32 * index);
    }
    Some(Capability {
        revision,
        effective,
        permitted,
        inheritable,
        root_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(magic: u32, words: &[u32]) -> Vec<u8> {
        std::iter::once(magic)
            .chain(words.iter().copied())
            .flat_map(u32::to_le_bytes)
            .collect()
    }

    #[test]
    fn revision2_net_raw_effective() {
        let value = encode(REVISION_2 | FLAG_EFFECTIVE, &[1 << 13, 0, 0, 0]);
        let capability = decode_capability(&value).unwrap();
        assert_eq!(capability.names(), ["cap_net_raw"]);
        assert_eq!(capability.describe(), "cap_net_raw=ep");
    }

    #[test]
    fn revision3_shows_root_id() {
        let value = encode(
            REVISION_3 | FLAG_EFFECTIVE,
            &[(1 << 10) | (1 << 12), 0, 0, 0, 100000],
        );
        let capability = decode_capability(&value).unwrap();
        assert_eq!(capability.root_id, Some(100000));
        assert_eq!(
            capability.describe(),
            "cap_net_bind_service,cap_net_admin=ep [rootid=100000]"
        );
    }

    #[test]
    fn high_capability_bits() {
        let value = encode(REVISION_2, &[0, 0, 1 << 7, 0]);
        assert_eq!(decode_capability(&value).unwrap().names(), ["cap_bpf"]);
    }

    #[test]
    fn value_with_newline_byte() {
        // cap_dac_override (bit 1) and cap_fowner (bit 3) make the low byte 0x0a, a newline.
        let value = encode(REVISION_2 | FLAG_EFFECTIVE, &[0x0a, 0, 0, 0]);
        assert_eq!(
            decode_capability(&value).unwrap().names(),
            ["cap_dac_override", "cap_fowner"]
        );
    }

    #[test]
    fn malformed_is_none() {
        assert!(decode_capability(&[1, 2, 3]).is_none());
        assert!(decode_capability(&encode(REVISION_2, &[0, 0])).is_none());
    }
}
