//! Child processes of the generator: started with piped standard input (closing it
//! stops them: every script watches it, and `supervise.py` stops the programs it runs),
//! their output collected line by line, and stopped on drop (stdin closed, a grace
//! period, then SIGKILL), so that nothing outlives a generator, even one that panics.
use super::RealStackError;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Output lines kept per process for error messages.
const LOG_LINES: usize = 60;

/// A running child process.
pub(crate) struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    log: Arc<Mutex<Vec<String>>>,
    status: Option<ExitStatus>,
}

fn pump(r: impl Read + Send + 'static, tx: Sender<String>, log: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut l) = log.lock() {
                if l.len() >= LOG_LINES {
                    l.remove(0);
                }
                l.push(line.clone());
            }
            let _ = tx.send(line);
        }
    });
}

impl Proc {
    /// Starts `cmd` with piped standard streams.
    pub(crate) fn spawn(name: &str, mut cmd: Command) -> Result<Proc, RealStackError> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| RealStackError::Process(format!("{name}: cannot start: {e}")))?;
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        if let Some(out) = child.stdout.take() {
            pump(out, tx.clone(), log.clone());
        }
        if let Some(err) = child.stderr.take() {
            pump(err, tx, log.clone());
        }
        Ok(Proc {
            name: name.to_string(),
            stdin: child.stdin.take(),
            child,
            lines: rx,
            log,
            status: None,
        })
    }

    /// The last lines the process printed.
    pub(crate) fn log(&self) -> String {
        self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    fn fail(&self, what: &str) -> RealStackError {
        RealStackError::Process(format!(
            "{}: {what}; it printed:\n{}",
            self.name,
            self.log()
        ))
    }

    /// Waits for a line containing `needle` (the process's readiness signal).
    pub(crate) fn wait_for(
        &mut self,
        needle: &str,
        timeout: Duration,
    ) -> Result<(), RealStackError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(l) if l.contains(needle) => return Ok(()),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(self.fail(&format!("no {needle:?} within {timeout:?}")))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // Let the exit status be known for the message.
                    let _ = self.wait(Duration::from_millis(500));
                    return Err(self.fail(&format!("exited ({:?}) before {needle:?}", self.status)));
                }
            }
        }
    }

    /// Writes one line to the process's standard input.
    pub(crate) fn send_line(&mut self, line: &str) -> Result<(), RealStackError> {
        let name = self.name.clone();
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| RealStackError::Process(format!("{name}: standard input closed")))?;
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|_| stdin.flush())
            .map_err(|e| RealStackError::Process(format!("{name}: cannot write: {e}")))
    }

    /// Waits up to `timeout` for the process to exit; `None` if it still runs.
    pub(crate) fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.status.is_some() {
            return self.status;
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(s)) => {
                    self.status = Some(s);
                    return self.status;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => return None,
            }
        }
    }

    /// Waits for a successful exit within `timeout` (killing it after that).
    pub(crate) fn finish(&mut self, timeout: Duration) -> Result<(), RealStackError> {
        match self.wait(timeout) {
            Some(s) if s.success() => Ok(()),
            Some(s) => Err(self.fail(&format!("failed ({s})"))),
            None => {
                self.kill();
                Err(self.fail(&format!("still running after {timeout:?}")))
            }
        }
    }

    /// Closes standard input (the stop signal) and waits up to `grace` for the exit,
    /// then kills the process.
    pub(crate) fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        self.stdin = None;
        if self.wait(grace).is_none() {
            self.kill();
        }
        self.status
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        if let Ok(s) = self.child.wait() {
            self.status = Some(s);
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            self.stop(Duration::from_secs(3));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn alive(pid: u32) -> bool {
        Path::new(&format!("/proc/{pid}")).exists()
    }

    #[test]
    fn a_panic_stops_the_children() {
        let mut pids = Vec::new();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // One that stops when its standard input closes, one that must be killed.
            let a = Proc::spawn("cat", Command::new("cat")).unwrap();
            let mut c = Command::new("sh");
            c.args(["-c", "exec sleep 60"]);
            let b = Proc::spawn("sleep", c).unwrap();
            pids.push(a.child.id());
            pids.push(b.child.id());
            assert!(pids.iter().all(|&p| alive(p)));
            panic!("the generator fails");
        }));
        assert!(r.is_err());
        assert_eq!(pids.len(), 2);
        for p in pids {
            assert!(!alive(p), "process {p} outlived the panic");
        }
    }

    #[test]
    fn readiness_lines_and_failures_are_reported() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo starting; echo ready; read x; echo got $x"]);
        let mut p = Proc::spawn("sh", c).unwrap();
        p.wait_for("ready", Duration::from_secs(5)).unwrap();
        p.send_line("go").unwrap();
        p.wait_for("got go", Duration::from_secs(5)).unwrap();
        p.finish(Duration::from_secs(5)).unwrap();
        let mut c = Command::new("sh");
        c.args(["-c", "echo oops >&2; exit 3"]);
        let mut p = Proc::spawn("failing", c).unwrap();
        let e = p.wait_for("ready", Duration::from_secs(5)).unwrap_err();
        assert!(e.to_string().contains("failing"), "{e}");
        assert!(e.to_string().contains("oops"), "{e}");
    }
}
