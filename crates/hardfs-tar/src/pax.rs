//! PAX extended header records (`LEN KEY=VALUE\n`), read by their length so
//! that values may contain any byte, newline and NUL included.

use base64::Engine;

use crate::TarError;

/// The PAX keys hardfs uses, gathered from one extended header (or from the
/// global headers before it).
#[derive(Clone, Debug, Default)]
pub(crate) struct PaxFields {
    pub path: Option<Vec<u8>>,
    pub linkpath: Option<Vec<u8>>,
    pub size: Option<u64>,
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    pub mtime: Option<i64>,
    /// Extended attributes in record order; a later record for the same key wins.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl PaxFields {
    /// Fills unset fields from `global`, the merged global (`g`) headers.
    pub fn inherit(&mut self, global: &PaxFields) {
        self.path = self.path.take().or_else(|| global.path.clone());
        self.linkpath = self.linkpath.take().or_else(|| global.linkpath.clone());
        self.size = self.size.or(global.size);
        self.uid = self.uid.or(global.uid);
        self.gid = self.gid.or(global.gid);
        self.mtime = self.mtime.or(global.mtime);
        for (key, value) in &global.xattrs {
            if !self.xattrs.iter().any(|(own, _)| own == key) {
                self.xattrs.push((key.clone(), value.clone()));
            }
        }
    }

    fn set_xattr(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.xattrs.retain(|(own, _)| *own != key);
        self.xattrs.push((key, value));
    }
}

/// Parses the body of a PAX extended header.
pub(crate) fn parse(body: &[u8], offset: u64) -> Result<PaxFields, TarError> {
    let mut fields = PaxFields::default();
    let mut rest = body;
    while !rest.is_empty() {
        // Some writers pad the body with NULs after the last record.
        if rest.iter().all(|&b| b == 0) {
            break;
        }
        let (key, value, tail) = next_record(rest, offset)?;
        apply(&mut fields, key, value, offset)?;
        rest = tail;
    }
    Ok(fields)
}

/// One record's key and value, and the input after it.
pub(crate) type Record<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// Splits one `LEN KEY=VALUE\n` record off the front of `input`.
pub(crate) fn next_record(input: &[u8], offset: u64) -> Result<Record<'_>, TarError> {
    let error = |reason: &str| TarError::Pax {
        offset,
        reason: reason.to_string(),
    };
    let space = input
        .iter()
        .take(21)
        .position(|&b| b == b' ')
        .ok_or_else(|| error("record has no length"))?;
    let length: usize = std::str::from_utf8(&input[..space])
        .ok()
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse().ok())
        .ok_or_else(|| error("record length is not a decimal number"))?;
    if length <= space + 1 || length > input.len() {
        return Err(error("record length runs past the header"));
    }
    let record = &input[space + 1..length];
    let Some((&b'\n', key_value)) = record.split_last() else {
        return Err(error("record does not end with a newline"));
    };
    let equals = key_value
        .iter()
        .position(|&b| b == b'=')
        .ok_or_else(|| error("record has no `=`"))?;
    Ok((
        &key_value[..equals],
        &key_value[equals + 1..],
        &input[length..],
    ))
}

fn apply(fields: &mut PaxFields, key: &[u8], value: &[u8], offset: u64) -> Result<(), TarError> {
    let number = |name: &str| -> Result<u64, TarError> {
        std::str::from_utf8(value)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| TarError::Pax {
                offset,
                reason: format!(
                    "`{name}` is not a decimal number: {:?}",
                    String::from_utf8_lossy(value)
                ),
            })
    };
    match key {
        b"path" => fields.path = Some(value.to_vec()),
        b"linkpath" => fields.linkpath = Some(value.to_vec()),
        b"size" => fields.size = Some(number("size")?),
        b"uid" => fields.uid = Some(number("uid")?),
        b"gid" => fields.gid = Some(number("gid")?),
        b"mtime" => fields.mtime = Some(parse_time(value, offset)?),
        _ => {
            if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
                fields.set_xattr(name.to_vec(), value.to_vec());
            } else if let Some(name) = key.strip_prefix(b"LIBARCHIVE.xattr.") {
                let (name, value) = decode_libarchive_xattr(name, value, offset)?;
                fields.set_xattr(name, value);
            } else if key.starts_with(b"GNU.sparse.") {
                return Err(TarError::Pax {
                    offset,
                    reason: "GNU sparse files are not supported".into(),
                });
            }
            // Other keys (atime, ctime, uname, gname, hdrcharset, comment…)
            // do not change what a runtime extracts.
        }
    }
    Ok(())
}

