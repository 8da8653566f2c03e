//! Readiness probes: an HTTP request, a TCP connection, a redis `PING`, or
//! a command run in the container.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use crate::{Engine, RuntimeError};

const IO_TIMEOUT: Duration = Duration::from_secs(3);

/// How to tell that a container is ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// `http://:PORT/PATH`: a GET that must return a 2xx status.
    Http { port: u16, path: String },
    /// `tcp:PORT`: a connection that the server accepts and does not close
    /// at once.
    Tcp { port: u16 },
    /// `redis:PORT`: `PING` sent over TCP must get `+PONG` back.
    Redis { port: u16 },
    /// `exec:CMD`: CMD, split as a POSIX shell would split words, run in the
    /// container with the engine's exec; it must exit with status 0.
    Exec { argv: Vec<String> },
}

/// The result of one probe attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeOutcome {
    pub passed: bool,
    /// The reply received, or the reason there was none.
    pub detail: String,
}

impl Probe {
    /// Parses `http://:PORT/PATH`, `tcp:PORT`, `redis:PORT` or `exec:CMD`.
    pub fn parse(text: &str) -> Result<Probe, RuntimeError> {
        let invalid = |reason: &str| RuntimeError::InvalidProbe {
            probe: text.into(),
            reason: reason.into(),
        };
        let port = |digits: &str| {
            digits
                .parse::<u16>()
                .ok()
                .filter(|&port| port != 0)
                .ok_or_else(|| invalid("the port is not a number from 1 to 65535"))
        };
        if let Some(rest) = text.strip_prefix("http://") {
            let rest = rest
                .strip_prefix(':')
                .ok_or_else(|| invalid("expected http://:PORT/PATH, with no host"))?;
            let (digits, path) = match rest.find('/') {
                Some(slash) => (&rest[..slash], &rest[slash..]),
                None => (rest, "/"),
            };
            return Ok(Probe::Http {
                port: port(digits)?,
                path: path.into(),
            });
        }
        if let Some(digits) = text.strip_prefix("tcp:") {
            return Ok(Probe::Tcp {
                port: port(digits)?,
            });
        }
        if let Some(digits) = text.strip_prefix("redis:") {
            return Ok(Probe::Redis {
                port: port(digits)?,
            });
        }
        if let Some(command) = text.strip_prefix("exec:") {
            let argv = shlex::split(command)
                .filter(|argv| !argv.is_empty())
                .ok_or_else(|| invalid("the command is empty or its quotes do not match"))?;
            return Ok(Probe::Exec { argv });
        }
        Err(invalid(
            "expected http://:PORT/PATH, tcp:PORT, redis:PORT or exec:CMD",
        ))
    }

    /// Returns the container port to publish, for the network probes.
    pub fn container_port(&self) -> Option<u16> {
        match self {
            Probe::Http { port, .. } | Probe::Tcp { port } | Probe::Redis { port } => Some(*port),
            Probe::Exec { .. } => None,
        }
    }

    /// Tries the probe once. `host_port` is where the container port is
    /// published on 127.0.0.1.
    pub fn check(
        &self,
        engine: &dyn Engine,
        container: &str,
        host_port: Option<u16>,
    ) -> Result<ProbeOutcome, RuntimeError> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, host_port.unwrap_or(0)));
        let outcome = match self {
            Probe::Http { path, .. } => http_get(address, path),
            Probe::Tcp { .. } => tcp_accepts(address),
            Probe::Redis { .. } => redis_ping(address),
            Probe::Exec { argv } => {
                let output = engine.exec(container, argv)?;
                let text = format!("{}{}", output.stdout, output.stderr);
                let text = text.trim();
                let status = if output.success {
                    "exit status 0"
                } else {
                    "failed"
                };
                ProbeOutcome {
                    passed: output.success,
                    detail: if text.is_empty() {
                        status.to_string()
                    } else {
                        format!("{status}: {text}")
                    },
                }
            }
        };
        Ok(outcome)
    }
}

fn failed(detail: String) -> ProbeOutcome {
    ProbeOutcome {
        passed: false,
        detail,
    }
}

fn connect(address: SocketAddr) -> Result<TcpStream, ProbeOutcome> {
    let stream = TcpStream::connect_timeout(&address, IO_TIMEOUT)
        .map_err(|error| failed(format!("connect to {address} failed: {error}")))?;
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    Ok(stream)
}

/// Sends `request` and reads the reply until the peer closes or `enough`
/// accepts what arrived.
fn exchange(
    address: SocketAddr,
    request: &[u8],
    enough: impl Fn(&[u8]) -> bool,
) -> Result<Vec<u8>, ProbeOutcome> {
    let mut stream = connect(address)?;
    stream
        .write_all(request)
        .map_err(|error| failed(format!("send to {address} failed: {error}")))?;
    let mut reply = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => {
                reply.extend_from_slice(&buffer[..count]);
                if enough(&reply) {
                    break;
                }
            }
            Err(error) if reply.is_empty() => {
                return Err(failed(format!("read from {address} failed: {error}")))
            }
            Err(_) => break,
        }
    }
    Ok(reply)
}

