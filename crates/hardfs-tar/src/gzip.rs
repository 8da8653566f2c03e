//! A gzip reader for layer blobs. Each member's header is parsed here, and
//! the body is inflated by ISA-L when hardfs was built with it (see
//! build.rs). ISA-L also checks the trailer's CRC-32 and ISIZE, at about 1 %
//! of an audit's CPU time.
//!
//! With zlib-rs the CRC-32 is skipped, because perf put it at about a tenth
//! of an audit's CPU time on a 800 MB image and callers check a sha256
//! digest of the output, which detects every change the CRC would. ISIZE is
//! still checked, which catches truncation at a member boundary.

use std::io::{self, BufRead, Read};

use flate2::bufread::DeflateDecoder;

const FLAG_HEADER_CRC: u8 = 0x02;
const FLAG_EXTRA: u8 = 0x04;
const FLAG_NAME: u8 = 0x08;
const FLAG_COMMENT: u8 = 0x10;

/// The deflate implementation a [`GzipMembers`] reader uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inflate {
    /// zlib-rs through flate2; the CRC-32 is not checked.
    ZlibRs,
    /// ISA-L; the CRC-32 is checked.
    #[cfg(hardfs_isal)]
    Isal,
}

impl Inflate {
    /// Every implementation this build has, the fastest last.
    pub const ALL: &'static [Inflate] = &[
        Inflate::ZlibRs,
        #[cfg(hardfs_isal)]
        Inflate::Isal,
    ];

    /// Returns the fastest implementation this build has.
    pub fn fastest() -> Inflate {
        *Inflate::ALL.last().expect("at least zlib-rs")
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Inflate::ZlibRs => "zlib-rs",
            #[cfg(hardfs_isal)]
            Inflate::Isal => "ISA-L",
        }
    }

    /// Returns whether a reader using it checks each member's CRC-32.
    pub fn checks_crc(self) -> bool {
        self != Inflate::ZlibRs
    }
}

/// Decompresses every member of a gzip stream (RFC 1952) in turn, as one
/// output stream. A stream must start with a member; after the last member
/// it must end.
pub struct GzipMembers<R: BufRead> {
    state: State<R>,
    /// Output bytes of the current member, modulo 2^32 as ISIZE stores them.
    member_size: u32,
    /// Members started so far.
    members: u64,
    inflate: Inflate,
    /// The ISA-L state, kept between members.
    #[cfg(hardfs_isal)]
    inflater: Option<crate::isal::Inflater>,
}

enum State<R> {
    /// Before a member header, at the start or after a trailer.
    Between(R),
    Inflating(DeflateDecoder<R>),
    #[cfg(hardfs_isal)]
    InflatingIsal(crate::isal::Member<R>),
    Done,
    /// A placeholder while the state changes, seen only after a panic.
    Empty,
}

impl<R: BufRead> GzipMembers<R> {
    /// Creates a reader that uses the fastest implementation this build has.
    pub fn new(inner: R) -> Self {
        GzipMembers::with_inflate(inner, Inflate::fastest())
    }

    pub fn with_inflate(inner: R, inflate: Inflate) -> Self {
        GzipMembers {
            state: State::Between(inner),
            member_size: 0,
            members: 0,
            inflate,
            #[cfg(hardfs_isal)]
            inflater: None,
        }
    }

    /// Starts inflating a member body; the header has been read.
    fn start_member(&mut self, inner: R) -> io::Result<State<R>> {
        match self.inflate {
            Inflate::ZlibRs => Ok(State::Inflating(DeflateDecoder::new(inner))),
            #[cfg(hardfs_isal)]
            Inflate::Isal => {
                let inflater = match self.inflater.take() {
                    Some(inflater) => inflater,
                    None => crate::isal::Inflater::new()?,
                };
                Ok(State::InflatingIsal(crate::isal::Member::new(
                    inner, inflater,
                )))
            }
        }
    }
}

