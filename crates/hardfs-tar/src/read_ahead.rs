//! A reader whose source runs on its own thread, so that decompressing a
//! layer overlaps with what the consumer does with the bytes: parsing and
//! hashing them in audit, patching and compressing them in harden.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;

/// Chunks in circulation: the reading thread can fill this many minus the
/// one the consumer is reading before it waits.
const CHUNK_COUNT: usize = 4;

enum Message {
    Data(Vec<u8>, usize),
    Failed(io::Error),
    End,
}

/// Runs `consume` with a reader that returns the bytes of `source`, which
/// a scoped thread reads ahead in chunks of `chunk_size` bytes. Errors
/// from `source` reach the consumer unchanged, at the position where they
/// happened. At most four chunks are in memory.
pub fn with_read_ahead<R, T>(
    source: R,
    chunk_size: usize,
    consume: impl FnOnce(&mut ReadAhead) -> T,
) -> T
where
    R: Read + Send,
{
    let (filled_sender, filled) = sync_channel(CHUNK_COUNT);
    let (free, free_receiver) = sync_channel(CHUNK_COUNT);
    for _ in 0..CHUNK_COUNT {
        free.send(vec![0; chunk_size.max(1)])
            .expect("the channel has room for every chunk");
    }
    thread::scope(|scope| {
        scope.spawn(move || fill_chunks(source, free_receiver, filled_sender));
        let mut reader = ReadAhead {
            filled,
            free,
            chunk: Vec::new(),
            length: 0,
            position: 0,
            finished: false,
        };
        // Dropping the reader when `consume` returns closes both channels,
        // so the reading thread stops even if the consumer stopped early.
        consume(&mut reader)
    })
}

/// Reads chunks from `source` until its end or its first error. Bytes
/// read before an error are sent first, so the consumer gets the error at
/// the offset where it happened.
fn fill_chunks<R: Read>(mut source: R, free: Receiver<Vec<u8>>, filled: SyncSender<Message>) {
    while let Ok(mut chunk) = free.recv() {
        let mut length = 0;
        let mut failure = None;
        while length < chunk.len() {
            match source.read(&mut chunk[length..]) {
                Ok(0) => break,
                Ok(count) => length += count,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        let full = length == chunk.len();
        if length > 0 && filled.send(Message::Data(chunk, length)).is_err() {
            return;
        }
        if full {
            continue;
        }
        let last = match failure {
            Some(error) => Message::Failed(error),
            None => Message::End,
        };
        let _ = filled.send(last);
        return;
    }
}

/// The consumer's end of [`with_read_ahead`].
pub struct ReadAhead {
    filled: Receiver<Message>,
    free: SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
    length: usize,
    position: usize,
    finished: bool,
}

impl ReadAhead {
    /// Hands the spent chunk back and waits for the next one. Returns
    /// false at the end of the source.
    fn next_chunk(&mut self) -> io::Result<bool> {
        if self.finished {
            return Ok(false);
        }
        let spent = std::mem::take(&mut self.chunk);
        if !spent.is_empty() {
            // The reading thread may have stopped already, and then the
            // chunk is not needed.
            let _ = self.free.send(spent);
        }
        match self.filled.recv() {
            Ok(Message::Data(chunk, length)) => {
                self.chunk = chunk;
                self.length = length;
                self.position = 0;
                Ok(true)
            }
            Ok(Message::Failed(error)) => {
                self.finished = true;
                Err(error)
            }
            Ok(Message::End) => {
                self.finished = true;
                Ok(false)
            }
            Err(_) => {
                self.finished = true;
                Err(io::Error::other(
                    "the read-ahead thread stopped before the end of the input",
                ))
            }
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.position == self.length {
            if !self.next_chunk()? {
                return Ok(0);
            }
        }
        let count = buffer.len().min(self.length - self.position);
        buffer[..count].copy_from_slice(&self.chunk[self.position..self.position + count]);
        self.position += count;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHUNK_SIZE: usize = 1 << 20;

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 13 % 253) as u8).collect()
    }

    /// A source that returns at most `step` bytes per read and then fails
    /// after `fail_at` bytes, if given.
    struct Trickle {
        data: Vec<u8>,
        position: usize,
        step: usize,
        fail_at: Option<usize>,
    }

    impl Read for Trickle {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            if self.fail_at == Some(self.position) {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt block"));
            }
            let end = (self.position + self.step.min(buffer.len())).min(self.data.len());
            let end = self.fail_at.map_or(end, |fail_at| end.min(fail_at));
            let count = end - self.position;
            buffer[..count].copy_from_slice(&self.data[self.position..end]);
            self.position = end;
            Ok(count)
        }
    }

    fn read_all(source: impl Read + Send) -> io::Result<Vec<u8>> {
        with_read_ahead(source, CHUNK_SIZE, |reader| {
            let mut output = Vec::new();
            reader.read_to_end(&mut output).map(|_| output)
        })
    }

    #[test]
    fn read_ahead_returns_every_byte() {
        let data = sample(CHUNK_SIZE * CHUNK_COUNT * 2 + 777);
        let source = Trickle {
            data: data.clone(),
            position: 0,
            step: 100_003,
            fail_at: None,
        };
        let output = read_all(source).unwrap();
        assert_eq!(output.len(), data.len());
        assert!(output == data);
    }

    #[test]
    fn read_ahead_of_empty_source() {
        assert_eq!(read_all(io::empty()).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn read_ahead_passes_error_on() {
        let fail_at = CHUNK_SIZE * 3 + 5;
        let source = Trickle {
            data: sample(CHUNK_SIZE * 5),
            position: 0,
            step: 65_536,
            fail_at: Some(fail_at),
        };
        let result = with_read_ahead(source, CHUNK_SIZE, |reader| {
            let mut output = Vec::new();
            let error = reader.read_to_end(&mut output).unwrap_err();
            (output.len(), error)
        });
        let (bytes_before_error, error) = result;
        assert_eq!(bytes_before_error, fail_at);
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert_eq!(error.to_string(), "corrupt block");
    }

    #[test]
    fn read_ahead_stops_when_consumer_stops() {
        let source = Trickle {
            data: sample(CHUNK_SIZE * 20),
            position: 0,
            step: CHUNK_SIZE,
            fail_at: None,
        };
        let first = with_read_ahead(source, CHUNK_SIZE, |reader| {
            let mut first = [0u8; 10];
            reader.read_exact(&mut first).map(|_| first)
        });
        assert_eq!(first.unwrap(), sample(10)[..]);
    }
}
