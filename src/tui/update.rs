//! The body of [`update`]: how each key and each worker answer changes the [`Model`] and which
//! [`Cmd`] runs next. Pure: no I/O.

use super::keys::{self, Action};
use super::model::*;
use crate::engine::step::Status;
use crossterm::event::{KeyCode, KeyModifiers};

/// The one place the model changes. Pure: returns the command to run, never runs it. Every
/// change bumps `rev`; a key that does nothing here leaves it alone (no redraw).
pub fn update(m: &mut Model, msg: Msg) -> Option<Cmd> {
    handle(m, msg)
}

fn bump(m: &mut Model) {
    m.rev = m.rev.wrapping_add(1);
}

fn handle(m: &mut Model, msg: Msg) -> Option<Cmd> {
    match msg {
        Msg::Key(k) => {
            if k.kind != crossterm::event::KeyEventKind::Press {
                return None;
            }
            if m.editing() {
                if let KeyCode::Char(c) = k.code {
                    if !k
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                    {
                        bump(m);
                        if let Some(e) = &mut m.probe.edit {
                            if e.chars().count() < 255 {
                                e.push(c);
                            }
                        }
                        return None;
                    }
                }
            }
            let action = keys::action_for(m, &k);
            let had_flash = m.flash.take().is_some();
            match action {
                Some(a) => {
                    bump(m);
                    on_action(m, a)
                }
                None => {
                    if had_flash {
                        bump(m);
                    }
                    None
                }
            }
        }
        Msg::Resize(w, h) => {
            m.size = (w, h);
            m.scroll = m.scroll.min(super::view::max_scroll(m));
            bump(m);
            None
        }
        Msg::Signal(sig) => {
            bump(m);
            // A signal does not ask: it quits as soon as no write is in progress.
            m.popup = None;
            m.quit(128 + sig.clamp(0, 127) as u8)
        }
        Msg::Progress(what) => {
            bump(m);
            if let Some(b) = &mut m.busy {
                b.what = what;
            }
            None
        }
        Msg::Checked(snap) => {
            bump(m);
            m.snap = Some(*snap);
            m.busy = None;
            match m.after_check.take() {
                Some(AfterCheck::Welcome) => {
                    m.screen = Screen::Step(0); // force `go` to reset
                    m.go(Screen::Welcome);
                }
                Some(AfterCheck::FirstTodo) => {
                    let to = m.next_todo(0).map(Screen::Step).unwrap_or(Screen::Summary);
                    m.go(to);
                }
                None => {
                    // The lists may have shrunk (an applied step has no choices left).
                    let n = m.choices().len();
                    if n == 0 {
                        m.focus = Focus::Steps;
                        m.cursor = 0;
                    } else if m.cursor >= n {
                        m.cursor = n - 1;
                    }
                }
            }
            m.scroll = m.scroll.min(super::view::max_scroll(m));
            if m.quit_when_idle {
                return m.quit(m.exit_code_pending);
            }
            None
        }
        Msg::Applied { step, result } => {
            bump(m);
            let outcome = Outcome::of(&m.info, result);
            m.flash = Some(if outcome.ok {
                format!("{step} applied; Enter continues")
            } else {
                format!("{step} failed: see the result below")
            });
            m.results.insert(step, outcome);
            // The write is over; the worker checks again next.
            m.busy(BusyKind::Checking, "checking the system again");
            if m.quit_when_idle {
                return m.quit(m.exit_code_pending);
            }
            None
        }
        Msg::RolledBack { result } => {
            bump(m);
            let outcome = Outcome::of(&m.info, result);
            m.flash = Some(if outcome.ok {
                "rolled back".to_string()
            } else {
                "rollback stopped: see the result".to_string()
            });
            if !outcome.ok && m.after_check.take().is_some() {
                // Start over stopped half-way: show what happened where rollbacks are shown.
                m.go(Screen::Rollback);
            }
            m.rollback_result = Some(outcome);
            m.results.clear();
            m.busy(BusyKind::Checking, "checking the system again");
            if m.quit_when_idle {
                return m.quit(m.exit_code_pending);
            }
            None
        }
        Msg::WorkerFailed(e) => {
            bump(m);
            m.busy = None;
            m.flash = Some(format!("internal error: {e}"));
            m.exit = Some(1);
            Some(Cmd::Quit)
        }
        Msg::Tick => {
            if m.probe.running.is_some() {
                m.probe.ticks = m.probe.ticks.saturating_add(1);
                bump(m);
            }
            None
        }
        Msg::Probed { id, result } => {
            if m.probe.running != Some(id) {
                return None;
            }
            bump(m);
            m.probe.running = None;
            let result = result.map(|r| *r);
            m.flash = Some(match &result {
                Ok(r) => format!("probe of {}: {}", r.target, r.result()),
                Err(e) => format!("probe: {e}"),
            });
            m.probe.last = Some(result);
            None
        }
        Msg::Watched { id, report } => {
            if m.watch.running != Some(id) {
                return None;
            }
            bump(m);
            m.watch.report = Some(*report);
            m.watch.updates += 1;
            None
        }
        Msg::WatchEnded { id, error } => {
            if m.watch.running != Some(id) {
                return None;
            }
            bump(m);
            m.watch.running = None;
            if let Some(e) = &error {
                m.flash = Some(format!("watch stopped: {e}"));
            }
            m.watch.error = error;
            None
        }
    }
}

