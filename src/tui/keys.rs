//! The one key table. `update` finds the action for a key here and the footer and the help
//! popup are generated from it, so the footer never shows a key that does nothing and never
//! hides one that works (gitui's pattern). The keys are part of the interface: keep them stable.

use super::model::{Focus, Model, Popup, Screen};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Enter: continue, or apply the current step (asks first).
    Continue,
    Yes,
    No,
    /// Roll back over files changed since the wizard wrote them (only offered when some are).
    Force,
    Up,
    Down,
    /// Tab: between the step list and the current screen's choices.
    SwitchFocus,
    /// Space: select or clear the choice under the cursor.
    Toggle,
    PageUp,
    PageDown,
    RollbackScreen,
    Help,
    Quit,
    /// `e` on the Probe screen: type another target.
    Edit,
    /// While typing: keep the target (Enter), drop it (Esc), delete a character.
    EditDone,
    EditCancel,
    EditBackspace,
}

/// When a binding is live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No popup, the step list has the focus.
    Main,
    /// No popup, the screen's choices have the focus.
    Choices,
    Confirm,
    Help,
    QuitAsk,
    /// Typing the probe's target: letters are letters.
    Edit,
}

pub fn mode(m: &Model) -> Mode {
    if m.editing() {
        return Mode::Edit;
    }
    match &m.popup {
        Some(Popup::Help) => Mode::Help,
        Some(Popup::QuitWhileBusy) => Mode::QuitAsk,
        Some(Popup::Confirm(_)) => Mode::Confirm,
        None if m.focus == Focus::Choices => Mode::Choices,
        None => Mode::Main,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Code(KeyCode),
    Char(char),
    Ctrl(char),
}

impl Key {
    fn matches(&self, k: &KeyEvent) -> bool {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match *self {
            Key::Ctrl(c) => ctrl && k.code == KeyCode::Char(c),
            Key::Char(c) => !ctrl && k.code == KeyCode::Char(c),
            Key::Code(code) => !ctrl && k.code == code,
        }
    }
}

pub struct Binding {
    pub keys: &'static [Key],
    /// How the footer and the help name the keys.
    pub shown: &'static str,
    pub action: Action,
    pub modes: &'static [Mode],
    /// What it does, for the help popup.
    pub help: &'static str,
    /// Shown in the footer (some keys are only listed in the help).
    pub footer: bool,
}

use Mode::*;
const MAIN: &[Mode] = &[Main, Choices];
const ALL: &[Mode] = &[Main, Choices, Confirm, Help, QuitAsk, Edit];

pub static TABLE: &[Binding] = &[
    Binding {
        keys: &[Key::Code(KeyCode::Enter)],
        shown: "Enter",
        action: Action::Continue,
        modes: MAIN,
        help: "continue; on a step with changes, apply it (asks first)",
        footer: true,
    },
    Binding {
        keys: &[Key::Char('y'), Key::Char('Y')],
        shown: "y",
        action: Action::Yes,
        modes: &[Confirm, QuitAsk],
        help: "yes: do what the question says",
        footer: true,
    },
    Binding {
        keys: &[Key::Char('n'), Key::Char('N'), Key::Code(KeyCode::Esc)],
        shown: "n/Esc",
        action: Action::No,
        modes: &[Confirm, QuitAsk],
        help: "no: close the question, nothing is changed",
        footer: true,
    },
    Binding {
        keys: &[Key::Char('f')],
        shown: "f",
        action: Action::Force,
        modes: &[Confirm],
        help: "roll back even over files changed since the wizard wrote them",
        footer: true,
    },
    Binding {
        keys: &[Key::Code(KeyCode::Up), Key::Char('k')],
        shown: "↑k",
        action: Action::Up,
        modes: MAIN,
        help: "move up (steps, or choices when they have the focus)",
        footer: true,
    },
    Binding {
        keys: &[Key::Code(KeyCode::Down), Key::Char('j')],
        shown: "↓j",
        action: Action::Down,
        modes: MAIN,
        help: "move down",
        footer: true,
    },
    Binding {
        keys: &[Key::Code(KeyCode::Tab), Key::Code(KeyCode::BackTab)],
        shown: "Tab",
        action: Action::SwitchFocus,
        modes: MAIN,
        help: "move between the step list and this screen's choices",
        footer: true,
    },
    Binding {
        keys: &[Key::Char(' ')],
        shown: "Space",
        action: Action::Toggle,
        modes: &[Choices],
        help: "select or clear the choice under the cursor",
        footer: true,
    },
    Binding {
        keys: &[Key::Code(KeyCode::PageUp)],
        shown: "PgUp",
        action: Action::PageUp,
        modes: &[Main, Choices, Help],
        help: "scroll the screen (findings and diff) up",
        footer: true,
    },
    Binding {
        keys: &[Key::Code(KeyCode::PageDown)],
        shown: "PgDn",
        action: Action::PageDown,
        modes: &[Main, Choices, Help],
        help: "scroll the screen (findings and diff) down",
        footer: true,
    },
    Binding {
        keys: &[Key::Char('r')],
        shown: "r",
        action: Action::RollbackScreen,
        modes: MAIN,
        help: "the rollback screen: every applied change, newest first",
        footer: true,
    },
    Binding {
        keys: &[Key::Code(KeyCode::Enter)],
        shown: "Enter",
        action: Action::EditDone,
        modes: &[Edit],
        help: "while typing a target: keep it",
        footer: true,
    },
    Binding {
        keys: &[Key::Code(KeyCode::Esc)],
        shown: "Esc",
        action: Action::EditCancel,
        modes: &[Edit],
        help: "while typing a target: drop it, keep the one before",
        footer: true,
    },
    Binding {
        keys: &[Key::Code(KeyCode::Backspace)],
        shown: "Bksp",
        action: Action::EditBackspace,
        modes: &[Edit],
        help: "while typing a target: delete the last character",
        footer: true,
    },
    Binding {
        keys: &[Key::Char('e')],
        shown: "e",
        action: Action::Edit,
        modes: MAIN,
        help: "on the Probe screen: type another server to test (HOST[:PORT])",
        footer: true,
    },
    Binding {
        keys: &[Key::Char('?')],
        shown: "?",
        action: Action::Help,
        modes: &[Main, Choices, Help],
        help: "this help (press again or Esc to close)",
        footer: true,
    },
    Binding {
        keys: &[Key::Code(KeyCode::Esc)],
        shown: "Esc",
        action: Action::Help,
        modes: &[Help],
        help: "close the help",
        footer: false,
    },
    Binding {
        keys: &[
            Key::Char('q'),
            Key::Code(KeyCode::Esc),
            Key::Ctrl('c'),
        ],
        shown: "q",
        action: Action::Quit,
        modes: ALL,
        help: "quit (Esc and Ctrl-C too); asks if a step is being applied, never stops in the middle of a write",
        footer: true,
    },
];

/// The bindings live in the model's current state, in table order.
pub fn live(m: &Model) -> Vec<&'static Binding> {
    let md = mode(m);
    TABLE
        .iter()
        .filter(|b| b.modes.contains(&md))
        .filter(|b| match b.action {
            Action::Force => m.confirm_can_force(),
            Action::SwitchFocus => m.has_choices(),
            Action::Continue => m.continue_label().is_some(),
            Action::Edit => m.screen == Screen::Probe && m.probe.running.is_none(),
            // Scrolling is offered only where there is something to scroll to.
            Action::PageUp | Action::PageDown => m.scroll > 0 || super::view::max_scroll(m) > 0,
            _ => true,
        })
        .collect()
}