/// Parses a PAX time (`seconds[.fraction]`, possibly negative) to whole seconds.
fn parse_time(value: &[u8], offset: u64) -> Result<i64, TarError> {
    let text = std::str::from_utf8(value).unwrap_or("");
    let whole = text.split('.').next().unwrap_or("");
    whole.parse::<i64>().map_err(|_| TarError::Pax {
        offset,
        reason: format!(
            "`mtime` is not a time: {:?}",
            String::from_utf8_lossy(value)
        ),
    })
}

/// libarchive stores the xattr name URL-encoded and the value in base64.
fn decode_libarchive_xattr(
    name: &[u8],
    value: &[u8],
    offset: u64,
) -> Result<(Vec<u8>, Vec<u8>), TarError> {
    let invalid = |what: &str| TarError::Pax {
        offset,
        reason: format!("invalid LIBARCHIVE.xattr {what}"),
    };
    let mut decoded_name = Vec::with_capacity(name.len());
    let mut index = 0;
    while index < name.len() {
        if name[index] == b'%' {
            let hex = name
                .get(index + 1..index + 3)
                .ok_or_else(|| invalid("name"))?;
            let hex = std::str::from_utf8(hex).map_err(|_| invalid("name"))?;
            decoded_name.push(u8::from_str_radix(hex, 16).map_err(|_| invalid("name"))?);
            index += 3;
        } else {
            decoded_name.push(name[index]);
            index += 1;
        }
    }
    let decoded_value = base64::engine::general_purpose::STANDARD
        .decode(value)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(value))
        .map_err(|_| invalid("value"))?;
    Ok((decoded_name, decoded_value))
}

/// Encodes one record, computing the self-inclusive length prefix.
pub(crate) fn encode_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let body = key.len() + value.len() + 3; // space, `=`, newline
    let mut length = body + 1;
    while length != body + length.to_string().len() {
        length = body + length.to_string().len();
    }
    out.extend_from_slice(length.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_xattr_with_newline_survives() {
        let value = [0x01, 0x00, 0x00, 0x02, 0x0a, 0x20, 0x00, 0x00, b'\n', 0];
        let mut body = Vec::new();
        encode_record(&mut body, b"SCHILY.xattr.security.capability", &value);
        encode_record(&mut body, b"path", b"usr/bin/ping");
        let fields = parse(&body, 0).unwrap();
        assert_eq!(fields.path.as_deref(), Some(&b"usr/bin/ping"[..]));
        assert_eq!(
            fields.xattrs,
            vec![(b"security.capability".to_vec(), value.to_vec())]
        );
    }

    #[test]
    fn record_length_counts_its_own_digits() {
        let mut body = Vec::new();
        encode_record(&mut body, b"path", &[b'a'; 91]);
        assert_eq!(body.len(), 101);
        assert!(body.starts_with(b"101 path="));
    }

    #[test]
    fn length_past_end_is_error() {
        assert!(matches!(
            parse(b"99 path=a\n", 5),
            Err(TarError::Pax { offset: 5, .. })
        ));
    }

    #[test]
    fn libarchive_xattr_is_decoded() {
        let mut body = Vec::new();
        encode_record(&mut body, b"LIBARCHIVE.xattr.user.a%3Db", b"AQID");
        let fields = parse(&body, 0).unwrap();
        assert_eq!(fields.xattrs, vec![(b"user.a=b".to_vec(), vec![1, 2, 3])]);
    }

    #[test]
    fn fractional_and_negative_mtime() {
        let mut body = Vec::new();
        encode_record(&mut body, b"mtime", b"-12.75");
        assert_eq!(parse(&body, 0).unwrap().mtime, Some(-12));
    }
}
