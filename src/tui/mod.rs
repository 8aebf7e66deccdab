//! The terminal wizard: the HOWTO as screens over the same engine calls as the command line.
//!
//! Shape (STYLE.md): [`model`] holds the state, the messages and a pure `update`; [`view`]
//! draws it; [`worker`] owns the engine on a thread and answers with messages. Keys, resizes,
//! signals and the worker's answers all arrive on one channel; the loop draws only after a
//! message changed the model.
//!
//! The terminal is always given back: on quit and on error by [`run`] itself, on a panic by
//! ratatui's hook (installed after color-eyre's, so it runs first), on Ctrl-C because it is a
//! key like `q` in raw mode, and on SIGTERM/SIGINT/SIGHUP because they become messages. Quitting
//! waits for the step being written: the process never exits in the middle of a journaled
//! write.

mod choices;
pub mod demo;
pub mod keys;
pub mod model;
mod msg;
pub mod side;
mod update;
pub mod view;
pub mod worker;

use crate::engine::step::Options;
use color_eyre::eyre::{eyre, Result};
use model::{update, Cmd, Model, Msg};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;

/// `NO_COLOR` set to anything non-empty turns colours off (no-color.org).
pub fn colour_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Opens the wizard on `root` (`/` for the live system) and runs it until the user quits.
pub fn run(root: PathBuf, profile: Option<PathBuf>, options: Options) -> Result<ExitCode> {
    // color-eyre first, then ratatui's hook on top of it: a panic restores the terminal, then
    // color-eyre prints the report on a usable screen. A second install (demo) is harmless.
    let _ = color_eyre::install();
    let engine =
        crate::steps::open(&root, profile.as_deref(), options.clone()).map_err(|e| eyre!(e))?;
    let mut info = worker::info(&engine);
    info.color = colour_wanted();

    let (tx, rx) = mpsc::channel::<Msg>();
    let (jobs, jobs_rx) = mpsc::channel::<Cmd>();
    let worker = worker::spawn(engine, jobs_rx, tx.clone());

    // Signals become messages; the loop decides when it is safe to go.
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ])?;
    let stx = tx.clone();
    std::thread::Builder::new()
        .name("smtpauth-signals".into())
        .spawn(move || {
            for s in signals.forever() {
                if stx.send(Msg::Signal(s)).is_err() {
                    break;
                }
            }
        })?;

    let mut terminal = ratatui::init();
    let size = terminal
        .size()
        .map(|s| (s.width, s.height))
        .unwrap_or((80, 24));
    let itx = tx.clone();
    std::thread::Builder::new()
        .name("smtpauth-input".into())
        .spawn(move || input_loop(itx))?;
    let ttx = tx.clone();
    std::thread::Builder::new()
        .name("smtpauth-ticker".into())
        .spawn(move || {
            // The model redraws on a tick only while something shows elapsed time.
            while ttx.send(Msg::Tick).is_ok() {
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
        })?;
    let mut side = side::Side::new(tx.clone());
    drop(tx);

    let mut model = Model::new(info, options, size);
    let res = main_loop(&mut terminal, &mut model, &rx, &jobs, &mut side);
    drop(side);
    ratatui::restore();
    // The worker is idle or only reading by now (quit waits for writes); let it go.
    let _ = jobs.send(Cmd::Quit);
    drop(worker);
    res?;
    if let Some(e) = model.flash.as_ref().filter(|_| model.exit == Some(1)) {
        eprintln!("smtpauth-wizard: {e}");
    }
    Ok(ExitCode::from(model.exit.unwrap_or(0)))
}

fn input_loop(tx: mpsc::Sender<Msg>) {
    use crossterm::event::{read, Event};
    loop {
        let msg = match read() {
            Ok(Event::Key(k)) => Msg::Key(k),
            Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
            Ok(_) => continue,
            // No terminal to read from any more (it was closed): treat it as a hangup.
            Err(_) => {
                let _ = tx.send(Msg::Signal(signal_hook::consts::SIGHUP));
                return;
            }
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
}

/// The loop: draw when the model changed, wait for one message, update, hand the command to
/// the worker. A failing terminal (hung up) stops the drawing, not the wait for the worker.
fn main_loop(
    terminal: &mut ratatui::DefaultTerminal,
    model: &mut Model,
    rx: &mpsc::Receiver<Msg>,
    jobs: &mpsc::Sender<Cmd>,
    side: &mut side::Side,
) -> Result<()> {
    jobs.send(model.init())?;
    let mut drawn: Option<u64> = None;
    let mut can_draw = true;
    loop {
        if can_draw && drawn != Some(model.rev) {
            if terminal.draw(|f| view::draw(model, f)).is_err() {
                can_draw = false;
                if let Some(cmd) = update(model, Msg::Signal(signal_hook::consts::SIGHUP)) {
                    if cmd == Cmd::Quit {
                        return Ok(());
                    }
                }
            }
            drawn = Some(model.rev);
        }
        let msg = rx
            .recv()
            .map_err(|_| eyre!("every input of the wizard closed"))?;
        match update(model, msg) {
            Some(Cmd::Quit) => return Ok(()),
            // Probes and watches run beside the worker, never queued behind an apply.
            Some(cmd) => {
                if let Some(cmd) = side.run(cmd) {
                    jobs.send(cmd)
                        .map_err(|_| eyre!("the worker thread is gone"))?
                }
            }
            None => {}
        }
    }
}
