//! The origin binary as a child process of a test, on free ports (API, metrics), with the emulator's environment
//! plus the test's own variables; killed when dropped. A test of the origin package names the binary with
//! `env!("CARGO_BIN_EXE_origin")`.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::free_port;

/// The command that starts an origin, to adjust (its output, its environment) before [`OriginCommand::spawn`].
pub struct OriginCommand {
    pub command: Command,
    port: u16,
    metrics_port: u16,
}

impl OriginCommand {
    pub fn new(binary: &str, extra: &[(&str, &str)]) -> Self {
        let (port, metrics_port) = (free_port(), free_port());
        let mut command = Command::new(binary);
        command
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
            .env("LOG_FORMAT", "json")
            .stdout(Stdio::null());
        for (name, value) in extra {
            command.env(name, value);
        }
        Self { command, port, metrics_port }
    }

    pub fn spawn(mut self) -> OriginProcess {
        OriginProcess {
            child: self.command.spawn().expect("the origin binary starts"),
            base: format!("http://127.0.0.1:{}", self.port),
            metrics_base: format!("http://127.0.0.1:{}", self.metrics_port),
        }
    }
}

pub struct OriginProcess {
    child: Child,
    base: String,
    pub metrics_base: String,
}

impl OriginProcess {
    /// Waits until `/healthz` answers (at most 20 s).
    pub async fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while reqwest::get(self.url("/healthz")).await.is_err() {
            assert!(self.child.try_wait().unwrap().is_none(), "the origin exited before listening");
            assert!(Instant::now() < deadline, "the origin did not listen within 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM: the origin drains and stops.
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    pub fn wait_for_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the origin did not exit within {within:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for OriginProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