/// Starts the probe of the current target.
fn start_probe(m: &mut Model) -> Option<Cmd> {
    if m.probe.running.is_some() {
        return None;
    }
    let target = m.probe.target.trim().to_string();
    if let Err(e) = crate::smtp::parse_target(&target) {
        m.flash = Some(format!("target {target:?}: {e}"));
        return None;
    }
    m.probe.started += 1;
    let id = m.probe.started;
    m.probe.running = Some(id);
    m.probe.ticks = 0;
    Some(Cmd::Probe {
        id,
        target,
        timeout: m.info.probe_timeout,
        tls: m.probe.tls,
    })
}

/// Starts following the logs, or stops.
fn toggle_watch(m: &mut Model) -> Option<Cmd> {
    if let Some(id) = m.watch.running.take() {
        m.flash = Some("stopped watching".into());
        return Some(Cmd::StopWatch { id });
    }
    m.watch.started += 1;
    let id = m.watch.started;
    m.watch.running = Some(id);
    m.watch.report = None;
    m.watch.updates = 0;
    m.watch.error = None;
    Some(Cmd::Watch {
        id,
        logs: m.info.mail_logs.clone(),
        local_domains: m.info.local_domains.clone(),
        journal: crate::relay_report::Journal::for_root(std::path::Path::new(&m.info.root)),
    })
}

