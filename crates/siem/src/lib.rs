#![forbid(unsafe_code)]
#![warn(missing_docs)]
//! SIEM outputs for Sluice alerts.
//!
//! - [`cef`]: ArcSight Common Event Format lines for alert events.
//! - [`syslog`]: RFC 5424 messages sent over UDP (one datagram each) or TCP (RFC 6587
//!   octet counting), from a background thread behind a bounded queue: the sensor never
//!   waits for the SIEM; when the queue is full messages are dropped and counted; a lost
//!   TCP connection is re-established with back-off and the message in flight is sent
//!   again.
//! - [`eve`]: Suricata EVE-compatible `event_type: "alert"` JSON lines.
//!
//! [`Outputs`] bundles them for the sensor's writer thread.

pub mod cef;
pub mod eve;
pub mod syslog;

use std::io::Write;
use std::path::{Path, PathBuf};

use sluice_engine::event::{Body, Event};

pub use syslog::{Protocol, SyslogConfig, SyslogSender, SyslogStats};

/// Why an output could not be set up or written.
#[derive(Debug, thiserror::Error)]
pub enum SiemError {
    /// A `--syslog` URL that is not `udp://HOST:PORT` or `tcp://HOST:PORT`.
    #[error("syslog target {0:?}: expected udp://HOST:PORT or tcp://HOST:PORT")]
    BadUrl(String),
    /// The target host does not resolve.
    #[error("syslog target {url}: {source}")]
    Resolve {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be created or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The sender thread could not start.
    #[error("cannot start the syslog sender: {0}")]
    Thread(std::io::Error),
}

/// The SIEM outputs of one sensor run.
#[derive(Default)]
pub struct Outputs {
    /// CEF over syslog.
    pub syslog: Option<SyslogSender>,
    /// EVE alert lines.
    pub eve: Option<(PathBuf, std::io::BufWriter<std::fs::File>)>,
}

impl Outputs {
    /// Opens the EVE file (truncating it).
    pub fn open_eve(&mut self, path: &Path) -> Result<(), SiemError> {
        let f = std::fs::File::create(path).map_err(|source| SiemError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.eve = Some((path.to_path_buf(), std::io::BufWriter::new(f)));
        Ok(())
    }

    /// Whether any output is configured.
    pub fn is_empty(&self) -> bool {
        self.syslog.is_none() && self.eve.is_none()
    }

    /// Hands every alert of a batch to the outputs (other events are ignored).
    pub fn alerts(&mut self, events: &[Event]) -> Result<(), SiemError> {
        for e in events {
            if !matches!(e.body, Body::Alert(_)) {
                continue;
            }
            if let Some(s) = &self.syslog {
                if let Some(line) = cef::format(e) {
                    s.send(&line, cef::syslog_severity(e));
                }
            }
            if let Some((path, w)) = self.eve.as_mut() {
                if let Some(v) = eve::alert(e) {
                    let r = writeln!(w, "{v}");
                    r.map_err(|source| SiemError::Io {
                        path: path.clone(),
                        source,
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Flushes the EVE file; for live mode after each batch.
    pub fn flush(&mut self) -> Result<(), SiemError> {
        if let Some((path, w)) = self.eve.as_mut() {
            w.flush().map_err(|source| SiemError::Io {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Flushes everything and stops the syslog sender, waiting up to `timeout` for its
    /// queue to drain. Returns its counters.
    pub fn close(mut self, timeout: std::time::Duration) -> Result<Option<SyslogStats>, SiemError> {
        self.flush()?;
        Ok(self.syslog.take().map(|s| s.close(timeout)))
    }
}