/// The action a key triggers now, if any. Esc is a "no" in a question and closes the help
/// before it means quit: the first live binding in table order wins.
pub fn action_for(m: &Model, k: &KeyEvent) -> Option<Action> {
    // While a target is typed, letters are text (`update` inserts them), not commands.
    let typing = mode(m) == Mode::Edit;
    live(m)
        .into_iter()
        .find(|b| {
            b.keys
                .iter()
                .any(|key| !(typing && matches!(key, Key::Char(_))) && key.matches(k))
        })
        .map(|b| b.action)
}

/// How much the footer needs an entry (0 most); a narrow footer drops the highest first.
fn priority(a: Action) -> u8 {
    match a {
        Action::Quit | Action::Continue | Action::Yes | Action::No | Action::Force => 0,
        Action::Help => 1,
        Action::Toggle => 2,
        Action::Up | Action::Down => 3,
        Action::RollbackScreen => 4,
        Action::SwitchFocus => 5,
        Action::PageUp | Action::PageDown => 6,
        Action::EditDone | Action::EditCancel => 0,
        Action::Edit => 1,
        Action::EditBackspace => 2,
    }
}

/// The footer: the live keys with what they do here, and how much each is needed.
pub fn footer(m: &Model) -> Vec<(&'static str, String, u8)> {
    live(m)
        .into_iter()
        .filter(|b| b.footer)
        .map(|b| {
            let what = match b.action {
                Action::Continue => m.continue_label().unwrap_or("continue").to_string(),
                Action::Yes => match &m.popup {
                    Some(Popup::QuitWhileBusy) => "quit after this step".into(),
                    _ => "yes".into(),
                },
                Action::No => "no".into(),
                Action::Force => "force".into(),
                Action::Up | Action::Down => "move".into(),
                Action::SwitchFocus => match m.focus {
                    Focus::Choices => "steps".into(),
                    Focus::Steps => "choices".into(),
                },
                Action::Toggle => "select".into(),
                Action::PageUp | Action::PageDown => "scroll".into(),
                Action::RollbackScreen => {
                    if m.screen == Screen::Rollback {
                        "back".into()
                    } else {
                        "rollback".into()
                    }
                }
                Action::Help => "help".into(),
                Action::Quit => "quit".into(),
                Action::Edit => "change target".into(),
                Action::EditDone => "keep".into(),
                Action::EditCancel => "cancel".into(),
                Action::EditBackspace => "delete".into(),
            };
            let shown = if b.action == Action::Quit && mode(m) == Mode::Edit {
                "Ctrl-C"
            } else {
                b.shown
            };
            (shown, what, priority(b.action))
        })
        .collect()
}
