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
const FLAGS_RESERVED: u8 = 0xe0;

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

    /// The fastest implementation this build has.
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

    /// Whether a reader using it checks each member's CRC-32.
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
    /// A reader using the fastest implementation this build has.
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
                    read_header(&mut inner)?;
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

/// Reads one member header, leaving `inner` at the deflate data.
fn read_header(inner: &mut impl BufRead) -> io::Result<()> {
    let mut fixed = [0; 10];
    inner.read_exact(&mut fixed).map_err(truncated_header)?;
    if fixed[..2] != [0x1f, 0x8b] {
        return Err(invalid(
            "invalid gzip header: the magic bytes 1f 8b are missing",
        ));
    }
    if fixed[2] != 8 {
        return Err(invalid(
            "invalid gzip header: the compression method is not deflate",
        ));
    }
    let flags = fixed[3];
    if flags & FLAGS_RESERVED != 0 {
        return Err(invalid("invalid gzip header: reserved flag bits are set"));
    }
    if flags & FLAG_EXTRA != 0 {
        let mut length = [0; 2];
        inner.read_exact(&mut length).map_err(truncated_header)?;
        let length = u16::from_le_bytes(length) as u64;
        let skipped = io::copy(&mut inner.take(length), &mut io::sink())?;
        if skipped != length {
            return Err(truncated_header(io::ErrorKind::UnexpectedEof.into()));
        }
    }
    for flag in [FLAG_NAME, FLAG_COMMENT] {
        if flags & flag != 0 {
            let mut text = Vec::new();
            inner.read_until(0, &mut text)?;
            if text.last() != Some(&0) {
                return Err(truncated_header(io::ErrorKind::UnexpectedEof.into()));
            }
        }
    }
    if flags & FLAG_HEADER_CRC != 0 {
        inner.read_exact(&mut [0; 2]).map_err(truncated_header)?;
    }
    Ok(())
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