fn on_action(m: &mut Model, a: Action) -> Option<Cmd> {
    match a {
        Action::Quit => {
            if m.busy.as_ref().is_some_and(Busy::writing) {
                m.popup = Some(Popup::QuitWhileBusy);
                None
            } else {
                m.popup = None;
                m.quit(0)
            }
        }
        Action::Help => {
            m.popup = match m.popup {
                Some(Popup::Help) => None,
                _ => Some(Popup::Help),
            };
            m.scroll = 0;
            None
        }
        Action::Yes => match m.popup.take() {
            Some(Popup::QuitWhileBusy) => m.quit(0),
            Some(Popup::Confirm(c)) => confirmed(m, c, false),
            other => {
                m.popup = other;
                None
            }
        },
        Action::Force => match m.popup.take() {
            Some(Popup::Confirm(c)) => confirmed(m, c, true),
            other => {
                m.popup = other;
                None
            }
        },
        Action::No => {
            m.popup = None;
            None
        }
        Action::PageUp | Action::PageDown => {
            let page = m.size.1.saturating_sub(8).max(1);
            let max = super::view::max_scroll(m);
            m.scroll = if a == Action::PageUp {
                m.scroll.saturating_sub(page)
            } else {
                m.scroll.saturating_add(page).min(max)
            };
            None
        }
        Action::SwitchFocus => {
            m.focus = match m.focus {
                Focus::Steps => Focus::Choices,
                Focus::Choices => Focus::Steps,
            };
            if m.focus == Focus::Choices {
                let n = m.choices().len();
                m.cursor = m.cursor.min(n.saturating_sub(1));
            }
            None
        }
        Action::Up | Action::Down => {
            if m.focus == Focus::Choices {
                let n = m.choices().len();
                if n > 0 {
                    m.cursor = if a == Action::Up {
                        m.cursor.saturating_sub(1)
                    } else {
                        (m.cursor + 1).min(n - 1)
                    };
                }
            } else {
                let i = m.sidebar_index();
                let j = if a == Action::Up {
                    i.saturating_sub(1)
                } else {
                    (i + 1).min(m.sidebar_len() - 1)
                };
                let to = m.screen_at(j);
                m.go(to);
            }
            None
        }
        Action::Toggle => toggle(m),
        Action::RollbackScreen => {
            if m.screen == Screen::Rollback {
                let back = m.back;
                m.go(back);
            } else {
                m.rollback_result = None;
                m.go(Screen::Rollback);
            }
            None
        }
        Action::Continue => on_continue(m),
        Action::Edit => {
            if m.screen == Screen::Probe && m.probe.running.is_none() {
                m.probe.edit = Some(m.probe.target.clone());
            }
            None
        }
        Action::EditDone => {
            if let Some(t) = m.probe.edit.take() {
                let t = t.trim().to_string();
                match crate::smtp::parse_target(&t) {
                    Ok(_) => m.probe.target = t,
                    Err(e) => {
                        m.flash = Some(format!("target {t:?}: {e}"));
                        m.probe.edit = Some(t);
                    }
                }
            }
            None
        }
        Action::EditCancel => {
            m.probe.edit = None;
            None
        }
        Action::EditBackspace => {
            if let Some(e) = &mut m.probe.edit {
                e.pop();
            }
            None
        }
    }
}

fn toggle(m: &mut Model) -> Option<Cmd> {
    if m.screen == Screen::Probe {
        match m.cursor {
            0 => m.probe.tls.no_verify_cert = !m.probe.tls.no_verify_cert,
            1 => m.probe.tls.tls_required = !m.probe.tls.tls_required,
            _ => {}
        }
        return None;
    }
    let Some(s) = &m.snap else { return None };
    let i = m.cursor;
    match (m.screen, m.current_step_id()) {
        (Screen::Step(_), Some("sendmail-mc")) => {
            let set = if i == 0 { MECHS_DEFAULT } else { MECHS_HOWTO };
            let want: Vec<String> = set.iter().map(|s| s.to_string()).collect();
            if m.mechanisms() == want {
                return None;
            }
            m.opts.mechanisms = if want == m.info.default_mechanisms {
                None
            } else {
                Some(want)
            };
            m.check()
        }
        (Screen::Step(_), Some("tls")) => {
            let want = i == 0;
            if m.opts.tls == want {
                return None;
            }
            m.opts.tls = want;
            m.check()
        }
        (Screen::Step(_), Some("relay-access")) => {
            let key = s.relay.get(i)?.key.clone();
            if m.kept_relay(&key) {
                m.opts.keep_relay.retain(|k| !k.eq_ignore_ascii_case(&key));
            } else {
                m.opts.keep_relay.push(key);
            }
            m.check()
        }
        (Screen::Step(_), Some("relay-features")) => {
            let f = s.features.get(i)?.0.clone();
            if m.opts.keep_features.contains(&f) {
                m.opts.keep_features.retain(|k| k != &f);
            } else {
                m.opts.keep_features.push(f);
            }
            m.check()
        }
        (Screen::Step(_), Some("relay-domains")) => {
            m.opts.prune_relay_domains = !m.opts.prune_relay_domains;
            m.check()
        }
        (Screen::Step(_), Some("submission")) => {
            match i {
                0 => m.opts.submission = !m.opts.submission,
                1 => {
                    let keep = m
                        .opts
                        .submission_listener
                        .as_deref()
                        .is_some_and(|l| l.eq_ignore_ascii_case("keep"));
                    m.opts.submission_listener = if keep { None } else { Some("keep".into()) };
                }
                _ => return None,
            }
            m.check()
        }
        (Screen::Step(si), _) => {
            let d = m.decisions(si).into_iter().nth(i)?;
            let now = m.opts.decision(d.key);
            m.opts.set_decision(d.key, !now);
            m.check()
        }
        // Radio lists whose Enter acts: Space only moves the mark.
        _ => None,
    }
}