fn http_get(address: SocketAddr, path: &str) -> ProbeOutcome {
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let reply = match exchange(address, request.as_bytes(), |reply| reply.contains(&b'\n')) {
        Ok(reply) => reply,
        Err(outcome) => return outcome,
    };
    let text = String::from_utf8_lossy(&reply);
    let status_line = text.lines().next().unwrap_or_default().trim().to_string();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok());
    ProbeOutcome {
        passed: status.is_some_and(|code| (200..300).contains(&code)),
        detail: if status_line.is_empty() {
            "empty HTTP reply".into()
        } else {
            status_line
        },
    }
}

fn tcp_accepts(address: SocketAddr) -> ProbeOutcome {
    let mut stream = match connect(address) {
        Ok(stream) => stream,
        Err(outcome) => return outcome,
    };
    // A published port whose container side is not listening may accept
    // and then close at once, so a connection alone is not enough: the
    // peer must keep it open for a moment.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(300)));
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => failed(format!("{address} closed the connection")),
        Err(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            ProbeOutcome {
                passed: true,
                detail: format!("{address} accepted the connection"),
            }
        }
        Err(error) => failed(format!("read from {address} failed: {error}")),
        Ok(_) => ProbeOutcome {
            passed: true,
            detail: format!("{address} accepted the connection and sent data"),
        },
    }
}

fn redis_ping(address: SocketAddr) -> ProbeOutcome {
    let reply = match exchange(address, b"PING\r\n", |reply| reply.ends_with(b"\r\n")) {
        Ok(reply) => reply,
        Err(outcome) => return outcome,
    };
    let text = String::from_utf8_lossy(&reply).trim().to_string();
    ProbeOutcome {
        passed: text == "+PONG",
        detail: if text.is_empty() {
            "empty reply to PING".into()
        } else {
            text
        },
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn probes_parse() {
        assert_eq!(
            Probe::parse("http://:80/index.html").unwrap(),
            Probe::Http {
                port: 80,
                path: "/index.html".into()
            }
        );
        assert_eq!(
            Probe::parse("http://:8080").unwrap(),
            Probe::Http {
                port: 8080,
                path: "/".into()
            }
        );
        assert_eq!(Probe::parse("tcp:5432").unwrap(), Probe::Tcp { port: 5432 });
        assert_eq!(
            Probe::parse("redis:6379").unwrap(),
            Probe::Redis { port: 6379 }
        );
        assert_eq!(
            Probe::parse("exec:psql -tAc 'SELECT 1'").unwrap(),
            Probe::Exec {
                argv: vec!["psql".into(), "-tAc".into(), "SELECT 1".into()]
            }
        );
    }

    #[test]
    fn probes_reject_bad_input() {
        for (text, expected) in [
            ("http://example.com:80/", "no host"),
            ("tcp:0", "port"),
            ("tcp:70000", "port"),
            ("exec:", "empty"),
            ("exec:'unclosed", "quotes"),
            ("ftp:21", "expected"),
        ] {
            let error = Probe::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(error.contains(text), "{text}: {error}");
        }
    }

    #[test]
    fn http_probe_reads_status() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            for status in ["200 OK", "404 Not Found"] {
                let (mut stream, _) = listener.accept().unwrap();
                let mut buffer = [0u8; 1024];
                let count = stream.read(&mut buffer).unwrap();
                assert!(buffer[..count].starts_with(b"GET /health HTTP/1.0\r\n"));
                write!(stream, "HTTP/1.1 {status}\r\n\r\n").unwrap();
            }
        });
        let first = http_get(address, "/health");
        assert!(first.passed, "{first:?}");
        assert_eq!(first.detail, "HTTP/1.1 200 OK");
        let second = http_get(address, "/health");
        assert!(!second.passed);
        assert_eq!(second.detail, "HTTP/1.1 404 Not Found");
        server.join().unwrap();
    }

    #[test]
    fn redis_probe_expects_pong() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            for reply in ["+PONG\r\n", "-LOADING\r\n"] {
                let (mut stream, _) = listener.accept().unwrap();
                let mut buffer = [0u8; 64];
                let count = stream.read(&mut buffer).unwrap();
                assert_eq!(&buffer[..count], b"PING\r\n");
                stream.write_all(reply.as_bytes()).unwrap();
            }
        });
        assert!(redis_ping(address).passed);
        let loading = redis_ping(address);
        assert!(!loading.passed);
        assert_eq!(loading.detail, "-LOADING");
        server.join().unwrap();
    }

    #[test]
    fn tcp_probe_fails_on_closed_port() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let outcome = tcp_accepts(address);
        assert!(!outcome.passed);
        assert!(outcome.detail.contains("connect"), "{}", outcome.detail);
    }
}
