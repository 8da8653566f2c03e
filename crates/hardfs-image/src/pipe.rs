//! A reader whose source is read ahead by another thread, so that
//! decompressing a layer and reading its tar use two cores.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, Sender, SyncSender};
use std::thread::Scope;

/// Bytes handed over at a time.
const CHUNK_SIZE: usize = 128 * 1024;
/// Chunks read ahead of the consumer.
const CHUNKS_AHEAD: usize = 4;

/// Starts a thread in `scope` that reads `source` to its end and returns
/// the reader of what it read. The thread stops at the first error, which
/// the returned reader then reports, or when the returned reader is dropped.
pub(crate) fn spawn<'scope, R: Read + Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    mut source: R,
) -> PipeReader {
    let (filled_sender, filled) = sync_channel::<io::Result<Vec<u8>>>(CHUNKS_AHEAD);
    let (empty, empty_receiver) = std::sync::mpsc::channel::<Vec<u8>>();
    scope.spawn(move || produce(&mut source, &filled_sender, &empty_receiver));
    PipeReader {
        filled,
        empty,
        current: Vec::new(),
        position: 0,
        finished: false,
    }
}

fn produce(
    source: &mut dyn Read,
    filled: &SyncSender<io::Result<Vec<u8>>>,
    empty: &Receiver<Vec<u8>>,
) {
    loop {
        let mut chunk = empty.try_recv().unwrap_or_default();
        chunk.resize(CHUNK_SIZE, 0);
        let mut length = 0;
        let result = loop {
            match source.read(&mut chunk[length..]) {
                Ok(0) => break Ok(()),
                Ok(count) => {
                    length += count;
                    if length == chunk.len() {
                        break Ok(());
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => break Err(error),
            }
        };
        chunk.truncate(length);
        let end = length < CHUNK_SIZE;
        if length > 0 && filled.send(Ok(chunk)).is_err() {
            return;
        }
        match result {
            Err(error) => {
                let _ = filled.send(Err(error));
                return;
            }
            Ok(()) if end => return,
            Ok(()) => {}
        }
    }
}

/// The consuming end of [`spawn`].
pub(crate) struct PipeReader {
    filled: Receiver<io::Result<Vec<u8>>>,
    empty: Sender<Vec<u8>>,
    current: Vec<u8>,
    position: usize,
    finished: bool,
}

impl Read for PipeReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.position == self.current.len() {
            if self.finished {
                return Ok(0);
            }
            match self.filled.recv() {
                Ok(Ok(chunk)) => {
                    let used = std::mem::replace(&mut self.current, chunk);
                    self.position = 0;
                    // The producer may have stopped; the buffer is then dropped.
                    let _ = self.empty.send(used);
                }
                Ok(Err(error)) => {
                    self.finished = true;
                    return Err(error);
                }
                Err(_) => self.finished = true,
            }
        }
        let count = buffer.len().min(self.current.len() - self.position);
        buffer[..count].copy_from_slice(&self.current[self.position..][..count]);
        self.position += count;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields `data` in pieces of `step` bytes, then fails if `fail` is set.
    struct Pieces {
        data: Vec<u8>,
        position: usize,
        step: usize,
        fail: bool,
    }

    impl Read for Pieces {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            if self.position == self.data.len() {
                return if self.fail {
                    Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "corrupt deflate data",
                    ))
                } else {
                    Ok(0)
                };
            }
            let count = buffer
                .len()
                .min(self.step)
                .min(self.data.len() - self.position);
            buffer[..count].copy_from_slice(&self.data[self.position..][..count]);
            self.position += count;
            Ok(count)
        }
    }

    fn sample(length: usize) -> Vec<u8> {
        (0..length).map(|index| (index * 7 % 251) as u8).collect()
    }

    #[test]
    fn passes_bytes_in_order() {
        for length in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            5 * CHUNK_SIZE + 123,
        ] {
            let data = sample(length);
            let source = Pieces {
                data: data.clone(),
                position: 0,
                step: 10_000,
                fail: false,
            };
            let mut read = Vec::new();
            std::thread::scope(|scope| spawn(scope, source).read_to_end(&mut read).unwrap());
            assert_eq!(read.len(), data.len(), "length {length}");
            assert!(read == data, "bytes differ for length {length}");
        }
    }

    #[test]
    fn source_error_follows_earlier_bytes() {
        let data = sample(3 * CHUNK_SIZE + 5);
        let source = Pieces {
            data: data.clone(),
            position: 0,
            step: 4096,
            fail: true,
        };
        std::thread::scope(|scope| {
            let mut reader = spawn(scope, source);
            let mut read = vec![0; data.len()];
            reader.read_exact(&mut read).unwrap();
            assert!(read == data);
            let error = reader.read(&mut [0; 16]).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            assert_eq!(error.to_string(), "corrupt deflate data");
        });
    }

    #[test]
    fn dropped_reader_stops_thread() {
        let source = Pieces {
            data: sample(100 * CHUNK_SIZE),
            position: 0,
            step: CHUNK_SIZE,
            fail: false,
        };
        // The scope joins the producer, so this returns only if it stopped.
        std::thread::scope(|scope| {
            let mut reader = spawn(scope, source);
            reader.read_exact(&mut [0; 10]).unwrap();
        });
    }
}
