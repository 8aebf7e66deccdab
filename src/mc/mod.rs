//! Interface stub: the m4-aware editor is being written on the `mc` branch and replaces this
//! file. Every function refuses, so nothing can be edited by the stub.
use serde::Serialize;

pub const RISKY_FEATURES: &[&str] = &[
    "accept_unresolvable_domains",
    "relay_based_on_MX",
    "promiscuous_relay",
    "relay_entire_domain",
    "relay_hosts_only",
    "loose_relay_check",
    "relay_local_from",
    "relay_mail_from",
];

#[derive(Debug, Clone)]
pub struct McOptions {
    pub mechanisms: Vec<String>,
    pub auth_options: String,
}
#[derive(Debug, Clone, Serialize)]
pub struct Edit {
    pub line: usize,
    pub before: Option<String>,
    pub after: Option<String>,
    pub why: String,
}
#[derive(Debug, Clone, Serialize)]
pub struct McEdit {
    pub text: String,
    pub edits: Vec<Edit>,
    pub warnings: Vec<String>,
}
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McError {
    pub line: usize,
    pub text: String,
    pub reason: String,
}
impl std::fmt::Display for McError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {} ({})", self.line, self.reason, self.text)
    }
}
impl std::error::Error for McError {}
#[derive(Debug, Clone, Serialize)]
pub struct Listener {
    pub line: usize,
    pub active: bool,
    pub text: String,
    pub name: Option<String>,
    pub port: Option<String>,
    pub addr: Option<String>,
    pub family: Option<String>,
    pub modifiers: Option<String>,
}
#[derive(Debug, Clone, Serialize)]
pub struct RiskyFeature {
    pub line: usize,
    pub feature: String,
    pub text: String,
}
#[derive(Debug, Clone, Serialize)]
pub enum AuthLine {
    Absent,
    Commented { line: usize, value: String },
    Active { line: usize, value: String },
}
#[derive(Debug, Clone, Serialize)]
pub struct McReport {
    pub auth_options: AuthLine,
    pub trust_auth_mech: AuthLine,
    pub auth_mechanisms: AuthLine,
    pub listeners: Vec<Listener>,
    pub risky_features: Vec<RiskyFeature>,
    pub includes: Vec<(usize, String)>,
    pub crlf: bool,
    pub bom: bool,
    pub problems: Vec<McError>,
}
pub fn analyse(_text: &str) -> McReport {
    McReport {
        auth_options: AuthLine::Absent,
        trust_auth_mech: AuthLine::Absent,
        auth_mechanisms: AuthLine::Absent,
        listeners: vec![],
        risky_features: vec![],
        includes: vec![],
        crlf: false,
        bom: false,
        problems: vec![],
    }
}
fn stub() -> McError {
    McError {
        line: 0,
        text: String::new(),
        reason: "the mc editor is not built yet".into(),
    }
}
pub fn enable_auth(_text: &str, _opts: &McOptions) -> Result<McEdit, McError> {
    Err(stub())
}
pub fn disable_features(_text: &str, _features: &[String]) -> Result<McEdit, McError> {
    Err(stub())
}
pub fn rewrite_includes(text: &str, _root: &str) -> String {
    text.to_string()
}