fn on_continue(m: &mut Model) -> Option<Cmd> {
    match m.screen {
        Screen::Probe => return start_probe(m),
        Screen::Watch => return toggle_watch(m),
        _ => {}
    }
    if m.busy.as_ref().is_some_and(Busy::writing) || m.snap.is_none() {
        return None;
    }
    match m.screen {
        Screen::Welcome => {
            match m.resume_at() {
                Some(at) => match RESUME_CHOICES.get(m.cursor).copied() {
                    Some(ResumeChoice::Resume) | None => m.go(Screen::Step(at)),
                    Some(ResumeChoice::Rollback) => {
                        m.rollback_result = None;
                        m.go(Screen::Rollback)
                    }
                    Some(ResumeChoice::StartOver) => {
                        let changed = m.changed_files(None);
                        m.popup = Some(Popup::Confirm(Confirm::StartOver { changed }));
                    }
                },
                None => {
                    let to = m.next_todo(0).map(Screen::Step).unwrap_or(Screen::Summary);
                    m.go(to);
                }
            }
            None
        }
        Screen::Step(i) => {
            match m.status(i) {
                Some(Status::Pending) => match m.apply_blocker(i) {
                    None => m.popup = Some(Popup::Confirm(Confirm::Apply { step: i })),
                    Some(why) => {
                        if let Some(j) = m.next_todo(0).filter(|&j| j < i) {
                            m.go(Screen::Step(j));
                        }
                        m.flash = Some(why);
                    }
                },
                Some(Status::Done | Status::Skipped) => {
                    let to = m
                        .next_todo(i + 1)
                        .map(Screen::Step)
                        .unwrap_or(Screen::Summary);
                    m.go(to);
                }
                Some(Status::Blocked | Status::Error) => {
                    m.flash = m.apply_blocker(i);
                }
                None => {}
            }
            None
        }
        Screen::Rollback => {
            let s = m.snap.as_ref()?;
            if s.journal.applied.is_empty() {
                return None;
            }
            let step = if m.cursor == 0 {
                None
            } else {
                s.journal.applied.get(m.cursor - 1).map(|a| a.id.clone())
            };
            let changed = m.changed_files(step.as_deref());
            m.popup = Some(Popup::Confirm(Confirm::Rollback { step, changed }));
            None
        }
        Screen::Summary => {
            m.go(Screen::Watch);
            if m.watch.running.is_none() {
                toggle_watch(m)
            } else {
                None
            }
        }
        Screen::Probe | Screen::Watch => None,
    }
}

fn confirmed(m: &mut Model, c: Confirm, force: bool) -> Option<Cmd> {
    if let Err(e) = &m.info.may_write {
        m.flash = Some(e.clone());
        return None;
    }
    match c {
        Confirm::Apply { step } => {
            let id = m.info.steps[step].0.clone();
            m.results.remove(&id);
            m.busy(BusyKind::Applying(id.clone()), format!("applying {id}"));
            Some(Cmd::Apply {
                step: id,
                opts: m.opts.clone(),
            })
        }
        Confirm::Rollback { step, .. } => {
            m.rollback_result = None;
            m.busy(
                BusyKind::RollingBack,
                match &step {
                    Some(id) => format!("rolling back {id}"),
                    None => "rolling back every step".into(),
                },
            );
            Some(Cmd::Rollback { step, force })
        }
        Confirm::StartOver { .. } => {
            m.rollback_result = None;
            m.after_check = Some(AfterCheck::FirstTodo);
            m.busy(BusyKind::RollingBack, "rolling back every step");
            Some(Cmd::Rollback { step: None, force })
        }
    }
}