impl<R: BufRead> Read for GzipMembers<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if buffer.is_empty() {
            return Ok(0);
        }
        loop {
            match std::mem::replace(&mut self.state, State::Empty) {
                State::Between(mut inner) => {
                    if inner.fill_buf()?.is_empty() {
                        if self.members == 0 {
                            return Err(invalid("empty gzip stream"));
                        }
                        self.state = State::Done;
                        return Ok(0);
                    }
                    read_header(&mut inner, self.members)?;
                    self.members += 1;
                    self.member_size = 0;
                    self.state = self.start_member(inner)?;
                }
                #[cfg(hardfs_isal)]
                State::InflatingIsal(mut member) => {
                    let count = member.read(buffer).map_err(truncated_member)?;
                    if count > 0 {
                        self.state = State::InflatingIsal(member);
                        return Ok(count);
                    }
                    let (inner, inflater) = member.into_parts();
                    self.inflater = Some(inflater);
                    self.state = State::Between(inner);
                }
                State::Inflating(mut decoder) => {
                    let count = decoder.read(buffer).map_err(truncated_member)?;
                    if count > 0 {
                        self.member_size = self.member_size.wrapping_add(count as u32);
                        self.state = State::Inflating(decoder);
                        return Ok(count);
                    }
                    let mut inner = decoder.into_inner();
                    let mut trailer = [0; 8];
                    inner.read_exact(&mut trailer).map_err(truncated_member)?;
                    let stored = u32::from_le_bytes(trailer[4..].try_into().expect("4 bytes"));
                    if stored != self.member_size {
                        return Err(invalid(
                            "gzip member size does not match its trailer (ISIZE)",
                        ));
                    }
                    self.state = State::Between(inner);
                }
                State::Done => {
                    self.state = State::Done;
                    return Ok(0);
                }
                State::Empty => return Err(io::Error::other("gzip reader used after a panic")),
            }
        }
    }
}

/// Maximum length of a file name or comment, without its NUL, that Go's
/// gzip reader accepts, although RFC 1952 sets no limit. podman 4.3 loads a
/// layer with a 511-byte name and rejects one with 512 ("gzip: invalid
/// header"); docker uses the same reader.
const MAX_HEADER_TEXT: usize = 511;

/// Reads one member header, leaving `inner` at the deflate data. `members`
/// counts the members before it, for the message about trailing data.
///
/// Reserved flag bits are ignored, as Go's gzip reader does. RFC 1952
/// requires an error, but podman 4.3 loads such a layer.
fn read_header(inner: &mut impl BufRead, members: u64) -> io::Result<()> {
    let mut fixed = [0; 10];
    let count = read_up_to(inner, &mut fixed)?;
    if count >= 2 && fixed[..2] != [0x1f, 0x8b] || count == 1 && fixed[0] != 0x1f {
        return Err(if members == 0 {
            invalid("invalid gzip header: the magic bytes 1f 8b are missing")
        } else {
            invalid(&format!(
                "invalid gzip stream: the bytes after member {members} are not a gzip member \
                 (trailing data)"
            ))
        });
    }
    if count < fixed.len() {
        return Err(truncated_header(io::ErrorKind::UnexpectedEof.into()));
    }
    if fixed[2] != 8 {
        return Err(invalid(
            "invalid gzip header: the compression method is not deflate",
        ));
    }
    let flags = fixed[3];
    let mut header_crc = flate2::Crc::new();
    header_crc.update(&fixed);
    if flags & FLAG_EXTRA != 0 {
        let mut length = [0; 2];
        inner.read_exact(&mut length).map_err(truncated_header)?;
        header_crc.update(&length);
        let mut extra = vec![0; u16::from_le_bytes(length) as usize];
        inner.read_exact(&mut extra).map_err(truncated_header)?;
        header_crc.update(&extra);
    }
    for (flag, what) in [(FLAG_NAME, "file name"), (FLAG_COMMENT, "comment")] {
        if flags & flag != 0 {
            let mut text = Vec::new();
            inner
                .take(MAX_HEADER_TEXT as u64 + 1)
                .read_until(0, &mut text)?;
            if text.last() != Some(&0) {
                if text.len() > MAX_HEADER_TEXT {
                    return Err(invalid(&format!(
                        "invalid gzip header: the {what} is longer than {MAX_HEADER_TEXT} \
                         bytes, which podman and docker reject"
                    )));
                }
                return Err(truncated_header(io::ErrorKind::UnexpectedEof.into()));
            }
            header_crc.update(&text);
        }
    }
    if flags & FLAG_HEADER_CRC != 0 {
        let mut stored = [0; 2];
        inner.read_exact(&mut stored).map_err(truncated_header)?;
        let computed = header_crc.sum() as u16;
        if u16::from_le_bytes(stored) != computed {
            return Err(invalid(&format!(
                "invalid gzip header: its CRC-16 is {:#06x}, the header's bytes give {computed:#06x}",
                u16::from_le_bytes(stored)
            )));
        }
    }
    Ok(())
}

/// Reads until `buffer` is full or the input ends; returns the bytes read.
fn read_up_to(inner: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut count = 0;
    while count < buffer.len() {
        match inner.read(&mut buffer[count..]) {
            Ok(0) => break,
            Ok(read) => count += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(count)
}

fn truncated_member(error: io::Error) -> io::Error {
    if error.kind() == io::ErrorKind::UnexpectedEof {
        invalid("gzip stream ends inside a member")
    } else {
        error
    }
}

fn truncated_header(error: io::Error) -> io::Error {
    if error.kind() == io::ErrorKind::UnexpectedEof {
        invalid("gzip stream ends inside a member header")
    } else {
        error
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}
