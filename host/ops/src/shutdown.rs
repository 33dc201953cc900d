//! Shutdown: SIGTERM or SIGINT (systemd's and pm2's stop, Ctrl-C) becomes one [`Shutdown`] that
//! every loop of a role watches, so it stops taking new work, finishes or persists the work in
//! hand and says what was left. A second signal exits at once (status 130).

use std::sync::Arc;
use tokio::sync::watch;

/// A shutdown request, cloned into every task that must stop.
#[derive(Debug, Clone)]
pub struct Shutdown {
    tx: Arc<watch::Sender<Option<String>>>,
    rx: watch::Receiver<Option<String>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A shutdown nobody has asked for yet.
    pub fn new() -> Self {
        let (tx, rx) = watch::channel(None);
        Shutdown {
            tx: Arc::new(tx),
            rx,
        }
    }

    /// Asks for shutdown, with the reason logged and reported (the first reason wins).
    pub fn trigger(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.tx.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason);
                true
            } else {
                false
            }
        });
    }

    /// Why shutdown was asked for, if it was.
    pub fn reason(&self) -> Option<String> {
        self.rx.borrow().clone()
    }

    /// Whether shutdown was asked for.
    pub fn is_triggered(&self) -> bool {
        self.rx.borrow().is_some()
    }

    /// Resolves once shutdown is asked for (at once if it already was).
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        // An error means every sender is gone; ours lives in `self`, so it cannot happen.
        let _ = rx.wait_for(Option::is_some).await;
    }

    /// Turns the first SIGTERM or SIGINT into [`Shutdown::trigger`]; a second one exits the
    /// process at once with status 130. Must be called inside a tokio runtime.
    pub fn on_signals(&self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate())?;
            let mut int = signal(SignalKind::interrupt())?;
            let me = self.clone();
            tokio::spawn(async move {
                for n in 0.. {
                    let name = tokio::select! {
                        _ = term.recv() => "SIGTERM",
                        _ = int.recv() => "SIGINT",
                    };
                    if n == 0 {
                        tracing::warn!(
                            signal = name,
                            "shutting down: finishing the work in hand (send it again to exit at once)"
                        );
                        me.trigger(format!("{name} received"));
                    } else {
                        tracing::error!(signal = name, "second signal: exiting now");
                        std::process::exit(130);
                    }
                }
            });
        }
        #[cfg(not(unix))]
        {
            let me = self.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    me.trigger("Ctrl-C received");
                }
            });
        }
        Ok(())
    }
}
